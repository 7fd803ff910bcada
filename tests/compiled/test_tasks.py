"""Both read paths of the tasks subgraph answer alike: ``task(id)``, ``raciMatrix`` and the
``Task``, ``CollabRequest`` and ``Person`` entities with their nested pages (a request's
tasks, progress reports and recurring series, a task's subtasks, a series' instances, a
matrix's rows and gaps), the request's visibility judged on the local copy, for every task
query of the test suite, fixed gateway-like queries followed page after page, and generated
selections (see test_differential.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.tasks.schema import create_schema
from tests.compiled.compare import Paths, both, both_paths, suite_both_ways
from tests.compiled.operations import Operation, Selections
from tests.support import Caller, SubgraphClient
from tests.tasks.helpers import LI, PMO, WANG, ZHAO, create_task, in_days, seed_request, seeded
from tests.tasks.test_recurring import THIRD_BUSINESS_DAY, create_series
from tests.tasks.test_reports import submit

CALLERS = (PMO, LI, WANG, ZHAO)
"""Sees everything; leads req-1; takes part in req-1; takes part in neither request."""
SEED = 20261205
GENERATED = 40
MISSING = "01a00000-0000-7000-8000-000000000000"


@pytest.fixture
async def paths(tasks_api: SubgraphClient) -> AsyncIterator[Paths]:
    api = await seeded(tasks_api)
    await seed_request(api.runtime, "req-2", participants=("eu",))
    first = await create_task(api, title="Prepare launch materials")
    department_work = [
        {"role": "A", "personId": "li"},
        {"role": "R", "departmentId": "rd"},
        {"role": "I", "personId": "sun", "departmentId": "rd"},
    ]
    brief = await create_task(
        api, title="Overdue brief", dueAt=in_days(-2), parentId=first["id"], raci=department_work
    )
    venue = await create_task(api, title="Book the venue", dependsOn=[first["id"]])
    dropped = await create_task(
        api, title="Dropped", raci=[{"role": "A", "personId": "zhao"}, *department_work[1:]]
    )
    await api.runtime.pool.execute(
        "UPDATE tasks SET status = 'CANCELLED' WHERE id = $1", dropped["id"]
    )
    await api.runtime.pool.execute(  # gaps: no R, no A, eu holds no role in req-1
        "DELETE FROM raci_assignments WHERE (task_id = $1 AND role = 'R')"
        " OR (task_id = $2 AND role = 'A') OR department_id = 'eu'",
        venue["id"],
        brief["id"],
    )
    eu_only = [{"role": "A", "personId": "hans"}, {"role": "R", "personId": "wang"}]
    await create_task(
        api, requestId="req-2", title="EU only", dueAt=None, isMilestone=True, raci=eu_only
    )
    assert (await submit(api, first["id"]))["userErrors"] == []
    weekly = "FREQ=WEEKLY;BYDAY=FR;BYHOUR=18;BYMINUTE=0"  # a few pages of instances
    for title, rule in (("Close the week", weekly), ("Count the stock", THIRD_BUSINESS_DAY)):
        series = await create_series(api, requestId="req-2", title=title, rrule=rule)
        assert series["userErrors"] == []
    sample = {"ID": first["id"], "id": first["id"], "Int": 3, "String": "x", "Boolean": True}
    async with both_paths("tasks", api, sample) as found:
        yield found


async def test_every_task_query_of_the_suite_answers_the_same_both_ways(paths: Paths) -> None:
    schema = create_schema(paths.compiled.runtime.settings)._schema
    operations, served = await suite_both_ways(paths, schema, CALLERS)
    assert len(operations) > 10
    assert len(served) >= 3, served


TASK_FIELDS = (
    "id title status progress dueAt isOverdue isMilestone parent { id title } request { id }"
    " raci { role person { id } department { id } } dependsOn { id title }"
    " children(first: 1) { totalCount pageInfo { hasNextPage endCursor } edges { cursor"
    " node { id title } } }"
)


def page(node: str) -> str:
    """The selection of a connection: everything of its pages, ``node`` of its nodes."""
    return "totalCount pageInfo { hasNextPage endCursor } edges { cursor node { " + node + " } }"


REPORT_FIELDS = (
    "id department { id } periodStart periodEnd submittedAt submittedBy { id } request { id }"
)
ENTITIES = (
    "query Entities($representations: [_Any!]!, $first: Int!, $after: String) {"
    " _entities(representations: $representations) { __typename ... on CollabRequest { id"
    " tasks(first: $first, after: $after) { " + page(TASK_FIELDS) + " }"
    " progressReports(first: 2) { " + page(REPORT_FIELDS) + " } }"
    " ... on Person { id } ... on Task { id title request { id } } } }"
)
MATRIX = (
    "query Matrix($r: ID!, $first: Int!, $after: String) { raciMatrix(requestId: $r) {"
    " request { id } columns { key kind person { id } department { id } }"
    " rows(first: $first, after: $after) { "
    + page("task { id title status raci { role } } cells { column letters }")
    + " } } }"
)
PROBLEMS = (
    "query Problems($r: ID!, $first: Int!, $after: String) { raciMatrix(requestId: $r) {"
    " problems(first: $first, after: $after) {"
    + page("code message task { id title } department { id }")
    + " } } }"
)
SERIES_FIELDS = (
    "id title description rrule region { id } accountable { id } consolidationTitle"
    " consolidationDepartment { id } consolidationBusinessDays"
    " regions { region { id } departments { id } }"
)
SERIES = (
    "query Series($representations: [_Any!]!, $first: Int!, $after: String) {"
    " _entities(representations: $representations) { ... on CollabRequest { id"
    " recurringTasks(first: 1) { "
    + page(SERIES_FIELDS + " instances(first: $first, after: $after) { " + page("id dueAt") + " }")
    + " } } } }"
)
TASK = "query Task($id: ID!) { task(id: $id) { " + TASK_FIELDS + " } }"
VIEWS = (
    # CollabRequest.raciMatrix reads the caller's visibility in its to-one relation;
    # Person.assignments has a `role` argument besides first/after.
    "query Views($representations: [_Any!]!) { _entities(representations:"
    " $representations) { ... on CollabRequest { id raciMatrix { columns { key }"
    " rows(first: 5) { edges { node { cells { letters } } } } } }"
    " ... on Person { id assignments(first: 2) { totalCount pageInfo { hasNextPage }"
    " edges { node { role task { id title } } } }"
    " r: assignments(role: R, first: 5) { totalCount edges { node { task { id } } } } } } }"
)
ASSIGNMENTS = (
    "query Held($representations: [_Any!]!, $first: Int!, $after: String, $role: RaciRole) {"
    " _entities(representations: $representations) { ... on Person { id"
    " assignments(role: $role, first: $first, after: $after) { totalCount"
    " pageInfo { hasNextPage endCursor } edges { cursor node { role task { id title } } } } } } }"
)
PYTHON_ONLY = (
    # A series' start is a wall-clock time without an offset, which SQL does not write.
    "query Starts($representations: [_Any!]!) { _entities(representations: $representations)"
    " { ... on CollabRequest { recurringTasks(first: 2) { edges { node { startsAt } } } } } }"
)


def representations(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"__typename": typename, "id": key} for typename, key in pairs]


def paged(data: dict[str, Any]) -> dict[str, Any] | None:
    """The connection a fixed query pages with ``$after``: a matrix's rows or gaps, the first
    entity's tasks or assignments, or the instances of its first series."""
    found = data.get("raciMatrix") or (data.get("_entities") or [None])[0] or {}
    if "recurringTasks" in found:
        series = found["recurringTasks"]["edges"]
        found = series[0]["node"] if series else {}
    for name in ("rows", "problems", "tasks", "instances", "assignments"):
        if found.get(name):
            connection: dict[str, Any] = found[name]
            return connection
    return None


async def every_page(paths: Paths, query: str, variables: dict[str, Any], caller: Caller) -> int:
    """Run ``query`` from its first page (``first: 2``) to its last, following the
    ``endCursor`` of the connection it pages (see :func:`paged`) both ways; each page must
    be served compiled. How many pages there were."""
    after, name = None, query.split()[1].split("(")[0]
    for count in range(1, 11):
        operation = Operation(query, name, {**variables, "first": 2, "after": after}, name)
        assert await both(paths, operation, caller), (name, variables, after, caller)
        data = await paths.python.execute(query, operation.variables, caller=caller)
        connection = paged(data)
        if not connection or not connection["pageInfo"]["hasNextPage"]:
            return count
        after = connection["pageInfo"]["endCursor"]
    raise AssertionError(f"{name} has more than 10 pages")


async def test_fixed_views_answer_the_same_and_are_served_compiled(paths: Paths) -> None:
    """Matrices, a request's pages and tasks as the gateway and front ends ask for them,
    page after page, are served compiled for every caller; those without SQL yet answer
    the same through Strawberry."""
    task_ids = [r["id"] for r in await paths.compiled.runtime.pool.fetch("SELECT id FROM tasks")]
    requests = [("CollabRequest", r) for r in ("req-2", "req-1", MISSING)]
    entities = representations(
        ("CollabRequest", "req-1"),
        ("Person", "wang"),
        ("CollabRequest", "req-2"),
        ("Task", task_ids[0]),
        ("CollabRequest", MISSING),
    )
    cases: list[tuple[str, dict[str, Any]]] = [
        (ENTITIES, {"representations": entities}),
        *((query, {"r": r}) for query in (MATRIX, PROBLEMS) for r in ("req-1", "req-2", MISSING)),
        *((TASK, {"id": i}) for i in task_ids),
        *(
            (ASSIGNMENTS, {"representations": representations(("Person", who)), "role": role})
            for who in ("wang", "zhao")  # li, head of marketing, holds more than 10 pages
            for role in (None, "R", "A")
        ),
        (SERIES, {"representations": representations(*requests)}),
    ]
    counted = {
        caller.sub: [
            await every_page(paths, query, variables, caller) for query, variables in cases
        ]
        for caller in CALLERS
    }
    # Not vacuous: req-1's 4 tasks, 3 live rows and 3 gaps take 2 pages for those who see it,
    # and a weekly series' instances more.
    assert [counted["li"][i] for i in (0, 1, 4)] == [2, 2, 2], counted
    assert [counted["zhao"][i] for i in (0, 1, 4, -1)] == [1, 1, 1, 1], counted
    assert counted["li"][-1] >= 2, counted
    views = representations(
        ("CollabRequest", "req-1"), ("Person", "wang"), ("Person", "zhao"), ("Person", "hans")
    )
    for caller in CALLERS:
        operation = Operation(VIEWS, "Views", {"representations": views}, "views")
        assert await both(paths, operation, caller), caller
        operation = Operation(PYTHON_ONLY, "Starts", {"representations": views}, "starts")
        assert not await both(paths, operation, caller), caller


async def test_generated_tasks_matrices_and_entities_answer_the_same_both_ways(
    paths: Paths,
) -> None:
    schema = create_schema(paths.compiled.runtime.settings)._schema
    selections = Selections(schema, SEED)
    ids = [r["id"] for r in await paths.compiled.runtime.pool.fetch("SELECT id FROM tasks")]
    tasks = [("Task", i) for i in [*ids, "missing"]]
    mixed = representations(
        *tasks, ("CollabRequest", "req-1"), ("CollabRequest", "req-2"), ("Person", "wang")
    )
    served = 0
    for number in range(GENERATED):
        flag = number % 2 == 0
        one = selections.operation("task", f'(id: "{paths.sample["id"]}")')
        matrix = selections.operation("raciMatrix", '(requestId: "req-1")')
        entities = selections.entities(["Task", "CollabRequest", "Person"])
        for query, variables in (
            (one, {"flag": flag}),
            (matrix, {"flag": flag}),
            (entities, {"flag": flag, "representations": mixed}),
        ):
            operation = Operation(query, "Generated", variables, f"generated #{number}")
            for caller in CALLERS:
                served += await both(paths, operation, caller)
    assert served >= 40, served
