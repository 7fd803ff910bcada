"""The gateway answers fuzzed operations from its supergraph safely, through every subgraph.

The operations come from ``gateway/supergraph.graphql`` (:mod:`tests.fuzz.strategies`),
each sent with a PMO or a member token of a small ``fz-`` directory made for the fuzz, so
the other end-to-end tests sharing the stack keep their own data. The rules an answer must
keep are those of :mod:`tests.fuzz.checks`; the gateway's own ``DOWNSTREAM_SERVICE_ERROR``
counts as a failure too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from devstack.stack import gateway_url
from shared.settings import REPO_ROOT, Settings
from tests.e2e.gateway_client import GatewayClient
from tests.fuzz.checks import Answer, post
from tests.fuzz.runner import Send, budget, conclude, fuzz
from tests.fuzz.seed import FZ_MEMBER, FZ_PMO, harvest, seed_gateway
from tests.fuzz.strategies import Limits, Operation, Pools, load_schema, operations
from tests.support import Caller, RuntimeCache

OPERATIONS = 700
"""Operations through the gateway in one CI run (times ``LIAISON_FUZZ_SCALE``)."""
GATEWAY_MAX_DEPTH, GATEWAY_MAX_TOKENS = 15, 5000  # gateway/gateway.config.ts defaults
LEFT_OUT = {"createWebhookEndpoint", "registerChannel"}
"""Mutations left out here because the running notify worker would deliver to the fuzzed
URLs they register; the notify subgraph's fuzz (in process, no worker) covers them."""


@pytest.fixture(scope="module")
async def fuzz_client(
    e2e_runtimes: RuntimeCache, e2e_settings: Settings
) -> AsyncIterator[tuple[GatewayClient, httpx.AsyncClient, Pools]]:
    """The gateway with the fuzz's ``fz-`` data, and the ids and cursors of what it sees."""
    gateway = GatewayClient(gateway_url(e2e_settings), e2e_settings, e2e_runtimes)

    async def execute(query: str, variables: dict[str, Any], caller: Caller) -> Any:
        return (await gateway.post(query, variables, caller=caller)).json()

    pools = await seed_gateway(execute)
    schema = load_schema(REPO_ROOT / "gateway" / "supergraph.graphql")
    await harvest(execute, schema, [FZ_PMO, FZ_MEMBER], pools)
    async with httpx.AsyncClient() as http:
        yield gateway, http, pools


def sender(gateway: GatewayClient, http: httpx.AsyncClient, caller: Caller) -> Send:
    headers = {"authorization": f"Bearer {gateway.token(caller)}"}

    async def send(operation: Operation) -> Answer:
        return await post(http, gateway.url, headers, operation)

    return send


async def test_gateway_answers_fuzzed_operations_safely(
    fuzz_client: tuple[GatewayClient, httpx.AsyncClient, Pools],
    e2e_settings: Settings,
    pytestconfig: pytest.Config,
) -> None:
    gateway, http, pools = fuzz_client
    schema = load_schema(REPO_ROOT / "gateway" / "supergraph.graphql")
    assert schema.mutation_type is not None
    mutations = [name for name in schema.mutation_type.fields if name not in LEFT_OUT]
    limits = Limits(GATEWAY_MAX_DEPTH, e2e_settings.graphql_max_aliases, GATEWAY_MAX_TOKENS)
    strategy = operations(schema, pools, limits, mutation_fields=mutations)
    tokens = {"pmo": sender(gateway, http, FZ_PMO), "member": sender(gateway, http, FZ_MEMBER)}
    tally = await fuzz("gateway", strategy, tokens, budget(OPERATIONS), in_flight=2)
    conclude(pytestconfig, tally)
