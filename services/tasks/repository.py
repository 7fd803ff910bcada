"""SQL of tasks, their RACI and dependencies. Functions take a connection and return models.

Progress reports and recurring operations keep their SQL in their own subpackages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from services.tasks.models import (
    NewTask,
    RaciAssignment,
    RaciRole,
    Task,
    TaskSource,
    TaskStatus,
)
from shared.auth import Principal
from shared.child_lists import ChildList, SortKey
from shared.db import Connection
from shared.graphql.compiled.sql import Entity, Source
from shared.ids import new_id

TASK_COLUMNS = """id, request_id, title, description, status, due_at, created_by,
    created_at, updated_at, parent_id, phase, is_milestone, progress, planned_start,
    started_at, completed_at, source, source_ref, recurring_task_id, region_id,
    reminder_offsets"""


def task_from_row(row: Any) -> Task:
    offsets = row["reminder_offsets"]
    return Task(
        **{
            **dict(row),
            "status": TaskStatus(row["status"]),
            "source": TaskSource(row["source"]),
            "reminder_offsets": tuple(offsets) if offsets is not None else None,
        }
    )


TASKS_OF_REQUESTS = ChildList(
    source="tasks",
    parent="request_id",
    columns=TASK_COLUMNS,
    order=(SortKey("id"),),
    to_model=task_from_row,
)
"""``CollabRequest.tasks``: each request's tasks in creation order (ids are UUIDv7)."""

CHILDREN_OF_TASKS = ChildList(
    source="tasks",
    parent="parent_id",
    columns=TASK_COLUMNS,
    order=(SortKey("id"),),
    to_model=task_from_row,
)
"""``Task.children``: each task's subtasks in creation order."""


async def insert_task(conn: Connection, command: NewTask, *, created_by: str) -> Task | None:
    """Store a TODO task, its RACI assignments and dependencies.

    Returns None when a task with the same ``source_ref`` exists (a replayed source).
    """
    row = await conn.fetchrow(
        f"""
        INSERT INTO tasks (id, request_id, title, description, status, due_at, created_by,
            parent_id, phase, is_milestone, planned_start, source, source_ref,
            recurring_task_id, region_id, reminder_offsets)
        VALUES ($1, $2, $3, $4, 'TODO', $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
        ON CONFLICT (source, source_ref) WHERE source_ref IS NOT NULL DO NOTHING
        RETURNING {TASK_COLUMNS}
        """,
        new_id(),
        command.request_id,
        command.title,
        command.description,
        command.due_at,
        created_by,
        command.parent_id,
        command.phase,
        command.is_milestone,
        command.planned_start,
        command.source.value,
        command.source_ref,
        command.recurring_task_id,
        command.region_id,
        list(command.reminder_offsets) if command.reminder_offsets is not None else None,
    )
    if row is None:
        return None
    await replace_raci(conn, row["id"], command.raci)
    await replace_dependencies(conn, row["id"], command.depends_on)
    return task_from_row(row)


async def replace_raci(conn: Connection, task_id: str, raci: Sequence[RaciAssignment]) -> None:
    await conn.execute("DELETE FROM raci_assignments WHERE task_id = $1", task_id)
    await conn.executemany(
        """
        INSERT INTO raci_assignments (task_id, position, role, person_id, department_id)
        VALUES ($1, $2, $3, $4, $5)
        """,
        [(task_id, i, a.role.value, a.person_id, a.department_id) for i, a in enumerate(raci)],
    )


async def replace_dependencies(conn: Connection, task_id: str, depends_on: Sequence[str]) -> None:
    await conn.execute("DELETE FROM task_dependencies WHERE task_id = $1", task_id)
    await conn.executemany(
        "INSERT INTO task_dependencies (task_id, depends_on_id) VALUES ($1, $2)",
        [(task_id, other) for other in depends_on],
    )


_UPDATABLE = {
    "title",
    "description",
    "phase",
    "due_at",
    "planned_start",
    "parent_id",
    "is_milestone",
    "status",
    "progress",
    "reminder_offsets",
    "started_at",
    "completed_at",
}


async def update_task(conn: Connection, task_id: str, values: dict[str, Any]) -> Task:
    """Write the given columns (names from :class:`TaskChanges`) and bump ``updated_at``."""
    assert set(values) <= _UPDATABLE, set(values) - _UPDATABLE
    names = sorted(values)
    assignments = ", ".join(f"{name} = ${i + 2}" for i, name in enumerate(names))
    row = await conn.fetchrow(
        f"UPDATE tasks SET {assignments}, updated_at = now() WHERE id = $1"
        f" RETURNING {TASK_COLUMNS}",
        task_id,
        *(_db_value(values[name]) for name in names),
    )
    assert row is not None
    return task_from_row(row)


def _db_value(value: Any) -> Any:
    if isinstance(value, TaskStatus):
        return value.value
    if isinstance(value, tuple):
        return list(value)
    return value


async def lock_task(conn: Connection, task_id: str) -> Task | None:
    """The task, locked for the rest of the transaction (concurrent updates serialise)."""
    row = await conn.fetchrow(f"SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1 FOR UPDATE", task_id)
    return task_from_row(row) if row else None


def request_visible(request_id: str) -> str:
    """SQL: whether the caller ($1: sees everything, $2: their departments) may see the
    request whose id is the SQL ``request_id``, judged on the local copy (``may_see_request``
    in types.py): the one visibility predicate of the compiled and the Python path."""
    return f"""($1 OR EXISTS (
    SELECT 1 FROM request_replicas q WHERE q.id = {request_id}
       AND (q.lead_department_id = ANY($2) OR q.participant_department_ids && $2)))"""


def visibility_args(principal: Principal) -> tuple[bool, tuple[str, ...]]:
    """The values of :func:`request_visible`'s ``$1`` and ``$2`` (hashable, as a
    :class:`shared.child_lists.ChildPage`'s args are)."""
    return principal.sees_everything, tuple(principal.departments)


def task_entity(principal: Principal) -> Entity:
    """A task by its id for the compiled read path, if the caller may see its request."""
    where = "t.id = {key} AND " + request_visible("t.request_id")
    return Entity("tasks", "t", where, [principal.sees_everything, list(principal.departments)])


def stub_entity(principal: Principal) -> Entity:
    """An entity of another subgraph (a request, a person) for the compiled read path: any
    id, as its ``resolve_reference`` answers; each field judges visibility itself."""
    return Entity("(SELECT {key} AS id)", "r", "TRUE", [])


def task_source(principal: Principal, arguments: Mapping[str, Any]) -> Source:
    """The row of ``task(id)``: :func:`task_entity` with the id as ``$3``."""
    return task_entity(principal).by_key("$3", [arguments["id"]])


async def tasks_by_ids(conn: Connection, ids: Sequence[str]) -> dict[str, Task]:
    rows = await conn.fetch(f"SELECT {TASK_COLUMNS} FROM tasks WHERE id = ANY($1)", list(ids))
    return {r["id"]: task_from_row(r) for r in rows}


async def tasks_by_request_ids(conn: Connection, ids: Sequence[str]) -> dict[str, list[Task]]:
    """Each request's tasks in creation order (ids are UUIDv7)."""
    rows = await conn.fetch(
        f"SELECT {TASK_COLUMNS} FROM tasks WHERE request_id = ANY($1) ORDER BY request_id, id",
        list(ids),
    )
    result: dict[str, list[Task]] = {}
    for row in rows:
        result.setdefault(row["request_id"], []).append(task_from_row(row))
    return result


async def children_by_parent_ids(conn: Connection, ids: Sequence[str]) -> dict[str, list[Task]]:
    rows = await conn.fetch(
        f"SELECT {TASK_COLUMNS} FROM tasks WHERE parent_id = ANY($1) ORDER BY parent_id, id",
        list(ids),
    )
    result: dict[str, list[Task]] = {}
    for row in rows:
        result.setdefault(row["parent_id"], []).append(task_from_row(row))
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


async def dependencies_by_task_ids(conn: Connection, ids: Sequence[str]) -> dict[str, list[str]]:
    rows = await conn.fetch(
        "SELECT task_id, depends_on_id FROM task_dependencies WHERE task_id = ANY($1)"
        " ORDER BY task_id, depends_on_id",
        list(ids),
    )
    result: dict[str, list[str]] = {}
    for row in rows:
        result.setdefault(row["task_id"], []).append(row["depends_on_id"])
    return result


async def reaches(conn: Connection, start_ids: Sequence[str], target_id: str, edge: str) -> bool:
    """Whether ``target_id`` is reachable from ``start_ids`` along dependencies or parents.

    Used to refuse cycles: a task may not depend on (or sit under) something that already
    depends on (or sits under) it.
    """
    step = (
        "SELECT d.depends_on_id FROM task_dependencies d JOIN walk w ON d.task_id = w.id"
        if edge == "dependency"
        else "SELECT t.parent_id FROM tasks t JOIN walk w ON t.id = w.id"
        " WHERE t.parent_id IS NOT NULL"
    )
    found = await conn.fetchval(
        f"""
        WITH RECURSIVE walk(id) AS (SELECT unnest($1::text[]) UNION {step})
        SELECT EXISTS (SELECT 1 FROM walk WHERE id = $2)
        """,
        list(start_ids),
        target_id,
    )
    return bool(found)


# Who holds what: a person's own entries, and an entry naming only a department is its head's,
# as for alerts (:func:`services.tasks.parties.people_in_roles`). Two arms of a UNION (also
# the duplicates' DISTINCT), into each of which the planner pushes the person's id, so each
# is found by an index (raci_person; department_replicas' head, then raci_department); an
# OR across both sides of one join read every assignment.
_HELD = """(
    SELECT a.person_id AS assignee, a.role, a.task_id
      FROM raci_assignments a
     WHERE a.person_id IS NOT NULL
     UNION
    SELECT d.head_id, a.role, a.task_id
      FROM department_replicas d
      JOIN raci_assignments a ON a.department_id = d.id AND a.person_id IS NULL
     WHERE d.head_id IS NOT NULL)"""


def _assignment(row: Mapping[str, Any]) -> tuple[RaciRole, Task]:
    columns = dict(row)
    return RaciRole(columns.pop("role")), task_from_row(columns)


ASSIGNMENTS_OF_PEOPLE = ChildList(
    # LIMIT 1 keeps each task a lookup by its key: joined plainly, the planner walks the
    # whole tasks table newest first for a person with few, old assignments.
    source=f"""{_HELD} held CROSS JOIN LATERAL (
        SELECT {TASK_COLUMNS} FROM tasks WHERE tasks.id = held.task_id LIMIT 1) t""",
    parent="held.assignee",
    columns=f"held.role, {TASK_COLUMNS}",
    order=(
        SortKey("t.id", name="id", descending=True),
        SortKey("held.role", name="role", descending=True),
    ),
    to_model=_assignment,
    where=f"{request_visible('t.request_id')} AND ($3::text IS NULL OR held.role = $3::text)",
)
"""``Person.assignments``: (role, task) of each person, newest task first (ids are UUIDv7),
then by role; on requests the caller may see (args: :func:`visibility_args`, then the role
asked for or None)."""
