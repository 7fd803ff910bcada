"""Both read paths of the issues subgraph answer alike: ``issues`` (every filter, every page),
``issue(id)`` with its SLA clocks and timeline, and the ``Issue``, ``Task`` and
``CollabRequest`` entities with their issues, for every issue query of the test suite and
generated selections, as callers who see issues in each of the ways there are (see
test_differential.py); and what is compiled stays compiled."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from services.issues import repository
from services.issues.models import IssueAction
from services.issues.repository import add_timeline
from services.issues.schema import create_schema
from shared.graphql.view import EXECUTION_HEADER
from tests.compiled.compare import Paths, both, both_paths, suite_both_ways
from tests.compiled.operations import Operation, Selections
from tests.issues.helpers import LI, PMO, ZHAO, report, seed_directory, seed_request
from tests.support import Caller, SubgraphClient

SUN = Caller("sun", departments=("rd",))
"""Reported the issues of R&D, which takes part in cr1 and is responsible for one of them."""
OPS = Caller("ops-engineer", departments=("ops",))
"""Berlin operations, on no request: sees only the issues it was made responsible for."""
BOTH = Caller("lawyer-ops", departments=("legal", "ops"))
"""Two departments, seeing one issue in three ways (lead, responsible, its request)."""
NOBODY = Caller("nobody", departments=())
"""A member of no department: sees nothing."""
CALLERS = (PMO, LI, SUN, OPS, ZHAO, BOTH, NOBODY)
"""Sees everything; leads cr1; reporter and responsible; responsible from outside the
request; outsider to cr1 but lead of cr2; several ways at once; nothing."""
SEED = 20261206
GENERATED = 40

ISSUE_FIELDS = """
  id code title description impact severity urgent status attemptedMeasures plan resolution
  escalationLevel sourceProblemId createdAt updatedAt
  reporter { id } reportingDepartment { id } region { id } leadDepartment { id }
  responsibleDepartment { id } owner { id } request { id } task { id }
  slaClocks { metric targetMinutes calendar startedAt dueAt pausedMinutes pausedAt metAt
              breachedAt state region { id } }
"""
TIMELINE = """
  timeline(first: $steps, after: $step) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { at action fromStatus toStatus note actor { id } } }
  }
"""

ISSUES_PAGE = f"""
query Page($filter: IssueFilter, $first: Int!, $after: String, $steps: Int!, $step: String) {{
  issues(filter: $filter, first: $first, after: $after) {{
    totalCount pageInfo {{ hasNextPage endCursor }}
    edges {{ cursor node {{ {ISSUE_FIELDS} {TIMELINE} }} }}
  }}
}}
"""
ONE_ISSUE = f"""
query One($id: ID!, $steps: Int!, $step: String) {{
  issue(id: $id) {{ {ISSUE_FIELDS} {TIMELINE} }}
}}
"""
NESTED_ISSUES = f"""
  issues(first: $first, after: $after) {{
    totalCount pageInfo {{ hasNextPage endCursor }}
    edges {{ cursor node {{ {ISSUE_FIELDS} {TIMELINE} }} }}
  }}
"""
ENTITIES = f"""
query Entities($reps: [_Any!]!, $first: Int!, $after: String, $steps: Int!, $step: String) {{
  _entities(representations: $reps) {{
    __typename
    ... on Issue {{ {ISSUE_FIELDS} {TIMELINE} }}
    ... on Task {{ id {NESTED_ISSUES} }}
    ... on CollabRequest {{ id {NESTED_ISSUES} }}
  }}
}}
"""

FILTERS: tuple[dict[str, Any] | None, ...] = (
    None,
    {},
    {"statuses": []},
    {"statuses": ["REPORTED"]},
    {"statuses": ["WAITING", "REPORTED", "WAITING", "ARCHIVED"]},
    {"urgent": True},
    {"urgent": False, "statuses": ["REPORTED", "IN_PROGRESS"]},
    {"requestId": "cr1"},
    {"requestId": "cr2", "statuses": ["REPORTED"]},
    {"requestId": "nowhere"},
    {"responsibleDepartmentId": "ops"},
    {"responsibleDepartmentId": "rd", "requestId": "cr1", "urgent": False},
)
"""Each condition of IssueFilter, alone and together; several statuses are branches."""


async def add_steps(api: SubgraphClient, issue_id: str, count: int) -> None:
    async with api.runtime.pool.acquire() as conn:
        for n in range(count):
            await add_timeline(
                conn,
                issue_id,
                datetime.now(UTC),
                IssueAction.SLA_WARNING,
                actor_id=None,
                note=f'warning {n}: "50%" 提醒',
            )


async def move(api: SubgraphClient, caller: Caller, name: str, **input_: Any) -> None:
    inputs = {
        "acknowledgeIssue": "AcknowledgeIssueInput",
        "proposePlan": "ProposePlanInput",
        "startWork": "IssueMoveInput",
        "waitForReporter": "IssueMoveInput",
        "reassignIssue": "ReassignIssueInput",
    }
    mutation = (
        f"mutation($input: {inputs[name]}!) {{ {name}(input: $input) {{ userErrors {{ code }} }} }}"
    )
    data = await api.execute(mutation, {"input": input_}, caller=caller)
    assert data[name]["userErrors"] == [], (name, data)


@pytest.fixture
async def paths(issues_api: SubgraphClient) -> AsyncIterator[Paths]:
    api = issues_api
    await seed_request(api, "cr1")  # lead mkt, participant rd
    await seed_directory(api)  # Shanghai and Berlin calendars: business-hours clocks
    await seed_request(api, "cr2", lead="legal", participants=())
    # Reported by R&D on t1, acknowledged, planned (PLAN met), started, then on hold.
    held = await report(api, caller=SUN, taskId="t1", title="Customs hold")
    await move(api, LI, "acknowledgeIssue", issueId=held["id"], responsibleDepartmentId="rd")
    await move(api, SUN, "proposePlan", issueId=held["id"], plan="re-file the papers")
    await move(api, SUN, "startWork", issueId=held["id"])
    await move(api, SUN, "waitForReporter", issueId=held["id"], comment="which broker?")
    await add_steps(api, held["id"], 4)
    # Urgent (24x7 clocks, no region), led by R&D as the reporter chose.
    await report(api, caller=LI, urgent=True, leadDepartmentId="rd", description="")
    # Handed to Berlin operations, which takes no part in cr1.
    handed = await report(api, caller=LI, severity="CRITICAL")
    await move(api, LI, "reassignIssue", issueId=handed["id"], responsibleDepartmentId="ops")
    # On cr2 (legal), also naming t1, handed to ops as well; then its RESPONSE clock breached.
    other = await report(api, caller=ZHAO, requestId="cr2", taskId="t1", severity="LOW")
    await move(api, ZHAO, "reassignIssue", issueId=other["id"], responsibleDepartmentId="ops")
    await api.runtime.pool.execute(
        "UPDATE sla_clocks SET state = 'BREACHED', breached_at = now() - interval '3 minutes'"
        " WHERE issue_id = $1 AND metric = 'RESPONSE'",
        other["id"],
    )
    for _ in range(3):
        await report(api, caller=SUN)
    sample = {"ID": held["id"], "id": held["id"], "Int": 3, "String": "x", "Boolean": True}
    async with both_paths("issues", api, sample) as found:
        yield found


async def issue_ids(paths: Paths) -> list[str]:
    rows = await paths.compiled.runtime.pool.fetch("SELECT id FROM issues ORDER BY id")
    return [r["id"] for r in rows]


async def walk(
    paths: Paths,
    query: str,
    variables: dict[str, Any],
    caller: Caller,
    path: tuple[str | int, ...],
    cursor: str = "after",
    compiled: bool = True,
) -> int:
    """Every page of the connection at ``path`` in ``data``, the variable ``cursor`` taking
    each ``endCursor``: each page compared both ways and served compiled (or, ``compiled``
    false, by Strawberry); how many pages."""
    operation_name = query.split()[1].split("(")[0]
    pages, after = 0, None
    while True:
        page = {**variables, cursor: after}
        operation = Operation(query, operation_name, page, f"{path} page {pages}")
        served = await both(paths, operation, caller)
        assert served == compiled, (operation.origin, page, caller)
        data: Any = await paths.compiled.execute(query, page, caller=caller)
        for step in path:
            data = data[step]
            if data is None:
                return pages + 1
        pages += 1
        if not data["pageInfo"]["hasNextPage"]:
            return pages
        after = data["pageInfo"]["endCursor"]


async def test_every_issue_query_of_the_suite_answers_the_same_both_ways(paths: Paths) -> None:
    schema = create_schema(paths.compiled.runtime.settings)._schema
    operations, served = await suite_both_ways(paths, schema, CALLERS)
    assert len(operations) > 20, len(operations)
    # Not vacuous: the suite's list, detail and timeline queries are compiled (those selecting
    # remainingMinutes are not: it is counted in Python on the region's calendar).
    of_issues = {query for query in served if "issue" in query}
    assert len(of_issues) >= 7, of_issues


@pytest.mark.parametrize("filter_", FILTERS)
async def test_every_page_of_every_filter_answers_the_same_both_ways(
    paths: Paths, filter_: dict[str, Any] | None
) -> None:
    variables = {"filter": filter_, "first": 2, "steps": 2, "step": None}
    for caller in CALLERS:
        await walk(paths, ISSUES_PAGE, variables, caller, ("issues",))


async def test_a_department_on_very_many_requests_pages_the_same_both_ways(
    paths: Paths,
) -> None:
    """Past _FEW_REQUESTS requests taken part in, the list finds a department's issues by a
    walk of the newest (the other branch of the page's one-time filter); both paths agree."""
    api = paths.compiled
    await api.runtime.pool.execute(
        "INSERT INTO request_replicas (id, code, title, status, lead_department_id,"
        " participant_department_ids)"
        " SELECT 'many-' || n, 'CR-2026-M' || n, 'Regional audit', 'ACTIVE', 'mkt', '{legal}'"
        " FROM generate_series(1, $1) n",
        repository._FEW_REQUESTS + 1,
    )
    for n in (1, 500, 1001):
        await report(paths.python, caller=LI, requestId=f"many-{n}", title=f"Audit gap {n}")
    variables = {"filter": None, "first": 2, "steps": 1, "step": None}
    # cr2's issue and the three audits, two a page
    assert await walk(paths, ISSUES_PAGE, variables, ZHAO, ("issues",)) == 2
    urgent = {**variables, "filter": {"urgent": False, "statuses": ["REPORTED"]}}
    await walk(paths, ISSUES_PAGE, urgent, ZHAO, ("issues",))


async def test_issue_timelines_page_the_same_both_ways(paths: Paths) -> None:
    pages = []
    for issue_id in [*await issue_ids(paths), "missing"]:
        for caller in CALLERS:
            variables = {"id": issue_id, "steps": 2}
            path = ("issue", "timeline")
            pages.append(await walk(paths, ONE_ISSUE, variables, caller, path, cursor="step"))
    longest = await paths.compiled.runtime.pool.fetchval(
        "SELECT max(n) FROM (SELECT count(*) AS n FROM issue_timeline GROUP BY issue_id) t"
    )
    assert longest >= 9
    assert max(pages) == (longest + 1) // 2, (longest, pages)  # 2 a page


async def test_entities_and_their_issues_answer_the_same_both_ways(paths: Paths) -> None:
    """The gateway's ``_entities`` calls: issues each caller may and may not see, one that
    does not exist, the tasks and requests whose ``issues`` this subgraph adds (t1 has issues
    on two requests; cr2's are seen by its departments only), in the order given."""
    ids = await issue_ids(paths)
    representations = [
        *({"__typename": "Issue", "id": i} for i in ids),
        {"__typename": "Issue", "id": "01a00000-0000-7000-8000-000000000000"},
        {"__typename": "Task", "id": "t1"},
        {"__typename": "CollabRequest", "id": "cr1"},
        {"__typename": "Task", "id": "t-none"},
        {"__typename": "CollabRequest", "id": "cr2"},
        {"__typename": "CollabRequest", "id": "unknown"},
        {"__typename": "Issue", "id": ids[0]},
    ]
    for caller in CALLERS:
        variables = {"reps": representations, "first": 2, "after": None, "steps": 1, "step": None}
        operation = Operation(ENTITIES, "Entities", variables, "entities")
        assert await both(paths, operation, caller), caller
        for typename, key in (("Task", "t1"), ("CollabRequest", "cr1"), ("CollabRequest", "cr2")):
            one = {**variables, "reps": [{"__typename": typename, "id": key}]}
            await walk(paths, ENTITIES, one, caller, ("_entities", 0, "issues"))


async def test_generated_selections_answer_the_same_both_ways(paths: Paths) -> None:
    schema = create_schema(paths.compiled.runtime.settings)._schema
    selections = Selections(schema, SEED)
    ids = await issue_ids(paths)
    representations = [
        *({"__typename": "Issue", "id": i} for i in [*ids, "missing"]),
        {"__typename": "Task", "id": "t1"},
        {"__typename": "CollabRequest", "id": "cr2"},
    ]
    arguments = [
        "(first: 3)",
        "(first: 2, filter: { statuses: [REPORTED, WAITING] })",
        '(first: 4, filter: { requestId: "cr1", urgent: false })',
        '(filter: { responsibleDepartmentId: "ops" })',
    ]
    served = 0
    for number in range(GENERATED):
        flag = number % 2 == 0
        queries: list[tuple[str, dict[str, Any]]] = [
            (selections.operation("issues", arguments[number % 4]), {"flag": flag}),
            (selections.operation("issue", f'(id: "{ids[number % len(ids)]}")'), {"flag": flag}),
            (
                selections.entities(["Issue", "Task", "CollabRequest"]),
                {"flag": flag, "representations": representations[number % 3 :]},
            ),
        ]
        for query, variables in queries:
            operation = Operation(query, "Generated", variables, f"generated #{number}")
            for caller in CALLERS[number % 2 :: 2]:
                served += await both(paths, operation, caller)
    assert served >= GENERATED, served


COMPILED: dict[str, tuple[str, dict[str, Any]]] = {
    "the list with everything but remainingMinutes": (
        ISSUES_PAGE,
        {"filter": {"statuses": ["REPORTED", "WAITING"]}, "first": 2, "steps": 3},
    ),
    "one issue": (ONE_ISSUE, {"id": "<issue>", "steps": 5}),
    "entities": (ENTITIES, {"reps": "<representations>", "first": 5, "steps": 2}),
    "the suite's plain list": ("{ issues { edges { node { id } } } }", {}),
}


@pytest.mark.parametrize("name", list(COMPILED))
async def test_what_is_compiled_stays_compiled(paths: Paths, name: str) -> None:
    """A field that gains a Python resolver without SQL would send these back to Strawberry:
    this names them, so such a regression is seen, not only slower."""
    query, variables = COMPILED[name]
    first = (await issue_ids(paths))[0]
    representations = [
        {"__typename": "Issue", "id": first},
        {"__typename": "Task", "id": "t1"},
        {"__typename": "CollabRequest", "id": "cr1"},
    ]
    filled = {"<issue>": first, "<representations>": representations}
    variables = {k: filled.get(v, v) if isinstance(v, str) else v for k, v in variables.items()}
    for caller in (PMO, SUN, NOBODY):
        headers = await paths.compiled.headers(caller)
        body = {"query": query, "variables": variables}
        response = await paths.compiled.http.post("/graphql", json=body, headers=headers)
        assert response.status_code == 200, response.text
        assert "errors" not in response.json(), response.text
        assert response.headers.get(EXECUTION_HEADER) == "compiled", (name, caller)


async def test_remaining_minutes_is_answered_by_python(paths: Paths) -> None:
    """``remainingMinutes`` counts working minutes on the region's calendar (holidays,
    make-up days) in Python, so a selection of it is Strawberry's, and still the same."""
    query = "query($id: ID!) { issue(id: $id) { slaClocks { metric remainingMinutes } } }"
    ids = await issue_ids(paths)
    operation = Operation(query, None, {"id": ids[0]}, "remainingMinutes")
    assert not await both(paths, operation, PMO)
