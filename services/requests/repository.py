"""SQL of requests and their form (goals, needs, milestones). Functions take a connection."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from services.requests.models import (
    CollabRequest,
    Goal,
    GoalDirection,
    GoalDraft,
    HistoryEntry,
    Milestone,
    MilestoneDraft,
    NewRequest,
    Phase,
    RequestKind,
    RequestStatus,
    ResourceKind,
    ResourceNeed,
    ResourceNeedDraft,
)
from shared.auth import Principal
from shared.child_lists import ChildList, SortKey
from shared.db import Connection, StatementParams, plan_with_values
from shared.graphql.compiled.sql import Entity, Source
from shared.ids import new_id

# --- requests -------------------------------------------------------------------------------

_REQUEST_COLUMNS = """id, code, kind, title, background, status, phase, lead_department_id,
    approver_id, created_by, created_at, updated_at, starts_on, ends_on,
    acceptance_tolerance_percent, version"""


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
                                     lead_department_id, approver_id, created_by, starts_on,
                                     ends_on)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
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
        command.starts_on,
        command.ends_on,
    )
    await _insert_form_children(conn, request_id, command)
    return _request(row)


async def replace_form(conn: Connection, request_id: str, command: NewRequest) -> CollabRequest:
    """Overwrite the editable form (only in DRAFT or CHANGES_REQUESTED, so no results yet)."""
    row = await conn.fetchrow(
        f"""
        UPDATE collab_requests SET title = $2, background = $3, approver_id = $4,
               starts_on = $5, ends_on = $6, updated_at = now(), version = version + 1
         WHERE id = $1
        RETURNING {_REQUEST_COLUMNS}
        """,
        request_id,
        command.title,
        command.background,
        command.approver_id,
        command.starts_on,
        command.ends_on,
    )
    for table in ("request_participants", "goals", "resource_needs", "milestones"):
        await conn.execute(f"DELETE FROM {table} WHERE request_id = $1", request_id)
    await _insert_form_children(conn, request_id, command)
    return _request(row)


async def _insert_form_children(conn: Connection, request_id: str, command: NewRequest) -> None:
    await conn.executemany(
        "INSERT INTO request_participants (request_id, department_id) VALUES ($1, $2)",
        [(request_id, d) for d in command.participant_department_ids],
    )
    await conn.executemany(
        """
        INSERT INTO goals (id, request_id, position, metric, target, unit, due_date, regions,
                           direction)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
        """,
        [
            (
                new_id(),
                request_id,
                i,
                g.metric,
                g.target,
                g.unit,
                g.due_date,
                list(g.regions),
                g.direction.value,
            )
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
    await conn.executemany(
        "INSERT INTO milestones (id, request_id, position, title, due_date)"
        " VALUES ($1, $2, $3, $4, $5)",
        [(new_id(), request_id, i, m.title, m.due_date) for i, m in enumerate(command.milestones)],
    )


async def lock_request(conn: Connection, request_id: str) -> CollabRequest | None:
    """The request, row-locked until the transaction ends (moves on it are serialised)."""
    row = await conn.fetchrow(
        f"SELECT {_REQUEST_COLUMNS} FROM collab_requests WHERE id = $1 FOR UPDATE", request_id
    )
    return _request(row) if row else None


async def set_status(
    conn: Connection, request_id: str, status: RequestStatus, phase: Phase
) -> CollabRequest:
    row = await conn.fetchrow(
        f"""
        UPDATE collab_requests SET status = $2, phase = $3, updated_at = now(),
               version = version + 1
         WHERE id = $1
        RETURNING {_REQUEST_COLUMNS}
        """,
        request_id,
        status.value,
        phase.value,
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

_REQUEST_FILTER = f"""{_VISIBLE}
           AND ($3::text IS NULL OR r.kind = $3)
           AND ($4::text IS NULL OR r.status = $4)"""
"""The filter of ``requests``: visibility ($1, $2), kind ($3), status ($4)."""


def requests_source(principal: Principal, arguments: Mapping[str, Any]) -> Source:
    """The rows of ``requests`` for the compiled read path: :func:`list_requests`'s filter."""
    chosen = arguments.get("filter") or {}
    kind, status = chosen.get("kind"), chosen.get("status")
    return Source(
        "collab_requests",
        "r",
        _REQUEST_FILTER,
        [
            principal.sees_everything,
            list(principal.departments),
            kind.value if kind else None,
            status.value if status else None,
        ],
    )


_VISIBLE_ONE = f"""({_VISIBLE} OR r.approver_id = $3)"""
"""Who may read one request: its departments' members, PMO, and its named approver, who
must read it to decide it."""


def request_entity(principal: Principal) -> Entity:
    """A request by its id for the compiled read path, if the caller may see it."""
    return Entity(
        "collab_requests",
        "r",
        f"r.id = {{key}} AND {_VISIBLE_ONE}",
        [principal.sees_everything, list(principal.departments), principal.sub],
    )


def request_source(principal: Principal, arguments: Mapping[str, Any]) -> Source:
    """The row of ``request(id)``: :func:`request_entity` with the id as ``$4``."""
    return request_entity(principal).by_key("$4", [arguments["id"]])


# --- the requests list ----------------------------------------------------------------------
# The Python path of `requests` (the compiled one reads requests_source). As for the issues
# list (services/issues/repository.py): only the filters given are in the SQL, as equalities,
# so a (column, id) index walked newest first yields a page and stops
# (migrations/0010_list_indexes.sql); the page's ids come from id-only queries, which those
# indexes answer alone instead of the primary key walk reading rows until a page matches (most
# of the table when the matches are old, e.g. CLOSED, or absent); each way a department sees a
# request is a branch with an index of its own; statements are planned for their values.


def _request_conditions(
    params: StatementParams, kind: RequestKind | None, status: RequestStatus | None
) -> list[str]:
    """The filters that are set, as plain conditions; those not set are left out."""
    conditions = []
    if kind is not None:
        conditions.append(f"r.kind = {params.add(kind.value)}")
    if status is not None:
        conditions.append(f"r.status = {params.add(status.value)}")
    return conditions


def _ways_of_seeing(params: StatementParams, departments: Sequence[str]) -> list[str]:
    """_VISIBLE for a caller who does not see everything, as alternatives that each keep id
    order in an index: each department leading the request, or taking part in it."""
    ways = []
    for department in dict.fromkeys(departments):
        mine = params.add(department)
        ways.append(f"r.lead_department_id = {mine}")
        ways.append(
            "EXISTS (SELECT 1 FROM request_participants p"
            f" WHERE p.request_id = r.id AND p.department_id = {mine})"
        )
    return ways


def _newest_ids(conditions: Sequence[str], limit: str) -> str:
    where = " AND ".join(conditions) or "TRUE"
    return f"SELECT r.id FROM collab_requests r WHERE {where} ORDER BY r.id DESC LIMIT {limit}"


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
    params = StatementParams()
    conditions = _request_conditions(params, kind, status)
    if after_id is not None:
        conditions.append(f"r.id < {params.add(after_id)}")
    page = params.add(limit)
    if sees_all:
        ids = _newest_ids(conditions, page)
    else:
        ways = _ways_of_seeing(params, departments)
        if not ways:
            return []
        union = " UNION ".join(f"({_newest_ids([w, *conditions], page)})" for w in ways)
        ids = f"SELECT id FROM ({union}) seen ORDER BY id DESC LIMIT {page}"
    async with plan_with_values(conn):
        rows = await conn.fetch(
            f"SELECT {_REQUEST_COLUMNS} FROM collab_requests WHERE id IN ({ids}) ORDER BY id DESC",
            *params.values,
        )
    return [_request(r) for r in rows]


async def count_requests(
    conn: Connection,
    *,
    sees_all: bool,
    departments: Sequence[str],
    kind: RequestKind | None,
    status: RequestStatus | None,
) -> int:
    """How many requests :func:`list_requests` pages through with the same filter."""
    params = StatementParams()
    conditions = []
    if not sees_all:  # _VISIBLE reads $1 (sees all) and $2 (departments)
        params.add(False)
        params.add(list(departments))
        conditions.append(_VISIBLE)
    conditions += _request_conditions(params, kind, status)
    where = " AND ".join(conditions) or "TRUE"
    async with plan_with_values(conn):
        count: int = await conn.fetchval(
            f"SELECT count(*) FROM collab_requests r WHERE {where}", *params.values
        )
    return count


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
        "SELECT id, request_id, metric, target, unit, due_date, regions, direction, actual, met,"
        " recorded_at FROM goals WHERE request_id = ANY($1) ORDER BY request_id, position",
        list(ids),
    )
    result: dict[str, list[Goal]] = {}
    for row in rows:
        goal = Goal(
            **{
                **dict(row),
                "regions": tuple(row["regions"]),
                "direction": GoalDirection(row["direction"]),
            }
        )
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


async def milestones_by_request_ids(
    conn: Connection, ids: Sequence[str]
) -> dict[str, list[Milestone]]:
    rows = await conn.fetch(
        "SELECT id, request_id, title, due_date FROM milestones"
        " WHERE request_id = ANY($1) ORDER BY request_id, position",
        list(ids),
    )
    result: dict[str, list[Milestone]] = {}
    for row in rows:
        result.setdefault(row["request_id"], []).append(Milestone(**dict(row)))
    return result


async def insert_history(
    conn: Connection,
    request_id: str,
    action: str,
    from_status: RequestStatus | None,
    to_status: RequestStatus,
    actor_id: str,
    comment: str,
) -> None:
    await conn.execute(
        "INSERT INTO request_history (request_id, action, from_status, to_status, actor_id,"
        " comment) VALUES ($1, $2, $3, $4, $5, $6)",
        request_id,
        action,
        from_status.value if from_status else None,
        to_status.value,
        actor_id,
        comment,
    )


def _history_entry(row: Any) -> HistoryEntry:
    return HistoryEntry(
        **{
            **dict(row),
            "from_status": RequestStatus(row["from_status"]) if row["from_status"] else None,
            "to_status": RequestStatus(row["to_status"]),
        }
    )


_HISTORY_COLUMNS = "id, request_id, action, from_status, to_status, actor_id, comment, at"

HISTORY = ChildList(
    source="request_history",
    parent="request_id",
    columns=_HISTORY_COLUMNS,
    order=(SortKey("id", sql_type="bigint"),),
    to_model=_history_entry,
)
"""``CollabRequest.history``: every move and edit, oldest first."""

DECISION_ACTIONS = ("APPROVED", "REJECTED", "CHANGES_REQUESTED")

DECISIONS = ChildList(
    source="request_history",
    parent="request_id",
    columns=_HISTORY_COLUMNS,
    order=(SortKey("id", sql_type="bigint"),),
    to_model=_history_entry,
    where="action IN (" + ", ".join(f"'{a}'" for a in DECISION_ACTIONS) + ")",
)
"""``CollabRequest.decisions``: the approver's decisions, oldest first."""


async def current_form(conn: Connection, request: CollabRequest) -> NewRequest:
    """The request's form as a command, the starting point of an edit."""
    ids = [request.id]
    participants = (await participants_by_request_ids(conn, ids)).get(request.id, [])
    goals = (await goals_by_request_ids(conn, ids)).get(request.id, [])
    needs = (await resource_needs_by_request_ids(conn, ids)).get(request.id, [])
    milestones = (await milestones_by_request_ids(conn, ids)).get(request.id, [])
    return NewRequest(
        kind=request.kind,
        title=request.title,
        lead_department_id=request.lead_department_id,
        participant_department_ids=tuple(participants),
        goals=tuple(
            GoalDraft(g.metric, g.target, g.unit, g.due_date, g.regions, g.direction) for g in goals
        ),
        resource_needs=tuple(
            ResourceNeedDraft(n.kind, n.description, n.quantity, n.unit, n.provider_department_id)
            for n in needs
        ),
        background=request.background,
        approver_id=request.approver_id,
        starts_on=request.starts_on,
        ends_on=request.ends_on,
        milestones=tuple(MilestoneDraft(m.title, m.due_date) for m in milestones),
    )
