"""The whole system as a front end sees it: real processes behind the real gateway.

The stack runs on its own ports (41xx), database names (``liaison_e2e_*``) and Redis
prefix, so it neither disturbs nor is disturbed by `./liaison run` or the service tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from devstack.processes import ProcessGroup
from devstack.stack import gateway_url, start_stack
from services import SERVICE_NAMES
from shared.settings import Settings
from tests.e2e.gateway_client import GatewayClient
from tests.support import drop_test_state

E2E_PORTS = {
    "gateway_port": 4100,
    "requests_port": 4101,
    "tasks_port": 4102,
    "issues_port": 4103,
    "notify_port": 4104,
}


@pytest.fixture(scope="session")
def e2e_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"database_prefix": "liaison_e2e_", "redis_prefix": "liaisone2e", **E2E_PORTS}
    )


@pytest.fixture(scope="session")
async def e2e_stack(
    e2e_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ProcessGroup]:
    await drop_test_state(e2e_settings, SERVICE_NAMES)
    group = start_stack(e2e_settings, tmp_path_factory.mktemp("e2e-logs"))
    yield group
    group.stop()


@pytest.fixture
def gateway(e2e_stack: ProcessGroup, e2e_settings: Settings) -> GatewayClient:
    return GatewayClient(gateway_url(e2e_settings), e2e_settings)
