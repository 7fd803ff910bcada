"""Fixtures shared by every test: real PostgreSQL and Redis, isolated per test.

``LIAISON_DATABASE_URL`` / ``LIAISON_REDIS_URL`` select external servers; without them the
embedded servers start under ``.liaison-data/test``. Tests use their own database names
(``liaison_test_<service>``) and Redis prefix, so they never touch a developer's data.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest

from shared.embedded import EmbeddedInfra
from shared.settings import REPO_ROOT, Settings
from tests.support import RuntimeCache, SubgraphClient, reset_service

TEST_OVERRIDES = {
    # Two suites running at once on one server each need a prefix of their own.
    "database_prefix": os.environ.get("LIAISON_TEST_DATABASE_PREFIX", "liaison_test_"),
    "redis_prefix": "liaisontest",
    "timer_sweep_seconds": 1,
    "consumer_block_ms": 200,
    "consumer_claim_idle_ms": 500,
    "relay_poll_seconds": 0.05,
}


@pytest.fixture(scope="session")
def infra_urls() -> Iterator[tuple[str, str]]:
    """URLs of the servers under test: configured ones, or embedded ones started here."""
    database_url = os.environ.get("LIAISON_DATABASE_URL")
    redis_url = os.environ.get("LIAISON_REDIS_URL")
    if database_url and redis_url:
        yield database_url, redis_url
        return
    with EmbeddedInfra(REPO_ROOT / ".liaison-data" / "test") as infra:
        yield database_url or infra.database_url, redis_url or infra.redis_url


@pytest.fixture(scope="session")
def settings(infra_urls: tuple[str, str]) -> Settings:
    database_url, redis_url = infra_urls
    return Settings(database_url=database_url, redis_url=redis_url, **TEST_OVERRIDES)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
async def runtimes(settings: Settings) -> AsyncIterator[RuntimeCache]:
    cache = RuntimeCache(settings)
    yield cache
    await cache.close()


async def _clean_client(runtimes: RuntimeCache, service: str) -> AsyncIterator[SubgraphClient]:
    runtime = await runtimes.get(service)
    await reset_service(runtime)
    async with SubgraphClient.open(service, runtime) as client:
        yield client


@pytest.fixture
async def requests_api(runtimes: RuntimeCache) -> AsyncIterator[SubgraphClient]:
    """The requests subgraph over HTTP (in process), on an empty database."""
    async for client in _clean_client(runtimes, "requests"):
        yield client


@pytest.fixture
async def tasks_api(runtimes: RuntimeCache) -> AsyncIterator[SubgraphClient]:
    """The tasks subgraph over HTTP (in process), on an empty database."""
    async for client in _clean_client(runtimes, "tasks"):
        yield client


@pytest.fixture
async def issues_api(runtimes: RuntimeCache) -> AsyncIterator[SubgraphClient]:
    """The issues subgraph over HTTP (in process), on an empty database."""
    async for client in _clean_client(runtimes, "issues"):
        yield client


@pytest.fixture
async def notify_api(runtimes: RuntimeCache) -> AsyncIterator[SubgraphClient]:
    """The notify subgraph over HTTP (in process), on an empty database."""
    async for client in _clean_client(runtimes, "notify"):
        yield client
