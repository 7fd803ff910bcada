"""A throwaway service, ``platformtest``, for testing the platform layer on real servers.

Its database is ``liaison_test_platformtest``; its migrations (a ``widgets`` table and an
``effects`` log with no unique key, so a duplicated effect shows up as two rows) live in a
temporary folder. ``platformtest.widget.created`` is registered as an event type only while
a test that asks for it runs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from shared.events.contracts import EventData, event_type
from shared.events.contracts import base as contracts_base
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from tests.support import reset_service

SERVICE = "platformtest"
WIDGET_CREATED = "platformtest.widget.created"

WIDGET_MIGRATION = """
CREATE TABLE widgets (id text PRIMARY KEY, name text NOT NULL);
-- One row per effect of a handler; deliberately no unique key.
CREATE TABLE effects (seq bigserial PRIMARY KEY, key text NOT NULL, actor text);
"""


class WidgetCreated(EventData):
    name: str


@pytest.fixture(scope="session")
def platform_migrations(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # A fixed folder name: migrations are recorded as "<parent>/<folder>/<file>", and the
    # database outlives the session.
    directory = tmp_path_factory.mktemp(SERVICE, numbered=False) / "migrations"
    directory.mkdir()
    (directory / "0001_widgets.sql").write_text(WIDGET_MIGRATION, encoding="utf-8")
    return directory


@pytest.fixture(scope="session")
async def platform_runtime(
    settings: Settings, platform_migrations: Path
) -> AsyncIterator[ServiceRuntime]:
    runtime = await ServiceRuntime.start(SERVICE, settings, platform_migrations)
    yield runtime
    await runtime.close()


@pytest.fixture
async def platform(platform_runtime: ServiceRuntime) -> ServiceRuntime:
    """The platformtest runtime with an empty database and no Redis keys."""
    await reset_service(platform_runtime)
    return platform_runtime


@pytest.fixture
def widget_event() -> Iterator[str]:
    """Register the test event type for one test."""
    event_type(WIDGET_CREATED)(WidgetCreated)
    yield WIDGET_CREATED
    contracts_base._REGISTRY.pop(WIDGET_CREATED, None)
