"""Each subgraph, in process, answers fuzzed operations from its printed SDL safely.

See :mod:`tests.fuzz.checks` for what "safely" means. The operations are valid and invalid
ones (:mod:`tests.fuzz.strategies`), each sent with a PMO or a member token of the demo.
"""

from __future__ import annotations

import pytest

from services import SERVICE_NAMES
from services.sdl import sdl_path
from tests.fuzz.checks import Answer, post
from tests.fuzz.conftest import Subgraphs
from tests.fuzz.runner import Send, budget, conclude, fuzz
from tests.fuzz.seed import DEMO_MEMBER, DEMO_PMO
from tests.fuzz.strategies import Limits, Operation, load_schema, operations
from tests.support import Caller, SubgraphClient

OPERATIONS = {"requests": 450, "tasks": 300, "issues": 300, "notify": 250}
"""Operations per subgraph in one CI run (times ``LIAISON_FUZZ_SCALE``)."""


async def sender(client: SubgraphClient, caller: Caller) -> Send:
    headers = await client.headers(caller)

    async def send(operation: Operation) -> Answer:
        return await post(client.http, "/graphql", headers, operation)

    return send


@pytest.mark.parametrize("service", SERVICE_NAMES)
async def test_subgraph_answers_fuzzed_operations_safely(
    service: str, subgraphs: Subgraphs, pytestconfig: pytest.Config
) -> None:
    client = subgraphs.clients[service]
    settings = client.runtime.settings
    limits = Limits(
        settings.graphql_max_depth, settings.graphql_max_aliases, settings.graphql_max_tokens
    )
    strategy = operations(load_schema(sdl_path(service)), subgraphs.pools, limits)
    tokens = {"pmo": await sender(client, DEMO_PMO), "member": await sender(client, DEMO_MEMBER)}
    tally = await fuzz(f"{service} subgraph", strategy, tokens, budget(OPERATIONS[service]))
    conclude(pytestconfig, tally)
