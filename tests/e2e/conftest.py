"""The whole system as a front end sees it: real processes behind the real gateway.

The stack runs on free ports of its own, database names (``<test prefix>e2e_*``) and Redis
prefix, so it neither disturbs nor is disturbed by `./liaison run`, the service tests or
another test run on the same machine.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest

from devstack.processes import ProcessGroup
from devstack.stack import gateway_url, start_stack
from services import SERVICE_NAMES
from shared.settings import Settings
from tests.e2e.gateway_client import GatewayClient
from tests.support import RuntimeCache, drop_test_state

E2E_SERVICES = ("gateway", "gateway_metrics", *SERVICE_NAMES)


def _free_ports(count: int) -> list[int]:
    """Ports the kernel hands out now: two suites on one machine never share a stack."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@pytest.fixture(scope="session")
def e2e_settings(settings: Settings) -> Settings:
    ports = dict(
        zip((f"{name}_port" for name in E2E_SERVICES), _free_ports(len(E2E_SERVICES)), strict=True)
    )
    return settings.model_copy(
        update={
            # Beside the test run's own prefix, so a second suite has a stack of its own.
            "database_prefix": f"{settings.database_prefix}e2e_",
            "redis_prefix": f"{settings.redis_prefix}e2e",
            **ports,
        }
    )


@pytest.fixture(scope="session")
async def e2e_stack(
    e2e_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ProcessGroup]:
    await drop_test_state(e2e_settings, SERVICE_NAMES)
    with pytest.MonkeyPatch.context() as patch:
        # The fuzz sends hundreds of operations a second as one caller: above the gateway's
        # per-caller rate limit, which tests/gateway/test_gateway_rate_limit.py tests.
        patch.setenv("LIAISON_GATEWAY_RATE_LIMIT_PER_MINUTE", "600000")
        patch.setenv("LIAISON_GATEWAY_RATE_LIMIT_BURST", "100000")
        group = start_stack(e2e_settings, tmp_path_factory.mktemp("e2e-logs"))
    yield group
    group.stop()


@pytest.fixture(scope="session")
async def e2e_runtimes(
    e2e_stack: ProcessGroup, e2e_settings: Settings
) -> AsyncIterator[RuntimeCache]:
    """Connections to the stack's databases: tests enrol their callers through them."""
    runtimes = RuntimeCache(e2e_settings)
    yield runtimes
    await runtimes.close()


@pytest.fixture
def gateway(e2e_runtimes: RuntimeCache, e2e_settings: Settings) -> GatewayClient:
    return GatewayClient(gateway_url(e2e_settings), e2e_settings, e2e_runtimes)
