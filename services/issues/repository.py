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
    IssueClockState,
    IssueSort,
    IssueStatus,
    NewIssue,
    Severity,
    TimelineEntry,
)
from shared.auth import Principal
from shared.child_lists import ChildList, SortKey
from shared.db import Connection, StatementParams, plan_with_values
from shared.graphql.compiled.sql import Entity, NotServed, Source
from shared.ids import new_id
from shared.search_text import document, matching, query_terms

# --- issues ---------------------------------------------------------------------------------

_ISSUE_COLUMNS = """i.id, i.code, i.request_id, i.task_id, i.title, i.description, i.impact,
    i.severity, i.urgent, i.status, i.reporter_id, i.lead_department_id, i.attempted_measures,
    i.created_at, i.updated_at, i.responsible_department_id, i.reporting_department_id,
    i.reporting_region_id, i.owner_id, i.plan, i.resolution, i.status_before_waiting,
    i.escalation_level, i.source_problem_id, i.next_deadline"""


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
                                 source_problem_id, created_at, updated_at, search_text,
                                 search_grams)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $12, $14, $15, $16,
                $17, $17, $18, $19)
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
        *document(code, command.title, command.description),
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
    text: str | None = None
    severities: Sequence[Severity] | None = None
    owner_id: str | None = None
    reporter_id: str | None = None
    lead_department_id: str | None = None
    region_id: str | None = None
    """The responsible department's region."""
    clock_states: Sequence[IssueClockState] | None = None
    reported_after: datetime | None = None
    """Reported at or after."""
    reported_before: datetime | None = None
    """Reported before."""

    @classmethod
    def of(cls, chosen: Mapping[str, Any] | None) -> ListFilter:
        """From the ``filter`` argument as the compiled path reads it."""
        chosen = chosen or {}
        return cls(
            statuses=chosen.get("statuses"),
            request_id=chosen.get("requestId"),
            responsible_department_id=chosen.get("responsibleDepartmentId"),
            urgent=chosen.get("urgent"),
            text=chosen.get("text"),
            severities=chosen.get("severities"),
            owner_id=chosen.get("ownerId"),
            reporter_id=chosen.get("reporterId"),
            lead_department_id=chosen.get("leadDepartmentId"),
            region_id=chosen.get("regionId"),
            clock_states=chosen.get("clockStates"),
            reported_after=chosen.get("reportedAfter"),
            reported_before=chosen.get("reportedBefore"),
        )

    @property
    def inverted(self) -> bool:
        """The range of report times ends before it starts (an error, not an empty list)."""
        after, before = self.reported_after, self.reported_before
        return after is not None and before is not None and after > before


SEVERITY_WEIGHT = (
    "CASE {row}.severity WHEN 'CRITICAL' THEN 4 WHEN 'HIGH' THEN 3 WHEN 'MEDIUM' THEN 2 ELSE 1 END"
)
"""How severe issue ``{row}`` is, 4 (CRITICAL) to 1 (LOW): the expression of the index
issues_severity_list, which the severities filter and the SEVERITY sort read."""

WEIGHTS = {Severity.CRITICAL: 4, Severity.HIGH: 3, Severity.MEDIUM: 2, Severity.LOW: 1}
"""SEVERITY_WEIGHT in Python."""

CLOCK_STATES = {
    IssueClockState.RUNNING: "c.state = 'RUNNING' AND c.due_at > now()"
    " AND (c.warn_at IS NULL OR c.warn_at > now())",
    IssueClockState.AT_RISK: "c.state = 'RUNNING' AND c.due_at > now() AND c.warn_at <= now()",
    # A running clock whose deadline has passed is breached: its timer fires within moments
    # (sla.clocks.stop_clock reads it the same way).
    IssueClockState.BREACHED: "(c.state = 'BREACHED' OR c.state = 'RUNNING' AND c.due_at <= now())",
    IssueClockState.PAUSED: "c.state = 'PAUSED'",
}
"""Each state of the filter as a condition on a clock ``c`` not yet stopped (``met_at`` is
null), each a range of the index sla_clocks_open_state (state, due_at). ``warn_at`` is when
the clock's first warning threshold is reached, as its warning timer is armed."""


def _status_values(statuses: Sequence[IssueStatus] | None) -> list[str]:
    return list(dict.fromkeys(s.value for s in statuses or ()))


def _any_status(params: StatementParams, chosen: list[str]) -> list[str]:
    """The statuses filter as one condition (none if no status is chosen)."""
    if len(chosen) == 1:
        return [f"i.status = {params.add(chosen[0])}"]
    return [f"i.status = ANY({params.add(chosen)}::text[])"] if chosen else []


def _equalities(params: StatementParams, chosen: ListFilter) -> list[str]:
    """The filters that name a value of a column, each walked by its (column, id) index."""
    columns = {
        "request_id": chosen.request_id,
        "responsible_department_id": chosen.responsible_department_id,
        "lead_department_id": chosen.lead_department_id,
        "owner_id": chosen.owner_id,
        "reporter_id": chosen.reporter_id,
    }
    return [f"i.{c} = {params.add(value)}" for c, value in columns.items() if value is not None]


def _severities(params: StatementParams, severities: Sequence[Severity]) -> str:
    weights = sorted({WEIGHTS[Severity(s)] for s in severities})
    weight = SEVERITY_WEIGHT.format(row="i")
    if len(weights) == 1:  # an equality: issues_severity_list yields it newest first
        return f"{weight} = {params.add(weights[0])}"
    return f"{weight} = ANY({params.add(weights)}::int[])"


def _clocks(states: Sequence[IssueClockState]) -> str:
    """One of the issue's clocks not yet stopped is in one of ``states``: the clocks are
    found by sla_clocks_open_state, their issues by id."""
    chosen = " OR ".join(f"({CLOCK_STATES[IssueClockState(s)]})" for s in dict.fromkeys(states))
    return f"i.id IN (SELECT c.issue_id FROM sla_clocks c WHERE c.met_at IS NULL AND ({chosen}))"


def _issue_conditions(params: StatementParams, chosen: ListFilter) -> list[str]:
    """The other filters that are set, as plain conditions; those not set are left out."""
    conditions = _equalities(params, chosen)
    if chosen.urgent is not None:  # a literal: the partial index of urgent issues applies
        conditions.append("i.urgent" if chosen.urgent else "NOT i.urgent")
    if chosen.severities:
        conditions.append(_severities(params, chosen.severities))
    if chosen.region_id is not None:  # few departments: their issues by issues_responsible_list
        conditions.append(
            "i.responsible_department_id IN (SELECT d.id FROM department_replicas d"
            f" WHERE d.region_id = {params.add(chosen.region_id)})"
        )
    if chosen.clock_states:
        conditions.append(_clocks(chosen.clock_states))
    if chosen.reported_after is not None:  # issues_created
        conditions.append(f"i.created_at >= {params.add(chosen.reported_after)}")
    if chosen.reported_before is not None:
        conditions.append(f"i.created_at < {params.add(chosen.reported_before)}")
    terms, grams = query_terms(chosen.text or "")
    if terms:  # issues_search narrows by the n-grams, strpos confirms each term
        conditions.append(matching("i", params.add(grams), params.add(terms)))
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


@dataclass(frozen=True)
class _Order:
    """How a sort orders the list: by ``key`` (SQL of issue ``{row}``; None: by the id
    alone), then by the id, both descending or both not, so that an index on (key, id)
    yields the order in one walk and a cursor's (key, id) is one bound of it."""

    key: str | None
    descending: bool
    value: str = "{}"
    """SQL of a cursor's key value (``{}``: its parameter), typed as the key."""

    def by(self, row: str, key: str | None = None) -> str:
        """The ORDER BY of rows ``row`` (whose sort value is ``key``, default ``self.key``)."""
        way = " DESC" if self.descending else ""
        if self.key is None:
            return f"{row}.id{way}"
        return f"{key or self.key.format(row=row)}{way}, {row}.id{way}"

    def after(self, params: StatementParams, cursor: Sequence[Any]) -> str:
        """The condition of the rows after ``cursor`` (its key value if any, then its id)."""
        beyond = "<" if self.descending else ">"
        if self.key is None:
            return f"i.id {beyond} {params.add(cursor[0])}"
        value = self.value.format(params.add(cursor[0]))
        return f"({self.key.format(row='i')}, i.id) {beyond} ({value}, {params.add(cursor[1])})"

    def ids(self, conditions: Sequence[str], limit: str, *, with_key: bool = False) -> str:
        """The first ``limit`` issues meeting ``conditions``: ids, and ``with_key`` their
        sort values as ``sort_key`` too (to merge branches)."""
        where = " AND ".join(conditions) or "TRUE"
        columns = "i.id"
        if with_key and self.key is not None:
            columns += f", {self.key.format(row='i')} AS sort_key"
        return f"SELECT {columns} FROM issues i WHERE {where} ORDER BY {self.by('i')} LIMIT {limit}"

    def merged(self, branches: Sequence[str], limit: str) -> str:
        """The first ``limit`` ids of the union of ``branches`` (each an :meth:`ids`)."""
        union = " UNION ".join(f"({branch})" for branch in branches)
        return f"SELECT i.id FROM ({union}) i ORDER BY {self.by('i', 'i.sort_key')} LIMIT {limit}"


ORDERS = {
    IssueSort.REPORTED_NEWEST: _Order(None, descending=True),
    IssueSort.REPORTED_OLDEST: _Order(None, descending=False),
    # Issues with no running clock last (index issues_deadline_list).
    IssueSort.NEAREST_DEADLINE: _Order(
        "coalesce({row}.next_deadline, 'infinity')",
        descending=False,
        value="coalesce({}::timestamptz, 'infinity')",
    ),
    IssueSort.SEVERITY: _Order(SEVERITY_WEIGHT, descending=True, value="{}::int"),  # newest
}
"""Each sort of the list (UUIDv7 ids sort by creation, so the id is the report order)."""


def sort_key(issue: Issue, sort: IssueSort) -> list[Any]:
    """What a cursor of ``sort`` holds for ``issue``: its sort value if the sort has one
    (JSON: an ISO time or null, a weight), then its id."""
    if sort is IssueSort.NEAREST_DEADLINE:
        deadline = issue.next_deadline
        return [deadline.isoformat() if deadline else None, issue.id]
    if sort is IssueSort.SEVERITY:
        return [WEIGHTS[issue.severity], issue.id]
    return [issue.id]


def _page_keys(
    params: StatementParams,
    principal: Principal,
    chosen: ListFilter,
    *,
    before: str,
    limit: str,
    order: _Order = ORDERS[IssueSort.REPORTED_NEWEST],
) -> str:
    """The ids of a page of the list in ``order``: the first ``limit`` of each branch (a way
    of seeing, a status) that meet ``before`` (the cursor's condition), merged."""
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
        return cte + order.ids(branches[0], limit)
    return cte + order.merged([order.ids(b, limit, with_key=True) for b in branches], limit)


async def list_issues(
    conn: Connection,
    principal: Principal,
    chosen: ListFilter,
    *,
    limit: int,
    sort: IssueSort = IssueSort.REPORTED_NEWEST,
    after: Sequence[Any] | None = None,
) -> list[Issue]:
    """Visible issues matching the filter in ``sort`` order, after the :func:`sort_key`
    ``after`` (its values as the SQL compares them)."""
    order, params = ORDERS[sort], StatementParams()
    before = "TRUE" if after is None else order.after(params, after)
    ids = _page_keys(params, principal, chosen, before=before, limit=params.add(limit), order=order)
    async with plan_with_values(conn):
        rows = await conn.fetch(
            f"SELECT {_ISSUE_COLUMNS} FROM issues i WHERE i.id IN ({ids}) ORDER BY {order.by('i')}",
            *params.values,
        )
    return [_issue(r) for r in rows]


def list_conditions(params: StatementParams, principal: Principal, chosen: ListFilter) -> list[str]:
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
    where = " AND ".join(list_conditions(params, principal, chosen)) or "TRUE"
    async with plan_with_values(conn):
        count: int = await conn.fetchval(
            f"SELECT count(*) FROM issues i WHERE {where}", *params.values
        )
    return count


def issues_source(principal: Principal, arguments: Mapping[str, Any]) -> Source:
    """The rows of ``issues`` for the compiled read path: what :func:`count_issues` counts,
    paged by :func:`list_issues`'s own page SQL (newest first, ``[id]`` cursors). Another
    sort is left to the Python path (a Source pages by the id alone), as is an inverted
    range of report times (refused there)."""
    chosen = ListFilter.of(arguments.get("filter"))
    if IssueSort(arguments.get("sort") or IssueSort.REPORTED_NEWEST) != IssueSort.REPORTED_NEWEST:
        raise NotServed("a sort other than REPORTED_NEWEST")
    if chosen.inverted:
        raise NotServed("an inverted range of report times")
    params = StatementParams()
    where = " AND ".join(list_conditions(params, principal, chosen)) or "TRUE"
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
