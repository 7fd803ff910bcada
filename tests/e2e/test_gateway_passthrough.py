"""A query one subgraph answers whole skips the gateway's query planner (gateway/passthrough.ts),
and a front end cannot tell: the same bytes as a gateway planning every query, for queries of
each subgraph, for queries that join subgraphs and for answers with errors, which the planner
answers as before. Passed-through queries are counted per subgraph."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from devstack.node import gateway_argv
from devstack.processes import ProcessGroup, ProcessSpec
from shared.settings import Settings
from tests.e2e.gateway_client import GatewayClient
from tests.e2e.test_walking_skeleton import create_request
from tests.support import Caller

PMO = Caller("e2e-passthrough-pmo", roles=("PMO",))
COUNTER = "liaison_gateway_passthrough_total"

ONE_SUBGRAPH = {
    "requests": """query Page($first: Int!) { requests(first: $first) { edges { cursor node {
        id code title status createdAt leadDepartment { name region { code } }
        goals { metric target } history(first: 2) { totalCount edges { node { action } } } } }
        pageInfo { hasNextPage endCursor } } }""",
    "issues": "{ issues(first: 5) { totalCount edges { node { id title status } } } }",
    "notify": "{ unreadCount myNotifications(first: 3) { edges { node { id title } } } }",
}
JOINED = """query($id: ID!) { request(id: $id) { id title
    tasks { edges { node { id title } } } issues { edges { node { id } } } } }"""
REFUSED = "{ requests(first: 1000) { edges { node { id } } } }"  # above the largest page


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def planner_url(e2e_stack: ProcessGroup, e2e_settings: Settings) -> Iterator[str]:
    """A second gateway on the same subgraphs with the passthrough off."""
    port, host = _free_port(), e2e_settings.host
    saved = dict(e2e_stack.env)
    e2e_stack.env.update(
        {
            "LIAISON_GATEWAY_PASSTHROUGH": "false",
            "LIAISON_GATEWAY_PORT": str(port),
            "LIAISON_GATEWAY_METRICS_PORT": "0",
        }
    )
    ready = f"http://{host}:{port}/healthcheck"
    e2e_stack.start(ProcessSpec("gateway-planner", gateway_argv(host, port), ready_url=ready))
    e2e_stack.env = saved
    try:
        e2e_stack.wait_ready(60)
        yield f"http://{host}:{port}/graphql"
    finally:
        e2e_stack.stop(["gateway-planner"])


async def _passed(e2e_settings: Settings) -> dict[str, float]:
    """The passthrough counter by subgraph, scraped from the gateway's metrics port."""
    url = f"http://{e2e_settings.host}:{e2e_settings.gateway_metrics_port}/metrics"
    async with httpx.AsyncClient() as http:
        text = (await http.get(url)).text
    counts: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith(COUNTER + "{"):
            labels, value = line.rsplit(" ", 1)
            counts[labels.split('subgraph="')[1].split('"')[0]] = float(value)
    return counts


async def _both(
    gateway: GatewayClient, planner_url: str, query: str, variables: dict[str, Any]
) -> bytes:
    """The answer of each gateway, which must be the same bytes."""
    fast = await gateway.post(query, variables, caller=PMO)
    headers = {"authorization": f"Bearer {gateway.token(PMO)}"}
    async with httpx.AsyncClient(timeout=10) as http:
        planned = await http.post(
            planner_url, json={"query": query, "variables": variables}, headers=headers
        )
    assert (fast.status_code, fast.content) == (planned.status_code, planned.content)
    return fast.content


async def test_a_query_of_one_subgraph_is_passed_through_with_the_planners_answer(
    gateway: GatewayClient, planner_url: str, e2e_settings: Settings
) -> None:
    for _ in range(3):
        await create_request(gateway, title="Passed through")
    for subgraph, query in ONE_SUBGRAPH.items():
        before = (await _passed(e2e_settings)).get(subgraph, 0)
        body = await _both(gateway, planner_url, query, {"first": 2})
        assert b'"errors"' not in body, body
        assert (await _passed(e2e_settings)).get(subgraph, 0) == before + 1, subgraph


async def test_joins_and_answers_with_errors_go_through_the_planner(
    gateway: GatewayClient, planner_url: str, e2e_settings: Settings
) -> None:
    created = await create_request(gateway, title="Joined")
    before = await _passed(e2e_settings)
    joined = await _both(gateway, planner_url, JOINED, {"id": created["id"]})
    assert b'"Joined"' in joined
    refused = await _both(gateway, planner_url, REFUSED, {})
    assert b'"PAGE_SIZE_EXCEEDED"' in refused, refused  # the subgraph's refusal, as planned
    assert await _passed(e2e_settings) == before
