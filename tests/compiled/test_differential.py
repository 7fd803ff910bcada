"""The compiled read path answers exactly as Strawberry does: the same bytes of ``data`` and
the same errors, for every read operation of the test suite that the requests subgraph
validates and for generated selections, as callers who see everything, some or nothing.

The same subgraph runs twice on one database: as configured (compiled reads on) and with
``graphql_compiled`` off, so every field goes through Strawberry's resolvers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from prometheus_client import REGISTRY

from services.requests.schema import create_schema
from shared.graphql.view import EXECUTION_HEADER
from tests.compiled.compare import Paths, both, both_paths, suite_both_ways
from tests.compiled.operations import Operation, Selections
from tests.requests.helpers import (
    ANNA,
    APPROVER,
    LI,
    PMO,
    ZHAO,
    active_request,
    create_request,
    load_directory,
)
from tests.support import SubgraphClient

CALLERS = (PMO, LI, ANNA, ZHAO, APPROVER)
"""Sees everything; leads all; takes part in most; takes part in one; decides all."""
GENERATED = 120
SEED = 20261203
SERVED_AT_LEAST = {"requests": 30, "request": 10, "_entities": 3}
"""Calls the compiled path must have served, so the comparison is not vacuous (a generated
selection often reaches a field that has no SQL yet, and then both answers are Strawberry's)."""


@pytest.fixture
async def paths(requests_api: SubgraphClient) -> AsyncIterator[Paths]:
    api = requests_api
    await load_directory(api)
    first = await active_request(api)
    await create_request(api, kind="EMERGENCY", title="Recall at the East China plant")
    await create_request(api, participantDepartmentIds=["legal"])
    for _ in range(3):
        await create_request(api, kind="OPERATIONS")
    sample = {"ID": first["id"], "id": first["id"], "Int": 3, "String": "Q4", "Boolean": True}
    async with both_paths("requests", api, sample) as paths:
        yield paths


async def test_every_read_operation_of_the_suite_answers_the_same_both_ways(
    paths: Paths,
) -> None:
    schema = create_schema(paths.compiled.runtime.settings)._schema
    operations, served = await suite_both_ways(paths, schema, CALLERS)
    # Not vacuous: the suite's page and detail queries of requests are served compiled.
    assert len(operations) > 20
    assert len(served) >= 5, served


@pytest.mark.parametrize("root", ["requests", "request"])
async def test_generated_selections_answer_the_same_both_ways(paths: Paths, root: str) -> None:
    schema = create_schema(paths.compiled.runtime.settings)._schema
    selections = Selections(schema, SEED)
    arguments = {"requests": "(first: 4)", "request": f'(id: "{paths.sample["id"]}")'}[root]
    served = 0
    for number in range(GENERATED):
        query = selections.operation(root, arguments)
        flag = number % 2 == 0
        operation = Operation(query, "Generated", {"flag": flag}, f"generated #{number}")
        for caller in CALLERS[number % 2 :: 2]:
            served += await both(paths, operation, caller)
    assert served >= SERVED_AT_LEAST[root], served


async def test_entity_batches_answer_the_same_both_ways(paths: Paths) -> None:
    """The gateway's ``_entities`` calls: requests the caller may see and may not, one that
    does not exist, departments; in the order given."""
    ids = [
        r["id"] for r in await paths.compiled.runtime.pool.fetch("SELECT id FROM collab_requests")
    ]
    representations = [
        *({"__typename": "CollabRequest", "id": i} for i in ids),
        {"__typename": "Department", "id": "mkt"},
        {"__typename": "CollabRequest", "id": "01a00000-0000-7000-8000-000000000000"},
        {"__typename": "Department", "id": "nowhere"},
        {"__typename": "Department", "id": "legal"},
        {"__typename": "Person", "id": "li"},
        {"__typename": "Person", "id": "nobody"},
        {"__typename": "Region", "id": "hq"},
    ]
    gateway_like = (
        "query($representations: [_Any!]!) { _entities(representations: $representations) {"
        " __typename ... on CollabRequest { id code title status leadDepartment { name }"
        " goals { metric target } approver { name roles department { code } } }"
        " ... on Department { id name head { email } parent { id } }"
        " ... on Person { id name active region { code timeZone } } } }"
    )
    for caller in CALLERS:
        fixed = Operation(gateway_like, None, {"representations": representations}, "fixed")
        assert await both(paths, fixed, caller), caller
    schema = create_schema(paths.compiled.runtime.settings)._schema
    selections = Selections(schema, SEED)
    served = 0
    for number in range(GENERATED // 4):
        query = selections.entities(["CollabRequest", "Department", "Person", "Region"])
        variables = {"flag": number % 2 == 0, "representations": representations[number % 3 :]}
        operation = Operation(query, "Generated", variables, f"generated entities #{number}")
        for caller in CALLERS:
            served += await both(paths, operation, caller)
    assert served >= SERVED_AT_LEAST["_entities"], served


async def test_a_compiled_answer_is_counted_and_marked(paths: Paths) -> None:
    """Operators see it: the response header, the compiled counter, the usual operation
    metrics; with compiled reads off, the same query is Strawberry's."""
    query = "query Page { requests(first: 2) { edges { node { id code } } } }"
    labels = {"service": "requests", "operation": "Page"}
    ops = {**labels, "operation_type": "query", "outcome": "ok"}

    def sample(name: str, which: dict[str, str]) -> float:
        return REGISTRY.get_sample_value(name, which) or 0.0

    before = sample("liaison_graphql_compiled_total", labels)
    counted = sample("liaison_graphql_requests_total", ops)
    headers = await paths.compiled.headers(PMO)
    fast = await paths.compiled.http.post("/graphql", json={"query": query}, headers=headers)
    assert fast.headers[EXECUTION_HEADER] == "compiled"
    assert sample("liaison_graphql_compiled_total", labels) == before + 1
    assert sample("liaison_graphql_requests_total", ops) == counted + 1
    slow = await paths.python.http.post("/graphql", json={"query": query}, headers=headers)
    assert EXECUTION_HEADER not in slow.headers
    assert sample("liaison_graphql_compiled_total", labels) == before + 1
    assert slow.content == fast.content


NESTED_PAGE = """
query Nested($id: ID!, $after: String, $first: Int!) {
  request(id: $id) {
    id
    history(first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { cursor node { action fromStatus toStatus at actor { id name } } }
    }
    decisions(first: 1) { totalCount edges { node { action comment } } }
    lessons { totalCount pageInfo { hasNextPage endCursor } }
  }
}
"""

RISK_PAGE = """
query Risks($id: ID!, $after: String) {
  request(id: $id) {
    risks(first: 2, after: $after) {
      edges { cursor node { description likelihood createdAt owner { name } } }
      pageInfo { endCursor hasNextPage }
    }
  }
}
"""


async def _pages(paths: Paths, document: str, name: str, variables: dict[str, Any]) -> str:
    """Pages a nested list to its end on both paths, as every caller, comparing each page;
    the last page's cursor."""
    after, pages = None, 0
    while True:
        page = {**variables, "after": after}
        operation = Operation(document, name, page, f"{name} page {pages}")
        for caller in CALLERS:
            assert await both(paths, operation, caller), caller
        found = await paths.compiled.execute(document, page, caller=PMO)
        connection = next(v for v in found["request"].values() if isinstance(v, dict))
        pages += 1
        if not connection["pageInfo"]["hasNextPage"]:
            assert pages >= 2, "one page only: the cursors were not tried"
            return str(after)
        after = connection["pageInfo"]["endCursor"]


async def test_nested_pages_follow_their_cursors_the_same_both_ways(paths: Paths) -> None:
    """A request's history (one bigint key) and risks (time, then id) paged with the
    cursors the answers gave; a cursor of another list falls back to the Python path's
    refusal."""
    request_id = paths.sample["id"]
    for number in range(3):
        risk = {"description": f"risk {number}", "likelihood": "LOW", "impact": "HIGH"}
        risk |= {"mitigation": "watch it", "ownerId": "anna"}
        added = await paths.compiled.execute(
            "mutation($input: AddRiskInput!) { addRisk(input: $input) { userErrors { code } } }",
            {"input": {"requestId": request_id, "risk": risk}},
            caller=LI,
        )
        assert added["addRisk"]["userErrors"] == []
    history_cursor = await _pages(paths, NESTED_PAGE, "Nested", {"id": request_id, "first": 2})
    await _pages(paths, RISK_PAGE, "Risks", {"id": request_id})
    # A history cursor is not a risk cursor: the Python path refuses it, compiled or not.
    foreign = {"id": request_id, "after": history_cursor}
    assert not await both(paths, Operation(RISK_PAGE, "Risks", foreign, "foreign"), PMO)
