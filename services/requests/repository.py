"""SQL of requests and their form (goals, needs, milestones). Functions take a connection."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
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
    RequestSort,
    RequestStatus,
    ResourceKind,
    ResourceNeed,
    ResourceNeedDraft,
)
from shared.auth import Principal
from shared.child_lists import ChildList, SortKey, parse_key
from shared.db import Connection, StatementParams, plan_with_values
from shared.graphql.compiled.sql import Entity, NotServed, Source
from shared.ids import new_id
from shared.search_text import document, matching, query_terms

# --- requests -------------------------------------------------------------------------------

_REQUEST_COLUMNS = """id, code, kind, title, background, status, phase, lead_department_id,
    approver_id, created_by, created_at, updated_at, starts_on, ends_on,
    acceptance_tolerance_percent, version, next_milestone_on"""

ENDED = (RequestStatus.REJECTED, RequestStatus.CLOSED, RequestStatus.CANCELLED)
"""Statuses a request does not leave: no milestone of it is ahead any more."""


def _next_milestone(status: str) -> str:
    """SQL of ``next_milestone_on`` for request ``r`` in status ``status`` (SQL): the earliest
    milestone due today or later in the lead department's region, 'infinity' when there is
    none or the request has ended (see migrations/0012_list_filters.sql)."""
    ended = ", ".join(f"'{s.value}'" for s in ENDED)
    return f"""CASE WHEN {status} IN ({ended}) THEN 'infinity'::date
        ELSE coalesce((SELECT min(m.due_date) FROM milestones m
                        WHERE m.request_id = r.id AND m.due_date >= (
                              SELECT (now() AT TIME ZONE g.time_zone)::date
                                FROM departments d JOIN regions g ON g.id = d.region_id
                               WHERE d.id = r.lead_department_id)), 'infinity') END"""


def _search_document(
    code: str, title: str, background: str, metrics: Iterable[str | None]
) -> tuple[str, list[str]]:
    """What the ``text`` filter of ``requests`` searches: code, title, background and the
    goals' metrics."""
    return document(code, title, background, [m for m in metrics if m])


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
    await conn.execute(
        """
        INSERT INTO collab_requests (id, code, kind, title, background, status, phase,
                                     lead_department_id, approver_id, created_by, starts_on,
                                     ends_on)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
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
    return await _refresh_list_keys(conn, request_id, code, command)


async def replace_form(conn: Connection, request_id: str, command: NewRequest) -> CollabRequest:
    """Overwrite the editable form (only in DRAFT or CHANGES_REQUESTED, so no results yet)."""
    code = await conn.fetchval(
        """
        UPDATE collab_requests SET title = $2, background = $3, approver_id = $4,
               starts_on = $5, ends_on = $6, updated_at = now(), version = version + 1
         WHERE id = $1
        RETURNING code
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
    return await _refresh_list_keys(conn, request_id, code, command)


async def _refresh_list_keys(
    conn: Connection, request_id: str, code: str, form: NewRequest
) -> CollabRequest:
    """Write what the list filters and sorts by from the request's form, just written: its
    search text and its next milestone."""
    text, grams = _search_document(
        code, form.title, form.background, (g.metric for g in form.goals)
    )
    row = await conn.fetchrow(
        f"""
        UPDATE collab_requests r SET search_text = $2, search_grams = $3,
               next_milestone_on = {_next_milestone("r.status")}
         WHERE r.id = $1
        RETURNING {_REQUEST_COLUMNS}
        """,
        request_id,
        text,
        grams,
    )
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
        UPDATE collab_requests r SET status = $2, phase = $3, updated_at = now(),
               version = version + 1, next_milestone_on = {_next_milestone("$2")}
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


async def fill_search_columns(conn: Connection, *, batch: int = 1000) -> int:
    """Write the search columns of the requests stored without them (before migration 0012,
    for its Python step); how many it wrote. As :func:`shared.search_text.fill_missing`, with
    the goals' metrics, which are rows of another table."""
    filled, last = 0, ""
    while True:  # on from the last id: a walk from the start would pass the filled ones again
        rows = await conn.fetch(
            """
            SELECT r.id, r.code, r.title, r.background,
                   ARRAY(SELECT g.metric FROM goals g WHERE g.request_id = r.id
                          ORDER BY g.position) AS metrics
              FROM collab_requests r WHERE r.search_text IS NULL AND r.id > $2
             ORDER BY r.id LIMIT $1
            """,
            batch,
            last,
        )
        if not rows:
            return filled
        last = rows[-1]["id"]
        await conn.executemany(
            "UPDATE collab_requests SET search_text = $2, search_grams = $3 WHERE id = $1",
            [
                (r["id"], *_search_document(r["code"], r["title"], r["background"], r["metrics"]))
                for r in rows
            ],
        )
        filled += len(rows)


async def refresh_passed_milestones(conn: Connection) -> None:
    """Move ``next_milestone_on`` on where its day has ended in the request's region. Only
    rows due by tomorrow in UTC can have passed (no region is more than a day ahead of UTC),
    which the column's index finds."""
    await conn.execute(
        f"""
        UPDATE collab_requests r SET next_milestone_on = {_next_milestone("r.status")}
         WHERE r.next_milestone_on < (now() AT TIME ZONE 'UTC')::date + 1
           AND r.next_milestone_on <> {_next_milestone("r.status")}
        """
    )


# --- the requests list ----------------------------------------------------------------------
# Both read paths of `requests` page with _page_ids (the compiled one through requests_source,
# in the default order). As for the issues list (services/issues/repository.py): only the
# filters given are in the SQL, each one predicate that an index serves (migrations 0010 and
# 0012), so an index walked in the list's order yields a page and stops; the page's ids come
# from id-only queries, which those indexes answer alone instead of the primary key walk
# reading rows until a page matches (most of the table when the matches are old, e.g. CLOSED,
# or absent); each way a department sees a request is a branch with an index of its own;
# statements are planned for their values.


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word.capitalize() for word in rest)


@dataclass(frozen=True)
class RequestListFilter:
    """The filter of the ``requests`` list (the schema's ``RequestFilter``, as plain values);
    every filter that is set must hold."""

    kind: RequestKind | None = None
    status: RequestStatus | None = None
    statuses: Sequence[RequestStatus] | None = None
    phase: Phase | None = None
    text: str | None = None
    lead_department_id: str | None = None
    participating_department_id: str | None = None
    region_id: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    updated_after: datetime | None = None
    updated_before: datetime | None = None

    @classmethod
    def of(cls, chosen: Mapping[str, Any] | None) -> RequestListFilter:
        """From the ``filter`` argument as the compiled path reads it (by GraphQL names)."""
        chosen = chosen or {}
        return cls(**{f.name: chosen.get(_camel(f.name)) for f in fields(cls)})

    def problem(self) -> str | None:
        """Why the filter is refused (a range ending before it starts), or None."""
        ranges = (
            ("created", self.created_after, self.created_before),
            ("updated", self.updated_after, self.updated_before),
        )
        for what, after, before in ranges:
            if after is not None and before is not None and before < after:
                return f"`{what}Before` may not be earlier than `{what}After`"
        return None


def _request_conditions(params: StatementParams, chosen: RequestListFilter) -> list[str]:
    """The filters that are set, as plain conditions; those not set are left out. Not
    ``participating_department_id``, which is ways of taking part (:func:`_taking_part`)."""
    conditions = []
    equal = (
        ("r.kind", chosen.kind),
        ("r.status", chosen.status),
        ("r.phase", chosen.phase),
        ("r.lead_department_id", chosen.lead_department_id),
    )
    conditions += [f"{column} = {params.add(str(v))}" for column, v in equal if v is not None]
    if chosen.statuses:
        statuses = sorted({s.value for s in chosen.statuses})
        conditions.append(f"r.status = ANY({params.add(statuses)}::text[])")
    terms, grams = query_terms(chosen.text or "")
    if terms:  # collab_requests_search
        conditions.append(matching("r", params.add(grams), params.add(terms)))
    if chosen.region_id is not None:
        conditions.append(
            "r.lead_department_id IN (SELECT d.id FROM departments d"
            f" WHERE d.region_id = {params.add(chosen.region_id)})"
        )
    bounds = (
        ("r.created_at >=", chosen.created_after),
        ("r.created_at <", chosen.created_before),
        ("r.updated_at >=", chosen.updated_after),
        ("r.updated_at <", chosen.updated_before),
    )
    conditions += [f"{test} {params.add(v)}" for test, v in bounds if v is not None]
    return conditions


def _list_conditions(
    params: StatementParams, sees_all: bool, departments: Sequence[str], chosen: RequestListFilter
) -> list[str]:
    """The whole filter of the list as one condition each: _VISIBLE (unless the caller sees
    everything) and the filters set."""
    conditions = []
    if not sees_all:  # _VISIBLE reads $1 (sees all) and $2 (departments)
        params.add(False)
        params.add(list(departments))
        conditions.append(_VISIBLE)
    if chosen.participating_department_id is not None:
        ways = _taking_part(params, chosen.participating_department_id)
        conditions.append(f"({' OR '.join(ways)})")
    return conditions + _request_conditions(params, chosen)


@dataclass(frozen=True)
class _Order:
    """How the list is read in one :class:`RequestSort`: by ``keys`` (the last is the id)."""

    keys: tuple[SortKey, ...]
    descending: bool

    def by(self, alias: str) -> str:
        direction = " DESC" if self.descending else ""
        return ", ".join(f"{alias}.{key.column}{direction}" for key in self.keys)

    def columns(self, alias: str) -> str:
        return ", ".join(f"{alias}.{key.column}" for key in self.keys)

    def after(self, params: StatementParams, values: Sequence[Any]) -> str:
        """The rows after the one whose keys are ``values``: a row comparison, which the
        order's index walks from."""
        theirs = ", ".join(
            f"{params.add(v)}::{key.sql_type}" for key, v in zip(self.keys, values, strict=True)
        )
        return f"({self.columns('r')}) {'<' if self.descending else '>'} ({theirs})"


_ORDERS = {
    RequestSort.CREATED_NEWEST: _Order((SortKey("id"),), descending=True),
    RequestSort.CREATED_OLDEST: _Order((SortKey("id"),), descending=False),
    RequestSort.UPDATED_NEWEST: _Order(
        (SortKey("updated_at", sql_type="timestamptz"), SortKey("id")), descending=True
    ),
    # 'infinity' for "no milestone ahead" sorts those requests last, and keeps the key NOT NULL
    RequestSort.NEAREST_MILESTONE: _Order(
        (SortKey("next_milestone_on", sql_type="date"), SortKey("id")), descending=False
    ),
}


def sort_key(sort: RequestSort, request: CollabRequest) -> list[Any]:
    """The values of ``request`` that order it in ``sort`` (what its cursor holds)."""
    return [getattr(request, key.column) for key in _ORDERS[sort].keys]


def parse_sort_key(sort: RequestSort, values: Sequence[Any]) -> tuple[Any, ...]:
    """Sort key values read back from a cursor as typed parameters; ValueError if they are
    not a key of ``sort``."""
    return parse_key(_ORDERS[sort].keys, values)


def _ordered(columns: str, conditions: Sequence[str], order: _Order, limit: str) -> str:
    where = " AND ".join(conditions) or "TRUE"
    return (
        f"SELECT {columns} FROM collab_requests r WHERE {where}"
        f" ORDER BY {order.by('r')} LIMIT {limit}"
    )


def _taking_part(params: StatementParams, department: str) -> list[str]:
    """The ways ``department`` takes part in request ``r``, each with an index that keeps id
    order: leading it (collab_requests_lead_list), participating (request_participants_
    department_list)."""
    one = params.add(department)
    return [
        f"r.lead_department_id = {one}",
        "EXISTS (SELECT 1 FROM request_participants p"
        f" WHERE p.request_id = r.id AND p.department_id = {one})",
    ]


def _ways_of_seeing(params: StatementParams, departments: Sequence[str]) -> list[str]:
    """_VISIBLE for a caller who does not see everything, as alternatives that each have an
    index: each department leading the request, or taking part in it."""
    ways = []
    for department in dict.fromkeys(departments):
        ways += _taking_part(params, department)
    return ways


def _page_ids(
    params: StatementParams,
    sees_all: bool,
    departments: Sequence[str],
    chosen: RequestListFilter,
    order: _Order,
    *,
    before: str,
    limit: str,
) -> str:
    """SQL of the ids of one page in ``order``: the first ``limit`` of each branch (a way of
    seeing, times a way the chosen department takes part) that meet the filter and ``before``
    (the cursor's condition), merged."""
    conditions = [*_request_conditions(params, chosen), before]
    if not sees_all and not departments:
        return "SELECT r.id FROM collab_requests r WHERE FALSE"
    branches = [[]] if sees_all else [[way] for way in _ways_of_seeing(params, departments)]
    if chosen.participating_department_id is not None:
        taking_part = _taking_part(params, chosen.participating_department_id)
        branches = [[*branch, way] for branch in branches for way in taking_part]
    if len(branches) == 1:
        return _ordered("r.id", [*branches[0], *conditions], order, limit)
    columns = order.columns("r")
    union = " UNION ".join(
        f"({_ordered(columns, [*branch, *conditions], order, limit)})" for branch in branches
    )
    return f"SELECT id FROM ({union}) seen ORDER BY {order.by('seen')} LIMIT {limit}"


async def list_requests(
    conn: Connection,
    *,
    sees_all: bool,
    departments: Sequence[str],
    chosen: RequestListFilter,
    sort: RequestSort = RequestSort.CREATED_NEWEST,
    after: Sequence[Any] | None = None,
    limit: int,
) -> list[CollabRequest]:
    """Visible requests matching ``chosen`` in order ``sort``, after the request whose sort
    key is ``after`` (ids are UUIDv7, so id order is creation order)."""
    params = StatementParams()
    order = _ORDERS[sort]
    before = "TRUE" if after is None else order.after(params, after)
    ids = _page_ids(
        params, sees_all, departments, chosen, order, before=before, limit=params.add(limit)
    )
    async with plan_with_values(conn):
        rows = await conn.fetch(
            f"SELECT {_REQUEST_COLUMNS} FROM collab_requests r WHERE r.id IN ({ids})"
            f" ORDER BY {order.by('r')}",
            *params.values,
        )
    return [_request(r) for r in rows]


async def count_requests(
    conn: Connection, *, sees_all: bool, departments: Sequence[str], chosen: RequestListFilter
) -> int:
    """How many requests :func:`list_requests` pages through with the same filter."""
    params = StatementParams()
    where = " AND ".join(_list_conditions(params, sees_all, departments, chosen)) or "TRUE"
    async with plan_with_values(conn):
        count: int = await conn.fetchval(
            f"SELECT count(*) FROM collab_requests r WHERE {where}", *params.values
        )
    return count


def requests_source(principal: Principal, arguments: Mapping[str, Any]) -> Source:
    """The rows of ``requests`` for the compiled read path: what :func:`count_requests`
    counts, paged by :func:`list_requests`'s own page SQL. A Source pages newest first by one
    key, so the other orders are the Python path's."""
    if arguments.get("sort", RequestSort.CREATED_NEWEST) != RequestSort.CREATED_NEWEST:
        raise NotServed("an order other than newest first")
    chosen = RequestListFilter.of(arguments.get("filter"))
    problem = chosen.problem()
    if problem is not None:
        raise NotServed(problem)
    sees_all, departments = principal.sees_everything, principal.departments
    params = StatementParams()
    where = " AND ".join(_list_conditions(params, sees_all, departments, chosen)) or "TRUE"
    if where == "TRUE":  # the whole table newest first: the walk of the key is the page SQL
        return Source("collab_requests", "r", where, params.values)
    order = _ORDERS[RequestSort.CREATED_NEWEST]
    keys = _page_ids(
        params, sees_all, departments, chosen, order, before="{before}", limit="{limit}"
    )
    return Source("collab_requests", "r", where, params.values, page_keys=keys)


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
