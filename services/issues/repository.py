"""SQL of issues and their timelines. Functions take a connection and return models.

SLA clocks have their own SQL in :mod:`services.issues.sla.repository`; the report's in
:mod:`services.issues.reports`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.issues.models import (
    Issue,
    IssueAction,
    IssueStatus,
    NewIssue,
    Severity,
    TimelineEntry,
)
from shared.auth import Principal
from shared.child_lists import ChildList, SortKey
from shared.db import Connection, StatementParams, plan_with_values
from shared.graphql.compiled.sql import Entity, Source
from shared.ids import new_id

# --- issues ---------------------------------------------------------------------------------

_ISSUE_COLUMNS = """i.id, i.code, i.request_id, i.task_id, i.title, i.description, i.impact,
    i.severity, i.urgent, i.status, i.reporter_id, i.lead_department_id, i.attempted_measures,
    i.created_at, i.updated_at, i.responsible_department_id, i.reporting_department_id,
    i.reporting_region_id, i.owner_id, i.plan, i.resolution, i.status_before_waiting,
    i.escalation_level, i.source_problem_id"""


def _issue(row: Any) -> Issue:
    before = row["status_before_waiting"]
    return Issue(
        **{
            **dict(row),
            "severity": Severity(row["severity"]),
            "status": IssueStatus(row["status"]),
            "status_before_waiting": IssueStatus(before) if before else None,
        }
    )


async def next_issue_code(conn: Connection, year: int) -> str:
    """``ISS-<year>-<n>``; the counter row lock serialises concurrent reports."""
    number = await conn.fetchval(
        """
        INSERT INTO issue_code_counters (year, last) VALUES ($1, 1)
        ON CONFLICT (year) DO UPDATE SET last = issue_code_counters.last + 1
        RETURNING last
        """,
        year,
    )
    return f"ISS-{year}-{number:04d}"


async def insert_issue(
    conn: Connection,
    command: NewIssue,
    *,
    code: str,
    reporter_id: str,
    lead_department_id: str,
    reporting_region_id: str | None,
    created_at: datetime,
) -> Issue:
    row = await conn.fetchrow(
        f"""
        INSERT INTO issues AS i (id, code, request_id, task_id, title, description, impact,
                                 severity, urgent, status, reporter_id, lead_department_id,
                                 attempted_measures, responsible_department_id,
                                 reporting_department_id, reporting_region_id,
                                 source_problem_id, created_at, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $12, $14, $15, $16,
                $17, $17)
        RETURNING {_ISSUE_COLUMNS}
        """,
        new_id(),
        code,
        command.request_id,
        command.task_id,
        command.title,
        command.description,
        command.impact,
        command.severity.value,
        command.urgent,
        IssueStatus.REPORTED.value,
        reporter_id,
        lead_department_id,
        command.attempted_measures,
        command.reporting_department_id,
        reporting_region_id,
        command.source_problem_id,
        created_at,
    )
    return _issue(row)


async def lock_issue(conn: Connection, issue_id: str) -> Issue | None:
    """The issue, locked until the transaction ends: concurrent moves queue up behind it."""
    row = await conn.fetchrow(
        f"SELECT {_ISSUE_COLUMNS} FROM issues i WHERE i.id = $1 FOR UPDATE", issue_id
    )
    return _issue(row) if row else None


_UPDATABLE = frozenset(
    {
        "status",
        "status_before_waiting",
        "responsible_department_id",
        "owner_id",
        "plan",
        "resolution",
        "escalation_level",
    }
)


async def update_issue(conn: Connection, issue_id: str, at: datetime, **changes: Any) -> Issue:
    """Set the given columns (a fixed allow-list) and ``updated_at``."""
    unknown = set(changes) - _UPDATABLE
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    values = [v.value if isinstance(v, IssueStatus) else v for v in changes.values()]
    assignments = ", ".join(f"{name} = ${n}" for n, name in enumerate(changes, start=3))
    row = await conn.fetchrow(
        f"UPDATE issues i SET updated_at = $2, {assignments} WHERE i.id = $1"
        f" RETURNING {_ISSUE_COLUMNS}",
        issue_id,
        at,
        *values,
    )
    return _issue(row)


async def issue_by_problem(conn: Connection, problem_id: str) -> Issue | None:
    row = await conn.fetchrow(
        f"SELECT {_ISSUE_COLUMNS} FROM issues i WHERE i.source_problem_id = $1", problem_id
    )
    return _issue(row) if row else None


async def issues_by_ids(conn: Connection, ids: Sequence[str]) -> dict[str, Issue]:
    rows = await conn.fetch(
        f"SELECT {_ISSUE_COLUMNS} FROM issues i WHERE i.id = ANY($1)", list(ids)
    )
    return {r["id"]: _issue(r) for r in rows}


# The caller sees the request whose id is {request}: PMO/ADMIN ($1), or one of the caller's
# departments ($2) takes part in it, as our replica of the request says now (so a department
# added later sees older issues). ``loaders.may_see_request`` is the same rule in Python.
_REQUEST_VISIBLE = """($1 OR EXISTS (
    SELECT 1 FROM request_replicas r
     WHERE r.id = {request}
       AND (r.lead_department_id = ANY($2) OR r.participant_department_ids && $2)))"""

REQUEST_VISIBLE = _REQUEST_VISIBLE.format(request="i.request_id")
"""The caller sees the request of issue ``i``."""

ROW_REQUEST_VISIBLE = _REQUEST_VISIBLE.format(request="{row}.id")
"""The caller sees request ``{row}`` (a ``CollabRequest`` stub, for its ``issues``)."""

# Visible: the request is, or one of the caller's departments works on the issue (lead or
# responsible, which may come from outside the request). Both read paths of `issue(id)` and
# the Issue entities use it (visible_issues, issue_entity), and the count of the list.
VISIBLE = f"""(i.lead_department_id = ANY($2) OR i.responsible_department_id = ANY($2)
    OR {REQUEST_VISIBLE})"""


def caller_args(principal: Principal) -> tuple[bool, list[str]]:
    """The values of ``$1`` and ``$2`` of VISIBLE and REQUEST_VISIBLE for ``principal``."""
    return principal.sees_everything, list(principal.departments)


async def visible_issues(
    conn: Connection, ids: Sequence[str], *, sees_all: bool, departments: Sequence[str]
) -> dict[str, Issue]:
    """The issues of ``ids`` the caller may see (VISIBLE), by id."""
    rows = await conn.fetch(
        f"SELECT {_ISSUE_COLUMNS} FROM issues i WHERE i.id = ANY($3) AND {VISIBLE}",
        sees_all,
        list(departments),
        list(ids),
    )
    return {r["id"]: _issue(r) for r in rows}


async def visible_requests(
    conn: Connection, ids: Sequence[str], *, sees_all: bool, departments: Sequence[str]
) -> set[str]:
    """Which requests of ``ids`` the caller sees (ROW_REQUEST_VISIBLE): those whose issues
    ``CollabRequest.issues`` lists."""
    rows = await conn.fetch(
        f"SELECT q.id FROM unnest($3::text[]) AS q(id) WHERE {ROW_REQUEST_VISIBLE.format(row='q')}",
        sees_all,
        list(departments),
        list(ids),
    )
    return {r["id"] for r in rows}


def issue_entity(principal: Principal) -> Entity:
    """An issue by its id for the compiled read path, if the caller may see it (VISIBLE, as
    :func:`visible_issues` reads it for the Python path)."""
    return Entity("issues", "i", "i.id = {key} AND " + VISIBLE, [*caller_args(principal)])


def issue_source(principal: Principal, arguments: Mapping[str, Any]) -> Source:
    """The row of ``issue(id)``: :func:`issue_entity` with the id as ``$3``."""
    return issue_entity(principal).by_key("$3", [arguments["id"]])


def stub_entity(principal: Principal) -> Entity:
    """A ``Task`` or ``CollabRequest`` of another subgraph: whatever its id, a stub with it
    (their ``resolve_reference``); what the caller sees of it is judged in its ``issues``."""
    return Entity("(SELECT {key}::text AS id)", "s", "TRUE", [])


_NEWEST_FIRST = (SortKey("i.id", name="id", descending=True),)

ISSUES_OF_REQUESTS = ChildList(
    source="issues i",
    parent="i.request_id",
    columns=_ISSUE_COLUMNS,
    order=_NEWEST_FIRST,
    to_model=_issue,
)
"""``CollabRequest.issues``: newest first (UUIDv7 ids sort by creation)."""

ISSUES_OF_TASKS = ChildList(
    source="issues i",
    parent="i.task_id",
    columns=_ISSUE_COLUMNS,
    order=_NEWEST_FIRST,
    to_model=_issue,
    where=REQUEST_VISIBLE,
)
"""``Task.issues``: newest first, those on requests the caller sees (args: PMO/ADMIN and
the caller's departments). A task names its request, but an issue names the task on its
own, so visibility is judged issue by issue."""


# --- the issues list ------------------------------------------------------------------------
# A page is the newest `limit` visible issues that match the filter. What keeps it fast at any
# size (the indexes are in migrations/0004_list_indexes.sql):
# * only the filters given are in the SQL, each as an equality where it can be, so a
#   (column, id) index walked newest first yields its matches in order and the walk stops
#   after one page;
# * the page's ids come from id-only queries, which those indexes answer alone (their INCLUDE
#   columns test the other filters). Left to read whole rows, the planner walks the primary key
#   newest first and reads rows until a page matches: most of the table when the matches are
#   old (ARCHIVED) or absent;
# * several statuses, and each way a department sees an issue, are branches of their own,
#   each with an index; the page is the newest of their union;
# * the statements are planned for their values (see shared.db.plan_with_values).

_FEW_REQUESTS = 1000
"""Up to this many requests taken part in (and only if they are at most 1/_SHARE_TO_WALK of
all requests), their issues are found by index; past that, the caller sees so many issues
that a walk of the newest ones soon finds a page."""

_SHARE_TO_WALK = 20

_MAX_BRANCHES = 16
"""More (statuses times ways of seeing) than this, and the statuses are one ANY condition
instead: planning every branch would cost more than it saves."""


@dataclass(frozen=True)
class ListFilter:
    """The filter of the ``issues`` list (the schema's ``IssueFilter``, as plain values)."""

    statuses: Sequence[IssueStatus] | None = None
    request_id: str | None = None
    responsible_department_id: str | None = None
    urgent: bool | None = None

    @classmethod
    def of(cls, chosen: Mapping[str, Any] | None) -> ListFilter:
        """From the ``filter`` argument as the compiled path reads it."""
        chosen = chosen or {}
        return cls(
            statuses=chosen.get("statuses"),
            request_id=chosen.get("requestId"),
            responsible_department_id=chosen.get("responsibleDepartmentId"),
            urgent=chosen.get("urgent"),
        )


def _status_values(statuses: Sequence[IssueStatus] | None) -> list[str]:
    return list(dict.fromkeys(s.value for s in statuses or ()))


def _any_status(params: StatementParams, chosen: list[str]) -> list[str]:
    """The statuses filter as one condition (none if no status is chosen)."""
    if len(chosen) == 1:
        return [f"i.status = {params.add(chosen[0])}"]
    return [f"i.status = ANY({params.add(chosen)}::text[])"] if chosen else []


def _issue_conditions(params: StatementParams, chosen: ListFilter) -> list[str]:
    """The other filters that are set, as plain conditions; those not set are left out."""
    conditions = []
    if chosen.request_id is not None:
        conditions.append(f"i.request_id = {params.add(chosen.request_id)}")
    if chosen.responsible_department_id is not None:
        responsible = params.add(chosen.responsible_department_id)
        conditions.append(f"i.responsible_department_id = {responsible}")
    if chosen.urgent is not None:  # a literal: the partial index of urgent issues applies
        conditions.append("i.urgent" if chosen.urgent else "NOT i.urgent")
    return conditions


def _takes_part(departments: str) -> str:
    """One of ``departments`` leads or takes part in request ``r`` (as in REQUEST_VISIBLE)."""
    return (
        f"(r.lead_department_id = ANY({departments})"
        f" OR r.participant_department_ids && {departments})"
    )


def _ways_of_seeing(params: StatementParams, departments: Sequence[str], mine: str) -> list[str]:
    """VISIBLE for a caller who does not see everything, as alternatives that each have an
    index: lead, responsible (one department at a time, so the index keeps id order), and
    the requests taken part in (the ``taking_part`` CTE of :func:`_taking_part_cte`): by
    their ids when they are few, else by a walk of the newest issues that tests each one's
    request. The last two are the branches of a one-time filter: only one of them runs."""
    ways = []
    for department in dict.fromkeys(departments):
        one = params.add(department)
        ways += [f"i.lead_department_id = {one}", f"i.responsible_department_id = {one}"]
    ways += [
        "NOT (SELECT walk FROM taking_part)"
        " AND i.request_id = ANY((SELECT ids FROM taking_part)::text[])",
        "(SELECT walk FROM taking_part) AND EXISTS (SELECT 1 FROM request_replicas r"
        f" WHERE r.id = i.request_id AND {_takes_part(mine)})",
    ]
    return ways


def _taking_part_cte(mine: str) -> str:
    """``taking_part``: the requests the departments ``mine`` take part in (up to one more
    than _FEW_REQUESTS), read once, and whether to walk the newest issues instead: they are
    too many, or too large a share of all requests (as the planner's statistics count them;
    a table not yet analysed counts as large)."""
    requests = (
        f"SELECT r.id FROM request_replicas r WHERE {_takes_part(mine)} LIMIT {_FEW_REQUESTS + 1}"
    )
    all_requests = "(SELECT reltuples FROM pg_class WHERE oid = 'request_replicas'::regclass)"
    walk = (
        f"cardinality(t.ids) > {_FEW_REQUESTS}"
        f" OR coalesce(cardinality(t.ids) * {_SHARE_TO_WALK} > nullif({all_requests}, -1), false)"
    )
    # OFFSET 0 keeps the array one value: flattened, each use of t.ids would read it again.
    return (
        f"WITH taking_part AS MATERIALIZED (SELECT t.ids, {walk} AS walk"
        f" FROM (SELECT ARRAY({requests}) AS ids OFFSET 0) t) "
    )


def _seen_on_request(params: StatementParams, departments: Sequence[str], request_id: str) -> str:
    """VISIBLE for the issues of one request, as one condition: the request's issues are
    walked once in issues_request_list, which holds their departments, and whether the caller
    takes part in the request is asked once."""
    mine, request = params.add(list(departments)), params.add(request_id)
    return (
        f"(i.lead_department_id = ANY({mine}) OR i.responsible_department_id = ANY({mine})"
        f" OR EXISTS (SELECT 1 FROM request_replicas r WHERE r.id = {request}"
        f" AND {_takes_part(mine)}))"
    )


def _newest_ids(conditions: Sequence[str], limit: str) -> str:
    where = " AND ".join(conditions) or "TRUE"
    return f"SELECT i.id FROM issues i WHERE {where} ORDER BY i.id DESC LIMIT {limit}"


def _page_keys(
    params: StatementParams,
    principal: Principal,
    chosen: ListFilter,
    *,
    before: str,
    limit: str,
) -> str:
    """The ids of a page of the list, newest first: the newest ``limit`` of each branch (a
    way of seeing, a status) that meet ``before`` (the cursor's condition), merged."""
    conditions = [*_issue_conditions(params, chosen), before]
    departments, cte = principal.departments, ""
    ways: list[list[str]] = [[]]  # who sees everything sees the issues one way
    if not principal.sees_everything and not departments:
        return "SELECT i.id FROM issues i WHERE FALSE"
    if not principal.sees_everything and chosen.request_id is not None:
        ways = [[_seen_on_request(params, departments, chosen.request_id)]]
    elif not principal.sees_everything:
        mine = params.add(list(departments))
        cte = _taking_part_cte(mine)
        ways = [[way] for way in _ways_of_seeing(params, departments, mine)]
    statuses = _status_values(chosen.statuses)
    if len(ways) * len(statuses) > _MAX_BRANCHES:
        conditions, statuses = [*_any_status(params, statuses), *conditions], []
    by_status = [[f"i.status = {params.add(s)}"] for s in statuses] or [[]]
    branches = [[*way, *status, *conditions] for way in ways for status in by_status]
    if len(branches) == 1:
        return cte + _newest_ids(branches[0], limit)
    union = " UNION ".join(f"({_newest_ids(b, limit)})" for b in branches)
    return f"{cte}SELECT id FROM ({union}) branch ORDER BY id DESC LIMIT {limit}"


async def list_issues(
    conn: Connection,
    principal: Principal,
    chosen: ListFilter,
    *,
    after_id: str | None,
    limit: int,
) -> list[Issue]:
    """Visible issues matching the filter, newest first (UUIDv7 ids sort by creation)."""
    params = StatementParams()
    before = "TRUE" if after_id is None else f"i.id < {params.add(after_id)}"
    ids = _page_keys(params, principal, chosen, before=before, limit=params.add(limit))
    async with plan_with_values(conn):
        rows = await conn.fetch(
            f"SELECT {_ISSUE_COLUMNS} FROM issues i WHERE i.id IN ({ids}) ORDER BY i.id DESC",
            *params.values,
        )
    return [_issue(r) for r in rows]


def _list_conditions(
    params: StatementParams, principal: Principal, chosen: ListFilter
) -> list[str]:
    """The whole filter of the list as one condition each: VISIBLE (unless the caller sees
    everything), the statuses, the other filters set."""
    conditions = []
    if not principal.sees_everything:  # VISIBLE reads $1 (sees all) and $2 (departments)
        params.add(False)
        params.add(list(principal.departments))
        conditions.append(VISIBLE)
    conditions += _any_status(params, _status_values(chosen.statuses))
    conditions += _issue_conditions(params, chosen)
    return conditions


async def count_issues(conn: Connection, principal: Principal, chosen: ListFilter) -> int:
    """How many issues :func:`list_issues` pages through with the same filter."""
    params = StatementParams()
    where = " AND ".join(_list_conditions(params, principal, chosen)) or "TRUE"
    async with plan_with_values(conn):
        count: int = await conn.fetchval(
            f"SELECT count(*) FROM issues i WHERE {where}", *params.values
        )
    return count


def issues_source(principal: Principal, arguments: Mapping[str, Any]) -> Source:
    """The rows of ``issues`` for the compiled read path: what :func:`count_issues` counts,
    paged by :func:`list_issues`'s own page SQL (newest first, ``[id]`` cursors)."""
    chosen = ListFilter.of(arguments.get("filter"))
    params = StatementParams()
    where = " AND ".join(_list_conditions(params, principal, chosen)) or "TRUE"
    keys = _page_keys(params, principal, chosen, before="{before}", limit="{limit}")
    return Source("issues", "i", where, params.values, page_keys=keys)


# --- timeline -------------------------------------------------------------------------------


async def add_timeline(
    conn: Connection,
    issue_id: str,
    at: datetime,
    action: IssueAction,
    *,
    actor_id: str | None,
    from_status: IssueStatus | None = None,
    to_status: IssueStatus | None = None,
    note: str = "",
) -> None:
    await conn.execute(
        """
        INSERT INTO issue_timeline (issue_id, at, actor_id, action, from_status, to_status, note)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        """,
        issue_id,
        at,
        actor_id,
        action.value,
        from_status.value if from_status else None,
        to_status.value if to_status else None,
        note,
    )


def _entry(row: Any) -> TimelineEntry:
    return TimelineEntry(
        **{
            **dict(row),
            "action": IssueAction(row["action"]),
            "from_status": IssueStatus(row["from_status"]) if row["from_status"] else None,
            "to_status": IssueStatus(row["to_status"]) if row["to_status"] else None,
        }
    )


TIMELINES = ChildList(
    source="issue_timeline",
    parent="issue_id",
    columns="seq, issue_id, at, actor_id, action, from_status, to_status, note",
    order=(SortKey("seq", sql_type="bigint"),),
    to_model=_entry,
)
"""``Issue.timeline``: each issue's entries, oldest first."""


# --- directory replicas ---------------------------------------------------------------------


async def person_department(conn: Connection, person_id: str) -> str | None:
    """The department of a person our directory copy knows, else None."""
    value: str | None = await conn.fetchval(
        "SELECT department_id FROM person_replicas WHERE id = $1", person_id
    )
    return value


async def pmo_members(conn: Connection) -> list[str]:
    """Everyone holding the PMO role, by id."""
    rows = await conn.fetch("SELECT id FROM person_replicas WHERE 'PMO' = ANY(roles) ORDER BY id")
    return [r["id"] for r in rows]


async def people_calendars(conn: Connection, ids: Sequence[str]) -> dict[str, tuple[str, Any]]:
    """Each known person's time zone and their region's calendar (None if not arrived)."""
    rows = await conn.fetch(
        """
        SELECT p.id, p.time_zone, r.calendar FROM person_replicas p
          LEFT JOIN region_replicas r ON r.id = p.region_id
         WHERE p.id = ANY($1)
        """,
        list(ids),
    )
    return {r["id"]: (r["time_zone"], r["calendar"]) for r in rows}
