"""The four subgraphs in process, seeded once for the whole fuzz module."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass

import pytest

from services import SERVICE_NAMES
from tests.fuzz.seed import seed_in_process
from tests.fuzz.strategies import Pools
from tests.support import RuntimeCache, SubgraphClient, reset_service


@dataclass(frozen=True)
class Subgraphs:
    clients: dict[str, SubgraphClient]
    pools: Pools


@pytest.fixture(scope="module")
async def subgraphs(runtimes: RuntimeCache) -> AsyncIterator[Subgraphs]:
    """Every subgraph over HTTP (in process) on emptied databases, then seeded with the
    demo; the fuzz's own writes stay for the rest of the module."""
    async with AsyncExitStack() as stack:
        clients = {}
        for service in SERVICE_NAMES:
            runtime = await runtimes.get(service)
            await reset_service(runtime)
            clients[service] = await stack.enter_async_context(
                SubgraphClient.open(service, runtime)
            )
        yield Subgraphs(clients, await seed_in_process(clients))
