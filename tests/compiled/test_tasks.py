"""Both read paths of the tasks subgraph answer alike: ``task(id)`` and the ``Task``
entities, with the request's visibility judged on the local copy, for every task query of
the test suite and generated selections (see test_differential.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from services.tasks.schema import create_schema
from tests.compiled.compare import Paths, both, both_paths
from tests.compiled.operations import Operation, Selections, collected
from tests.support import SubgraphClient
from tests.tasks.helpers import LI, PMO, WANG, ZHAO, create_task, in_days, seed_request, seeded

CALLERS = (PMO, LI, WANG, ZHAO)
"""Sees everything; leads req-1; takes part in req-1; takes part in neither request."""
SEED = 20261205
GENERATED = 40


@pytest.fixture
async def paths(tasks_api: SubgraphClient) -> AsyncIterator[Paths]:
    api = await seeded(tasks_api)
    await seed_request(api.runtime, "req-2", participants=("eu",))
    first = await create_task(api, title="Prepare launch materials")
    await create_task(api, title="Overdue brief", dueAt=in_days(-2), parentId=first["id"])
    await create_task(api, requestId="req-2", title="EU only", dueAt=None, isMilestone=True)
    sample = {"ID": first["id"], "id": first["id"], "Int": 3, "String": "x", "Boolean": True}
    async with both_paths("tasks", api, sample) as found:
        yield found


async def test_every_task_query_of_the_suite_answers_the_same_both_ways(paths: Paths) -> None:
    schema = create_schema(paths.compiled.runtime.settings)._schema
    operations = collected(schema, paths.sample)
    for operation in operations:
        for caller in CALLERS:
            await both(paths, operation, caller)
    assert len(operations) > 10


async def test_generated_tasks_and_entities_answer_the_same_both_ways(paths: Paths) -> None:
    schema = create_schema(paths.compiled.runtime.settings)._schema
    selections = Selections(schema, SEED)
    ids = [r["id"] for r in await paths.compiled.runtime.pool.fetch("SELECT id FROM tasks")]
    representations = [{"__typename": "Task", "id": i} for i in [*ids, "missing"]]
    fixed = (
        "query($representations: [_Any!]!) { _entities(representations: $representations) {"
        " ... on Task { id title status progress dueAt isOverdue isMilestone"
        " parent { id title } } } }"
    )
    for caller in CALLERS:
        operation = Operation(fixed, None, {"representations": representations}, "fixed")
        assert await both(paths, operation, caller), caller
    served = 0
    for number in range(GENERATED):
        flag = number % 2 == 0
        one = selections.operation("task", f'(id: "{paths.sample["id"]}")')
        entities = selections.entities(["Task"])
        for query, variables in (
            (one, {"flag": flag}),
            (entities, {"flag": flag, "representations": representations}),
        ):
            operation = Operation(query, "Generated", variables, f"generated #{number}")
            for caller in CALLERS:
                served += await both(paths, operation, caller)
    assert served >= 5, served
