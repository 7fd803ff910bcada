"""Fixtures of the deploy tests that run real Liaison processes (worker, relay, subgraph)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from shared.runtime import ServiceRuntime
from shared.settings import Settings
from tests.deploy.shutdown_worker import EFFECTS_TABLE, SERVICE
from tests.support import drop_test_state

GRACE_SECONDS = 2.0
PORT = 4201


@pytest.fixture
def probe_settings(settings: Settings) -> Settings:
    """The test settings for real worker, relay and subgraph processes of a throw-away service."""
    return settings.model_copy(
        update={
            "database_prefix": f"{settings.database_prefix}sre_",
            "redis_prefix": "liaisonsre",
            "timer_sweep_seconds": 3600,  # only the queued jobs may fire the timers
            "shutdown_grace_seconds": GRACE_SECONDS,
            "requests_port": PORT,
            "log_format": "json",
        }
    )


async def fresh(settings: Settings) -> None:
    """Drop the probe databases and Redis keys a previous run left."""
    await drop_test_state(settings, (SERVICE, "requests"))


@pytest.fixture
async def probe(probe_settings: Settings) -> AsyncIterator[ServiceRuntime]:
    """The probe service's runtime, on a fresh database with its effects table."""
    await fresh(probe_settings)
    runtime = await ServiceRuntime.start(SERVICE, probe_settings, [])
    await runtime.pool.execute(EFFECTS_TABLE)
    yield runtime
    await runtime.close()
