"""SQL of the requests service, in one place. Functions take a connection and return models."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.requests.models import (
    CollabRequest,
    Department,
    Goal,
    NewRequest,
    Person,
    Phase,
    Region,
    RequestKind,
    RequestStatus,
    ResourceKind,
    ResourceNeed,
)
from shared.db import Connection
from shared.ids import new_id

# --- directory ------------------------------------------------------------------------------


async def upsert_region(conn: Connection, region: Region) -> None:
    await conn.execute(
        """
        INSERT INTO regions (id, code, name, time_zone, calendar) VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (id) DO UPDATE SET code = EXCLUDED.code, name = EXCLUDED.name,
            time_zone = EXCLUDED.time_zone, calendar = EXCLUDED.calendar
        """,
        region.id,
        region.code,
        region.name,
        region.time_zone,
        region.calendar.model_dump(mode="json"),
    )


async def upsert_department(conn: Connection, department: Department) -> None:
    await conn.execute(
        """
        INSERT INTO departments (id, code, name, region_id, parent_id, head_id)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (id) DO UPDATE SET code = EXCLUDED.code, name = EXCLUDED.name,
            region_id = EXCLUDED.region_id, parent_id = EXCLUDED.parent_id,
            head_id = EXCLUDED.head_id
        """,
        department.id,
        department.code,
        department.name,
        department.region_id,
        department.parent_id,
        department.head_id,
    )


async def upsert_person(conn: Connection, person: Person) -> None:
    await conn.execute(
        """
        INSERT INTO people (id, name, email, department_id, region_id, time_zone, roles)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, email = EXCLUDED.email,
            department_id = EXCLUDED.department_id, region_id = EXCLUDED.region_id,
            time_zone = EXCLUDED.time_zone, roles = EXCLUDED.roles
        """,
        person.id,
        person.name,
        person.email,
        person.department_id,
        person.region_id,
        person.time_zone,
        list(person.roles),
    )


def _department(row: Any) -> Department:
    return Department(**dict(row))


def _person(row: Any) -> Person:
    return Person(**{**dict(row), "roles": tuple(row["roles"])})


async def list_regions(conn: Connection) -> list[Region]:
    rows = await conn.fetch("SELECT * FROM regions ORDER BY code")
    return [Region.from_row(r) for r in rows]


async def regions_by_ids(conn: Connection, ids: Sequence[str]) -> dict[str, Region]:
    rows = await conn.fetch("SELECT * FROM regions WHERE id = ANY($1)", list(ids))
    return {r["id"]: Region.from_row(r) for r in rows}


async def list_departments(conn: Connection) -> list[Department]:
    rows = await conn.fetch("SELECT * FROM departments ORDER BY code")
    return [_department(r) for r in rows]


async def departments_by_ids(conn: Connection, ids: Sequence[str]) -> dict[str, Department]:
    rows = await conn.fetch("SELECT * FROM departments WHERE id = ANY($1)", list(ids))
    return {r["id"]: _department(r) for r in rows}


async def list_people(conn: Connection, department_id: str | None) -> list[Person]:
    rows = await conn.fetch(
        "SELECT * FROM people WHERE $1::text IS NULL OR department_id = $1 ORDER BY name",
        department_id,
    )
    return [_person(r) for r in rows]


async def people_by_ids(conn: Connection, ids: Sequence[str]) -> dict[str, Person]:
    rows = await conn.fetch("SELECT * FROM people WHERE id = ANY($1)", list(ids))
    return {r["id"]: _person(r) for r in rows}


# --- requests -------------------------------------------------------------------------------

_REQUEST_COLUMNS = """id, code, kind, title, background, status, phase, lead_department_id,
    approver_id, created_by, created_at, updated_at"""


def _request(row: Any) -> CollabRequest:
    return CollabRequest(
        **{
            **dict(row),
            "kind": RequestKind(row["kind"]),
            "status": RequestStatus(row["status"]),
            "phase": Phase(row["phase"]),
        }
    )


async def next_request_code(conn: Connection, year: int) -> str:
    """``CR-<year>-<n>``; the counter row lock serialises concurrent creations."""
    number = await conn.fetchval(
        """
        INSERT INTO request_code_counters (year, last) VALUES ($1, 1)
        ON CONFLICT (year) DO UPDATE SET last = request_code_counters.last + 1
        RETURNING last
        """,
        year,
    )
    return f"CR-{year}-{number:04d}"


async def insert_request(
    conn: Connection, command: NewRequest, *, code: str, created_by: str
) -> CollabRequest:
    request_id = new_id()
    row = await conn.fetchrow(
        f"""
        INSERT INTO collab_requests (id, code, kind, title, background, status, phase,
                                     lead_department_id, approver_id, created_by)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
        RETURNING {_REQUEST_COLUMNS}
        """,
        request_id,
        code,
        command.kind.value,
        command.title,
        command.background,
        RequestStatus.DRAFT.value,
        Phase.PREPARATION.value,
        command.lead_department_id,
        command.approver_id,
        created_by,
    )
    await conn.executemany(
        "INSERT INTO request_participants (request_id, department_id) VALUES ($1, $2)",
        [(request_id, d) for d in command.participant_department_ids],
    )
    await conn.executemany(
        """
        INSERT INTO goals (id, request_id, position, metric, target, unit, due_date, regions)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        """,
        [
            (new_id(), request_id, i, g.metric, g.target, g.unit, g.due_date, list(g.regions))
            for i, g in enumerate(command.goals)
        ],
    )
    await conn.executemany(
        """
        INSERT INTO resource_needs (id, request_id, position, kind, description, quantity, unit,
                                    provider_department_id)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        """,
        [
            (
                new_id(),
                request_id,
                i,
                n.kind.value,
                n.description,
                n.quantity,
                n.unit,
                n.provider_department_id,
            )
            for i, n in enumerate(command.resource_needs)
        ],
    )
    return _request(row)


async def requests_by_ids(conn: Connection, ids: Sequence[str]) -> dict[str, CollabRequest]:
    rows = await conn.fetch(
        f"SELECT {_REQUEST_COLUMNS} FROM collab_requests WHERE id = ANY($1)", list(ids)
    )
    return {r["id"]: _request(r) for r in rows}


_VISIBLE = """($1 OR r.lead_department_id = ANY($2) OR EXISTS (
    SELECT 1 FROM request_participants p
     WHERE p.request_id = r.id AND p.department_id = ANY($2)))"""


async def list_requests(
    conn: Connection,
    *,
    sees_all: bool,
    departments: Sequence[str],
    kind: RequestKind | None,
    status: RequestStatus | None,
    after_id: str | None,
    limit: int,
) -> list[CollabRequest]:
    """Visible requests, newest first (ids are UUIDv7, so they sort by creation time)."""
    rows = await conn.fetch(
        f"""
        SELECT {_REQUEST_COLUMNS} FROM collab_requests r
         WHERE {_VISIBLE}
           AND ($3::text IS NULL OR r.kind = $3)
           AND ($4::text IS NULL OR r.status = $4)
           AND ($5::text IS NULL OR r.id < $5)
         ORDER BY r.id DESC
         LIMIT $6
        """,
        sees_all,
        list(departments),
        kind.value if kind else None,
        status.value if status else None,
        after_id,
        limit,
    )
    return [_request(r) for r in rows]


async def is_visible(
    conn: Connection, request_id: str, *, sees_all: bool, departments: Sequence[str]
) -> bool:
    found = await conn.fetchval(
        f"SELECT 1 FROM collab_requests r WHERE r.id = $3 AND {_VISIBLE}",
        sees_all,
        list(departments),
        request_id,
    )
    return found is not None


async def participants_by_request_ids(conn: Connection, ids: Sequence[str]) -> dict[str, list[str]]:
    rows = await conn.fetch(
        "SELECT request_id, department_id FROM request_participants"
        " WHERE request_id = ANY($1) ORDER BY department_id",
        list(ids),
    )
    result: dict[str, list[str]] = {}
    for row in rows:
        result.setdefault(row["request_id"], []).append(row["department_id"])
    return result


async def goals_by_request_ids(conn: Connection, ids: Sequence[str]) -> dict[str, list[Goal]]:
    rows = await conn.fetch(
        "SELECT id, request_id, metric, target, unit, due_date, regions FROM goals"
        " WHERE request_id = ANY($1) ORDER BY request_id, position",
        list(ids),
    )
    result: dict[str, list[Goal]] = {}
    for row in rows:
        goal = Goal(**{**dict(row), "regions": tuple(row["regions"])})
        result.setdefault(row["request_id"], []).append(goal)
    return result


async def resource_needs_by_request_ids(
    conn: Connection, ids: Sequence[str]
) -> dict[str, list[ResourceNeed]]:
    rows = await conn.fetch(
        "SELECT id, request_id, kind, description, quantity, unit, provider_department_id"
        " FROM resource_needs WHERE request_id = ANY($1) ORDER BY request_id, position",
        list(ids),
    )
    result: dict[str, list[ResourceNeed]] = {}
    for row in rows:
        need = ResourceNeed(**{**dict(row), "kind": ResourceKind(row["kind"])})
        result.setdefault(row["request_id"], []).append(need)
    return result
