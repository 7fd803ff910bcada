"""SQL of the tasks service, in one place. Functions take a connection and return models."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.tasks.models import NewTask, RaciAssignment, RaciRole, Task, TaskStatus
from shared.db import Connection
from shared.ids import new_id

_TASK_COLUMNS = """id, request_id, title, description, status, due_at, created_by,
    created_at, updated_at"""


def _task(row: Any) -> Task:
    return Task(**{**dict(row), "status": TaskStatus(row["status"])})


async def insert_task(conn: Connection, command: NewTask, *, created_by: str) -> Task:
    """Store a TODO task and its RACI assignments, in the order given."""
    task_id = new_id()
    row = await conn.fetchrow(
        f"""
        INSERT INTO tasks (id, request_id, title, description, status, due_at, created_by)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        RETURNING {_TASK_COLUMNS}
        """,
        task_id,
        command.request_id,
        command.title,
        command.description,
        TaskStatus.TODO.value,
        command.due_at,
        created_by,
    )
    await conn.executemany(
        """
        INSERT INTO raci_assignments (task_id, position, role, person_id, department_id)
        VALUES ($1, $2, $3, $4, $5)
        """,
        [
            (task_id, i, a.role.value, a.person_id, a.department_id)
            for i, a in enumerate(command.raci)
        ],
    )
    return _task(row)


async def tasks_by_ids(conn: Connection, ids: Sequence[str]) -> dict[str, Task]:
    rows = await conn.fetch(f"SELECT {_TASK_COLUMNS} FROM tasks WHERE id = ANY($1)", list(ids))
    return {r["id"]: _task(r) for r in rows}


async def tasks_by_request_ids(conn: Connection, ids: Sequence[str]) -> dict[str, list[Task]]:
    """Each request's tasks in creation order (ids are UUIDv7)."""
    rows = await conn.fetch(
        f"SELECT {_TASK_COLUMNS} FROM tasks WHERE request_id = ANY($1) ORDER BY request_id, id",
        list(ids),
    )
    result: dict[str, list[Task]] = {}
    for row in rows:
        result.setdefault(row["request_id"], []).append(_task(row))
    return result


async def raci_by_task_ids(conn: Connection, ids: Sequence[str]) -> dict[str, list[RaciAssignment]]:
    rows = await conn.fetch(
        "SELECT task_id, role, person_id, department_id FROM raci_assignments"
        " WHERE task_id = ANY($1) ORDER BY task_id, position",
        list(ids),
    )
    result: dict[str, list[RaciAssignment]] = {}
    for row in rows:
        assignment = RaciAssignment(RaciRole(row["role"]), row["person_id"], row["department_id"])
        result.setdefault(row["task_id"], []).append(assignment)
    return result
