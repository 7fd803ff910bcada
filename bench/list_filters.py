"""Time every filter of the issues, tasks and requests list SQL at 10k and at 1M rows.

Each service gets a scratch database per size (``liaison_bench_<service>_<size>``), migrated
the way the service migrates its own, bulk-loaded with ``INSERT ... SELECT generate_series``,
vacuumed and analysed. The repository functions themselves then run each case on one pooled
connection, so the numbers are those of the very statements the subgraphs send (prepared and
cached by asyncpg, as in the services). The databases are dropped at the end unless
``--keep``; a kept one is reused by the next run if its data would be the same, and the
migrations added since run on its rows.

    .venv/bin/python -m bench.list_filters                    # 10k and 1M rows, every service
    .venv/bin/python -m bench.list_filters --rows 10000 100000 --services issues
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import hashlib
import json
import os
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence, Sized
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from asyncpg.connection import LoggedQuery
from asyncpg.pool import PoolConnectionProxy

from services.issues import repository as issues_repo
from services.issues.models import IssueStatus
from services.requests import repository as requests_repo
from services.requests.models import RequestKind, RequestStatus
from services.tasks import repository as tasks_repo
from shared.auth import Principal, Role
from shared.child_lists import ChildPage, ChildRows
from shared.db import SHARED_MIGRATIONS, Connection, prepare_database
from shared.replicas import REPLICA_MIGRATIONS

# Each service's MIGRATIONS as its app.py lists them; importing the apps would build every
# schema just to read two paths.
SERVICES_DIR = Path(__file__).parent.parent / "services"
ISSUES_MIGRATIONS = [REPLICA_MIGRATIONS, SERVICES_DIR / "issues" / "migrations"]
TASKS_MIGRATIONS = [REPLICA_MIGRATIONS, SERVICES_DIR / "tasks" / "migrations"]
REQUESTS_MIGRATIONS = [SERVICES_DIR / "requests" / "migrations"]

PAGE = 21  # first: 20, and the resolvers ask for one more to know whether a next page exists

# --- realistic distributions ----------------------------------------------------------------

# Ten departments of very different sizes, and an eleventh in the directory that is on nothing.
DEPARTMENTS: list[tuple[str, float]] = [
    ("dep-00", 30),
    ("dep-01", 20),
    ("dep-02", 14),
    ("dep-03", 10),
    ("dep-04", 8),
    ("dep-05", 6),
    ("dep-06", 5),
    ("dep-07", 4),
    ("dep-08", 2.5),
    ("dep-09", 0.5),
]
EMPTY_DEPARTMENT = "dep-10"
ALL_DEPARTMENTS = [d for d, _ in DEPARTMENTS] + [EMPTY_DEPARTMENT]
SMALL_HEAD = ("dep-08", "dep-09")  # the head of two small departments


def weighted(column: str, choices: Sequence[tuple[str, float]]) -> str:
    """A SQL CASE picking one of ``choices`` by weight from a uniform [0, 1) ``column``."""
    total = sum(weight for _, weight in choices)
    arms, bound = [], 0.0
    for value, weight in choices[:-1]:
        bound += weight / total
        arms.append(f"WHEN {column} < {bound:.6f} THEN '{value}'")
    return f"CASE {' '.join(arms)} ELSE '{choices[-1][0]}' END"


# Ids like shared.ids.uuid7: 48 bits of milliseconds first, so text order is creation order.
# Row n of `total` is spread over three years, one millisecond apart at least.
ID_FUNCTIONS = """
CREATE FUNCTION bench_ms(n bigint, total bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$ SELECT 1672531200000 + n * (94608000000 / total) $$;
CREATE FUNCTION bench_id(kind text, n bigint, total bigint) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-7' || substr(r, 1, 3) || '-8'
      || substr(r, 4, 3) || '-' || substr(r, 7, 12)
    FROM (SELECT lpad(to_hex(bench_ms(n, total)), 12, '0') AS h, md5(kind || n) AS r) x
$$;
CREATE FUNCTION bench_at(n bigint, total bigint) RETURNS timestamptz
LANGUAGE sql IMMUTABLE AS $$ SELECT to_timestamp(bench_ms(n, total) / 1000.0) $$;
"""

# --- issues ---------------------------------------------------------------------------------

# Most issues are closed and old; the newest tenth is where the open ones are.
ISSUE_OLD_STATUS = [
    ("ARCHIVED", 60),
    ("VERIFIED", 25),
    ("RESOLVED", 14),
    ("IN_PROGRESS", 0.9),
    ("ACKNOWLEDGED", 0.1),
]
ISSUE_NEW_STATUS = [
    ("REPORTED", 20),
    ("ACKNOWLEDGED", 20),
    ("PLAN_PROPOSED", 12),
    ("IN_PROGRESS", 30),
    ("WAITING", 3),
    ("RESOLVED", 15),
]
SEVERITY = [("CRITICAL", 3), ("HIGH", 17), ("MEDIUM", 50), ("LOW", 30)]

REQUEST_REPLICAS = f"""
INSERT INTO request_replicas (id, code, title, status, lead_department_id,
                              participant_department_ids)
SELECT bench_id('r', k, $1), 'CR-B-' || k, 'Request ' || k, 'ACTIVE', lead,
       ARRAY(SELECT DISTINCT p FROM unnest(CASE WHEN u < 0.5 THEN ARRAY[p1]
                                           ELSE ARRAY[p1, p2] END) p WHERE p <> lead)
  FROM (SELECT k, {weighted("u_lead", DEPARTMENTS)} AS lead, {weighted("u1", DEPARTMENTS)} AS p1,
               {weighted("u2", DEPARTMENTS)} AS p2, u
          FROM (SELECT k, random() AS u_lead, random() AS u1, random() AS u2, random() AS u
                  FROM generate_series(1, $1::bigint) k) g) s
"""

DEPARTMENT_REPLICAS = """
INSERT INTO department_replicas (id, code, name, region_id, head_id)
SELECT d, upper(d), 'Department ' || d, 'reg-1', 'head-' || right(d, 2) FROM unnest($1::text[]) d
"""

# $1 issues, $2 requests. Request 1 is a long-running one with every 50th issue, request $2 + 1
# has a single issue, request $2 + 2 none; the others take consecutive runs of issues.
ISSUES = f"""
INSERT INTO issues (id, code, request_id, task_id, title, severity, urgent, status, reporter_id,
                    lead_department_id, responsible_department_id, reporting_department_id,
                    created_at, updated_at)
SELECT bench_id('i', s.g, $1), 'ISS-B-' || s.g, r.id,
       CASE WHEN s.u_task < 0.3 THEN 'task-' || s.g END, 'Issue ' || s.g,
       {weighted("s.u_severity", SEVERITY)}, s.u_urgent < 0.03,
       CASE WHEN s.g > $1 * 0.9 THEN {weighted("s.u_status", ISSUE_NEW_STATUS)}
            ELSE {weighted("s.u_status", ISSUE_OLD_STATUS)} END,
       'person-' || s.g % 500, r.lead_department_id,
       CASE WHEN s.u_handover < 0.85 THEN r.lead_department_id
            ELSE {weighted("s.u_other", DEPARTMENTS)} END,
       {weighted("s.u_reporting", DEPARTMENTS)}, bench_at(s.g, $1), bench_at(s.g, $1)
  FROM (SELECT g, CASE WHEN g = $1 / 2 THEN $2 + 1 WHEN g % 50 = 0 THEN 1
                       ELSE 2 + (g - 1) * ($2 - 1) / $1 END AS k,
               random() AS u_task, random() AS u_severity, random() AS u_urgent,
               random() AS u_status, random() AS u_handover, random() AS u_other,
               random() AS u_reporting
          FROM generate_series(1, $1::bigint) g) s
  JOIN request_replicas r ON r.id = bench_id('r', s.k, $2 + 2)
"""


def request_count(rows: int) -> int:
    """About twenty issues (or tasks) per request."""
    return max(rows // 20, 10)


async def load_issues(conn: Connection, rows: int) -> None:
    requests = request_count(rows)
    await conn.execute(DEPARTMENT_REPLICAS, ALL_DEPARTMENTS)
    await conn.execute(REQUEST_REPLICAS, requests + 2)
    await conn.execute(ISSUES, rows, requests)


@dataclass(frozen=True)
class Case:
    """One call of a repository list function, and what kind of match it is."""

    name: str
    match: str  # common, rare, none
    call: Callable[[Connection], Awaitable[Sized]]


async def bench_id(conn: Connection, kind: str, n: int, total: int) -> str:
    value: str = await conn.fetchval("SELECT bench_id($1, $2, $3)", kind, n, total)
    return value


async def issue_cases(conn: Connection, rows: int) -> list[Case]:
    requests = request_count(rows) + 2
    hot, single, empty = [
        await bench_id(conn, "r", k, requests) for k in (1, requests - 1, requests)
    ]
    middle = await bench_id(conn, "i", rows // 2, rows)
    waiting, archived = [IssueStatus.WAITING], [IssueStatus.ARCHIVED]
    open_ = [IssueStatus.REPORTED, IssueStatus.ACKNOWLEDGED, IssueStatus.IN_PROGRESS]
    closed = [IssueStatus.ARCHIVED, IssueStatus.VERIFIED]

    def page(departments: Sequence[str] = (), after: str | None = None, **filters: Any) -> Any:
        roles = frozenset({Role.MEMBER if departments else Role.PMO})
        caller = Principal("bench", roles, tuple(departments))
        chosen = issues_repo.ListFilter(**filters)

        async def call(c: Connection) -> Sized:
            cursor = None if after is None else [after]
            return await issues_repo.list_issues(c, caller, chosen, after=cursor, limit=PAGE)

        return call

    head, nobody, big = SMALL_HEAD, (EMPTY_DEPARTMENT,), ("dep-00",)
    return [
        Case("no filter", "common", page()),
        Case("statuses IN_PROGRESS", "common", page(statuses=[IssueStatus.IN_PROGRESS])),
        Case("statuses REPORTED,ACKNOWLEDGED,IN_PROGRESS", "common", page(statuses=open_)),
        Case("statuses WAITING", "rare", page(statuses=waiting)),
        Case("statuses ARCHIVED (all old)", "common", page(statuses=archived)),
        Case("statuses ARCHIVED,VERIFIED", "common", page(statuses=closed)),
        Case(
            "statuses ARCHIVED, page after the middle",
            "common",
            page(after=middle, statuses=archived),
        ),
        Case(
            "statuses WAITING, page after the middle", "none", page(after=middle, statuses=waiting)
        ),
        Case("requestId long-running", "common", page(request_id=hot)),
        Case("requestId with one issue", "rare", page(request_id=single)),
        Case("requestId with no issue", "none", page(request_id=empty)),
        Case("responsibleDepartmentId dep-00", "common", page(responsible_department_id="dep-00")),
        Case("responsibleDepartmentId dep-09", "rare", page(responsible_department_id="dep-09")),
        Case(
            "responsibleDepartmentId dep-10",
            "none",
            page(responsible_department_id=EMPTY_DEPARTMENT),
        ),
        Case("urgent true", "rare", page(urgent=True)),
        Case("urgent false", "common", page(urgent=False)),
        Case(
            "responsible dep-09 + WAITING + urgent",
            "none",
            page(responsible_department_id="dep-09", statuses=waiting, urgent=True),
        ),
        Case("dept dep-00: no filter", "common", page(big)),
        Case("dept dep-00: statuses ARCHIVED", "common", page(big, statuses=archived)),
        Case("dept dep-08,09: no filter", "common", page(head)),
        Case("dept dep-08,09: urgent", "rare", page(head, urgent=True)),
        Case("dept dep-08,09: statuses WAITING", "rare", page(head, statuses=waiting)),
        Case("dept dep-08,09: WAITING + urgent", "none", page(head, statuses=waiting, urgent=True)),
        Case(
            "dept dep-08,09: responsible dep-00",
            "rare",
            page(head, responsible_department_id="dep-00"),
        ),
        Case("dept dep-08,09: requestId long-running", "common", page(head, request_id=hot)),
        Case("dept dep-10 (sees nothing): no filter", "none", page(nobody)),
        Case("dept dep-10: urgent", "none", page(nobody, urgent=True)),
    ]


# --- tasks ----------------------------------------------------------------------------------

TASK_OLD_STATUS = [("DONE", 85), ("CANCELLED", 10), ("IN_PROGRESS", 4), ("BLOCKED", 1)]
TASK_NEW_STATUS = [("TODO", 45), ("IN_PROGRESS", 35), ("BLOCKED", 5), ("DONE", 15)]
PEOPLE = 190  # person-000 .. person-189 hold the A and R of every task

# $1 tasks, $2 requests; tasks come in groups of ten under the group's first one, the last two
# tasks are a parent with a single child. Request $2 + 1 has one task, $2 + 2 none.
TASKS = f"""
INSERT INTO tasks (id, request_id, title, status, created_by, created_at, updated_at, parent_id)
SELECT bench_id('t', g, $1),
       bench_id('r', CASE WHEN g = $1 / 2 THEN $2 + 1 ELSE 1 + (g - 1) * $2 / $1 END, $2 + 2),
       'Task ' || g,
       CASE WHEN g > $1 * 0.9 THEN {weighted("u_status", TASK_NEW_STATUS)}
            ELSE {weighted("u_status", TASK_OLD_STATUS)} END,
       'person-001', bench_at(g, $1), bench_at(g, $1),
       CASE WHEN g = $1 THEN bench_id('t', g - 1, $1)
            WHEN g < $1 - 1 AND (g - 1) % 10 <> 0 THEN bench_id('t', g - (g - 1) % 10, $1) END
  FROM (SELECT g, random() AS u_status FROM generate_series(1, $1::bigint) g) s
"""


def _person(column: str) -> str:
    return f"'person-' || lpad(floor({column} * {PEOPLE})::int::text, 3, '0')"


# Every task has a person A and a person R (every 10,000th R is a newcomer's), often a
# department consulted and one informed, which count for that department's head.
RACI = f"""
INSERT INTO raci_assignments (task_id, position, role, person_id, department_id)
SELECT bench_id('t', s.g, $1), v.position, v.role, v.person_id, v.department_id
  FROM (SELECT g, random() AS u_a, random() AS u_r, random() AS u_c, random() AS u_i,
               random() AS u_cd, random() AS u_id
          FROM generate_series(1, $1::bigint) g) s
 CROSS JOIN LATERAL (VALUES
       (0, 'A', {_person("s.u_a")}, NULL),
       (1, 'R', CASE WHEN s.g % 10000 = 7 THEN 'person-rare' ELSE {_person("s.u_r")} END, NULL),
       (2, 'C', NULL, CASE WHEN s.u_c < 0.4 THEN {weighted("s.u_cd", DEPARTMENTS)} END),
       (3, 'I', NULL, CASE WHEN s.u_i < 0.3 THEN {weighted("s.u_id", DEPARTMENTS)} END)
 ) v (position, role, person_id, department_id)
 WHERE v.person_id IS NOT NULL OR v.department_id IS NOT NULL
"""


async def load_tasks(conn: Connection, rows: int) -> None:
    requests = request_count(rows)
    await conn.execute(DEPARTMENT_REPLICAS, ALL_DEPARTMENTS)
    await conn.execute(REQUEST_REPLICAS, requests + 2)
    await conn.execute(TASKS, rows, requests)
    await conn.execute(RACI, rows)


async def task_cases(conn: Connection, rows: int) -> list[Case]:
    requests = request_count(rows) + 2
    typical, single, empty = [
        await bench_id(conn, "r", k, requests) for k in (2, requests - 1, requests)
    ]
    page_of_requests = [await bench_id(conn, "r", k, requests) for k in range(2, 22)]
    parent, lone_parent, leaf = [await bench_id(conn, "t", n, rows) for n in (1, rows - 1, rows)]

    # CollabRequest.tasks and Task.children: the first page of each parent, one statement.
    def of_requests(ids: list[str]) -> Any:
        keys = [ChildPage(i, None, PAGE, False) for i in ids]
        return lambda c: tasks_repo.TASKS_OF_REQUESTS.fetch(c, keys)

    def of_parents(ids: list[str]) -> Any:
        keys = [ChildPage(i, None, PAGE, False) for i in ids]
        return lambda c: tasks_repo.CHILDREN_OF_TASKS.fetch(c, keys)

    def of_people(ids: list[str]) -> Any:  # as PMO, every role
        keys = [ChildPage(i, None, PAGE, False, (True, (), None)) for i in ids]
        return lambda c: tasks_repo.ASSIGNMENTS_OF_PEOPLE.fetch(c, keys)

    return [
        Case("request's tasks, one request", "common", of_requests([typical])),
        Case("request's tasks, 20 requests at once", "common", of_requests(page_of_requests)),
        Case("request's tasks, request with one task", "rare", of_requests([single])),
        Case("request's tasks, request with none", "none", of_requests([empty])),
        Case("task's children, parent of nine", "common", of_parents([parent])),
        Case("task's children, parent of one", "rare", of_parents([lone_parent])),
        Case("task's children, leaf", "none", of_parents([leaf])),
        Case("person's assignments, a regular", "common", of_people(["person-007"])),
        Case("person's assignments, newcomer", "rare", of_people(["person-rare"])),
        Case("person's assignments, head of dep-09", "rare", of_people(["head-09"])),
        Case("person's assignments, nobody's", "none", of_people(["person-none"])),
        Case("person's assignments, head of dep-10", "none", of_people(["head-10"])),
    ]


# --- requests -------------------------------------------------------------------------------

KINDS = [("PROJECT", 60), ("OPERATIONS", 30), ("RESOURCE_SHARING", 9.5), ("EMERGENCY", 0.5)]
REQUEST_OLD_STATUS = [
    ("CLOSED", 70),
    ("CANCELLED", 10),
    ("REJECTED", 5),
    ("ACTIVE", 14),
    ("IN_ACCEPTANCE", 1),
]
REQUEST_NEW_STATUS = [
    ("DRAFT", 15),
    ("SUBMITTED", 15),
    ("CHANGES_REQUESTED", 3),
    ("APPROVED", 10),
    ("ACTIVE", 50),
    ("IN_ACCEPTANCE", 7),
]

DIRECTORY = """
INSERT INTO regions (id, code, name, time_zone, calendar)
VALUES ('reg-1', 'R1', 'Region one', 'UTC', '{{}}');
INSERT INTO departments (id, code, name, region_id)
SELECT d, upper(d), 'Department ' || d, 'reg-1' FROM unnest(ARRAY['{departments}']) d;
"""

COLLAB_REQUESTS = f"""
INSERT INTO collab_requests (id, code, kind, title, status, phase, lead_department_id,
                             created_by, created_at, updated_at)
SELECT bench_id('q', g, $1), 'CR-B-' || g, {weighted("u_kind", KINDS)}, 'Request ' || g,
       CASE WHEN g > $1 * 0.9 THEN {weighted("u_status", REQUEST_NEW_STATUS)}
            ELSE {weighted("u_status", REQUEST_OLD_STATUS)} END,
       'EXECUTION', {weighted("u_lead", DEPARTMENTS)}, 'person-001', bench_at(g, $1),
       bench_at(g, $1)
  FROM (SELECT g, random() AS u_kind, random() AS u_status, random() AS u_lead
          FROM generate_series(1, $1::bigint) g) s
"""

# One or two other departments take part in each request.
PARTICIPANTS = f"""
INSERT INTO request_participants (request_id, department_id)
SELECT DISTINCT r.id, p
  FROM (SELECT g, {weighted("u1", DEPARTMENTS)} AS p1, {weighted("u2", DEPARTMENTS)} AS p2, u
          FROM (SELECT g, random() AS u1, random() AS u2, random() AS u
                  FROM generate_series(1, $1::bigint) g) x) s
  JOIN collab_requests r ON r.id = bench_id('q', s.g, $1)
 CROSS JOIN LATERAL unnest(CASE WHEN s.u < 0.5 THEN ARRAY[s.p1] ELSE ARRAY[s.p1, s.p2] END) p
 WHERE p <> r.lead_department_id
"""


async def load_requests(conn: Connection, rows: int) -> None:
    await conn.execute(DIRECTORY.format(departments="','".join(ALL_DEPARTMENTS)))
    await conn.execute(COLLAB_REQUESTS, rows)
    await conn.execute(PARTICIPANTS, rows)


async def request_cases(conn: Connection, rows: int) -> list[Case]:
    middle = await bench_id(conn, "q", rows // 2, rows)
    emergency, project = RequestKind.EMERGENCY, RequestKind.PROJECT
    changes, active, draft = (
        RequestStatus.CHANGES_REQUESTED,
        RequestStatus.ACTIVE,
        RequestStatus.DRAFT,
    )

    def page(
        departments: Sequence[str] = (),
        after: str | None = None,
        kind: RequestKind | None = None,
        status: RequestStatus | None = None,
    ) -> Any:
        async def call(c: Connection) -> Sized:
            return await requests_repo.list_requests(
                c,
                sees_all=not departments,
                departments=departments,
                chosen=requests_repo.RequestListFilter(kind=kind, status=status),
                after=None if after is None else [after],
                limit=PAGE,
            )

        return call

    head, nobody, big = SMALL_HEAD, (EMPTY_DEPARTMENT,), ("dep-00",)
    return [
        Case("no filter", "common", page()),
        Case("kind PROJECT", "common", page(kind=project)),
        Case("kind EMERGENCY", "rare", page(kind=emergency)),
        Case("status ACTIVE", "common", page(status=active)),
        Case("status CLOSED (all old)", "common", page(status=RequestStatus.CLOSED)),
        Case("status CHANGES_REQUESTED", "rare", page(status=changes)),
        Case("status DRAFT, page after the middle", "none", page(after=middle, status=draft)),
        Case(
            "kind EMERGENCY + status CHANGES_REQUESTED",
            "rare",
            page(kind=emergency, status=changes),
        ),
        Case("dept dep-00: no filter", "common", page(big)),
        Case("dept dep-00: status CLOSED", "common", page(big, status=RequestStatus.CLOSED)),
        Case("dept dep-08,09: no filter", "common", page(head)),
        Case("dept dep-08,09: kind EMERGENCY", "rare", page(head, kind=emergency)),
        Case("dept dep-08,09: status CHANGES_REQUESTED", "rare", page(head, status=changes)),
        Case("dept dep-10 (sees nothing): no filter", "none", page(nobody)),
        Case("dept dep-10: status ACTIVE", "none", page(nobody, status=active)),
    ]


# --- services -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Service:
    name: str
    migrations: list[Path]
    load: Callable[[Connection, int], Awaitable[None]]
    cases: Callable[[Connection, int], Awaitable[list[Case]]]
    statements: tuple[str, ...]
    """The loading SQL, so that a kept database loaded by other statements is not reused."""


SERVICES = {
    "issues": Service(
        "issues",
        ISSUES_MIGRATIONS,
        load_issues,
        issue_cases,
        (DEPARTMENT_REPLICAS, REQUEST_REPLICAS, ISSUES),
    ),
    "tasks": Service(
        "tasks",
        TASKS_MIGRATIONS,
        load_tasks,
        task_cases,
        (DEPARTMENT_REPLICAS, REQUEST_REPLICAS, TASKS, RACI),
    ),
    "requests": Service(
        "requests",
        REQUESTS_MIGRATIONS,
        load_requests,
        request_cases,
        (DIRECTORY, COLLAB_REQUESTS, PARTICIPANTS),
    ),
}


# --- measuring ------------------------------------------------------------------------------


@dataclass
class Result:
    service: str
    case: str
    match: str
    size: int
    rows: int
    p50: float
    p99: float
    samples: int
    plan: str
    generic_plans: int = 0
    statements: list[str] = field(default_factory=list)


def summarise_plan(plan: dict[str, Any]) -> str:
    """The top node, then each scan below it with its index: what an operator looks for."""
    scans: list[str] = []

    def walk(node: dict[str, Any]) -> None:
        target = node.get("Index Name") or node.get("Relation Name")
        if target:
            backward = " Backward" if node.get("Scan Direction") == "Backward" else ""
            scans.append(f"{node['Node Type']}{backward} {target}")
        for child in node.get("Plans", []):
            walk(child)

    walk(plan)
    return f"{plan['Node Type']}: {'; '.join(dict.fromkeys(scans))}"


@dataclass(frozen=True)
class Sent:
    """A statement a repository function ran, with its parameters."""

    query: str
    args: tuple[Any, ...]


async def explain(conn: Connection, sent: Sent) -> str:
    """The plan the server makes for the statement with these very parameters."""
    text = await conn.fetchval(f"EXPLAIN (FORMAT JSON) {sent.query}", *sent.args)
    return summarise_plan(json.loads(text)[0]["Plan"])


async def generic_plans(conn: Connection, statement: str) -> int:
    """How often the server used the cached generic plan of ``statement`` on this connection."""
    used = await conn.fetchval(
        "SELECT coalesce(sum(generic_plans), 0) FROM pg_prepared_statements WHERE statement = $1",
        statement,
    )
    return int(used)


def count_rows(result: Sized) -> int:
    """Rows of a page (a list) or of a loader's batch (a dict of lists or of pages)."""
    if not isinstance(result, dict):
        return len(result)
    return sum(
        len(v.rows) if isinstance(v, ChildRows) else len(v) if isinstance(v, list) else 1
        for v in result.values()
    )


async def record_statements(conn: Connection, call: Callable[[], Awaitable[Sized]]) -> Any:
    """Run ``call`` once, returning its result and the statements it sent."""
    sent: list[Sent] = []

    def logged(query: LoggedQuery) -> None:
        sent.append(Sent(query.query, tuple(query.args)))

    conn.add_query_logger(logged)
    try:
        result = await call()
        await asyncio.sleep(0)  # asyncpg calls query loggers soon after, not during
    finally:
        conn.remove_query_logger(logged)
    return result, sent


ROUNDS = 5
"""Each case's samples are taken in this many rounds, the sizes in turn, so that a change in
the machine's load during the run weighs on every size alike."""


async def sample(
    call: Callable[[], Awaitable[Sized]], iterations: int, budget: float
) -> list[float]:
    """Milliseconds per call: ``iterations`` of them, or fewer (one at least) if slow."""
    samples: list[float] = []
    deadline = time.perf_counter() + budget
    while len(samples) < iterations and (not samples or time.perf_counter() < deadline):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


@dataclass
class Scratch:
    """One scratch database of one size, loaded, with the connection the cases run on."""

    name: str
    size: int
    pool: asyncpg.Pool
    conn: PoolConnectionProxy[asyncpg.Record]
    cases: list[Case] = field(default_factory=list)


async def measure_case(
    service: str, scratches: list[Scratch], index: int, iterations: int, budget: float
) -> list[Result]:
    """Time case ``index`` at every size, in rounds, and explain its statement at each."""
    calls = [functools.partial(s.cases[index].call, s.conn) for s in scratches]
    first = [
        await record_statements(s.conn, call) for s, call in zip(scratches, calls, strict=True)
    ]
    for call in calls:
        for _ in range(4):  # with the first call, the five custom plans a statement starts with
            await call()
    samples: list[list[float]] = [[] for _ in scratches]
    for _ in range(ROUNDS):
        for taken, call in zip(samples, calls, strict=True):
            taken += await sample(call, iterations // ROUNDS, budget / ROUNDS)
    case = scratches[0].cases[index]
    return [
        await result(service, case, scratch, rows, sent, sorted(taken))
        for scratch, (rows, sent), taken in zip(scratches, first, samples, strict=True)
    ]


async def result(
    service: str,
    case: Case,
    scratch: Scratch,
    rows: Sized,
    sent: list[Sent],
    samples: list[float],
) -> Result:
    statements = [q.query for q in sent]
    return Result(
        service=service,
        case=case.name,
        match=case.match,
        size=scratch.size,
        rows=count_rows(rows),
        p50=statistics.median(samples),
        p99=samples[min(len(samples) - 1, round(len(samples) * 0.99))],
        samples=len(samples),
        plan=await explain(scratch.conn, sent[-1]),
        generic_plans=sum([await generic_plans(scratch.conn, s) for s in statements]),
        statements=statements,
    )


# --- scratch databases ----------------------------------------------------------------------


def database_url(server: str, name: str) -> str:
    return urlunsplit(urlsplit(server)._replace(path=f"/{name}"))


async def drop_database(server: str, name: str) -> None:
    conn = await asyncpg.connect(database_url(server, "postgres"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def loaded_fingerprint(server: str, name: str) -> str | None:
    """What a kept scratch database was loaded with, if it exists and finished loading."""
    try:
        conn = await asyncpg.connect(database_url(server, name))
    except asyncpg.InvalidCatalogNameError:
        return None
    try:
        value: str | None = await conn.fetchval("SELECT fingerprint FROM bench_loaded")
    except asyncpg.UndefinedTableError:
        value = None
    finally:
        await conn.close()
    return value


def fingerprint(service: Service, size: int) -> str:
    """Changes whenever the data would: another size or another loading statement."""
    text = "\n".join([ID_FUNCTIONS, *service.statements, str(size)])
    return hashlib.sha256(text.encode()).hexdigest()


async def open_scratch(server: str, service: Service, size: int) -> Scratch:
    """The service's scratch database of ``size`` rows, migrated as the service would.

    A database kept by an earlier ``--keep`` run with the same data is reused: only the
    migrations added since then run, on the loaded rows, as they would in production.
    """
    name = f"liaison_bench_{service.name}_{size_label(size).lower()}"
    wanted = fingerprint(service, size)
    reused = await loaded_fingerprint(server, name) == wanted
    if not reused:
        await drop_database(server, name)
    started = time.perf_counter()
    pool = await prepare_database(
        database_url(server, name), [SHARED_MIGRATIONS, *service.migrations], max_size=1
    )
    conn = await pool.acquire()
    if not reused:
        await conn.execute(ID_FUNCTIONS)
        await conn.execute("SELECT setseed(0.42)")  # the same data on every run
        await service.load(conn, size)
        await conn.execute(f"CREATE TABLE bench_loaded AS SELECT '{wanted}'::text AS fingerprint")
    await conn.execute("VACUUM (ANALYZE)")
    how = "reused" if reused else "loaded"
    print(f"{name}: {size:,} rows {how} in {time.perf_counter() - started:.0f} s", flush=True)
    scratch = Scratch(name, size, pool, conn)
    scratch.cases = await service.cases(conn, size)
    return scratch


async def close_scratch(server: str, scratch: Scratch, keep: bool) -> None:
    await scratch.pool.release(scratch.conn)
    await scratch.pool.close()
    if not keep:
        await drop_database(server, scratch.name)


async def bench_service(args: argparse.Namespace, service: Service) -> list[Result]:
    """Load a scratch database per size, then time each case at every size."""
    scratches: list[Scratch] = []
    try:
        for size in args.rows:
            scratches.append(await open_scratch(args.server, service, size))
        results: list[Result] = []
        for index in range(len(scratches[0].cases)):
            results += await measure_case(
                service.name, scratches, index, args.iterations, args.budget
            )
        return results
    finally:
        for scratch in scratches:
            await close_scratch(args.server, scratch, args.keep)


# --- report ---------------------------------------------------------------------------------


def size_label(size: int) -> str:
    if size % 1_000_000 == 0:
        return f"{size // 1_000_000}M"
    return f"{size // 1000}k" if size % 1000 == 0 else str(size)


def report(results: list[Result], sizes: Sequence[int]) -> str:
    """One Markdown table per service: p50 and p99 at each size, the ratio, the largest plan."""
    first, last = sizes[0], sizes[-1]
    lines: list[str] = []
    by_key = {(r.service, r.case, r.size): r for r in results}
    for service in dict.fromkeys(r.service for r in results):
        header = ["case", "match"]
        for s in sizes:
            header += [f"rows {size_label(s)}", f"p50 {size_label(s)}", f"p99 {size_label(s)}"]
        header += [f"{size_label(last)}/{size_label(first)}", f"plan at {size_label(last)}"]
        lines += [f"\n### {service}\n", "| " + " | ".join(header) + " |"]
        lines.append("|" + "---|" * len(header))
        for case in dict.fromkeys(r.case for r in results if r.service == service):
            lines.append(_row(by_key, service, case, sizes))
    return "\n".join(lines)


def _row(
    by_key: dict[tuple[str, str, int], Result], service: str, case: str, sizes: Sequence[int]
) -> str:
    measured = [by_key[(service, case, s)] for s in sizes]
    cells = [case, measured[0].match]
    for r in measured:
        cells += [str(r.rows), f"{r.p50:.2f}", f"{r.p99:.2f}"]
    cells.append(f"{measured[-1].p50 / measured[0].p50:.2f}")
    generic = " (generic plan)" if measured[-1].generic_plans else ""
    cells.append(f"`{measured[-1].plan}`{generic}")
    return "| " + " | ".join(cells) + " |"


async def main(args: argparse.Namespace) -> None:
    results: list[Result] = []
    # The machine may be shared: say how busy it was, since that moves every number.
    print("load average at start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    for name in args.services:
        results += await bench_service(args, SERVICES[name])
    print("load average at end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    print(report(results, args.rows))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=1))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--rows", type=int, nargs="+", default=[10_000, 1_000_000], help="table sizes"
    )
    parser.add_argument("--services", nargs="+", choices=list(SERVICES), default=list(SERVICES))
    parser.add_argument("--iterations", type=int, default=200, help="timed calls per case at most")
    parser.add_argument("--budget", type=float, default=2.0, help="seconds per case, roughly")
    parser.add_argument(
        "--server",
        default=os.environ.get(
            "LIAISON_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="PostgreSQL server URL (default: LIAISON_DATABASE_URL)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch databases")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
