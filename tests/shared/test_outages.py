"""Processes ride out PostgreSQL and Redis restarts on servers this module owns (embedded
ones in a temporary folder, so they can be stopped and started again)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shared.embedded import EmbeddedInfra
from shared.events.envelope import new_event
from shared.events.relay import relay_forever
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from shared.timer_firing import TimerHandler
from shared.timers import TimerRow
from shared.unit_of_work import UnitOfWork, unit_of_work
from shared.worker import worker_settings
from tests.conftest import TEST_OVERRIDES
from tests.shared.conftest import SERVICE, WIDGET_CREATED, WidgetCreated
from tests.support import in_process_worker, server_directory

KIND = "outage.probe"


@pytest.fixture(scope="module")
def infra() -> Iterator[EmbeddedInfra]:
    with server_directory() as directory, EmbeddedInfra(directory) as started:
        yield started


@pytest.fixture
def own_settings(infra: EmbeddedInfra) -> Settings:
    return Settings(
        database_url=infra.database_url,
        redis_url=infra.redis_url,
        **TEST_OVERRIDES,  # type: ignore[arg-type]
    )


@pytest.fixture
async def runtime(
    own_settings: Settings, platform_migrations: Path
) -> AsyncIterator[ServiceRuntime]:
    started = await ServiceRuntime.start(SERVICE, own_settings, platform_migrations)
    await started.pool.execute("TRUNCATE outbox, timers, effects")
    await started.redis.flushdb()
    yield started
    await started.close()


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 30) -> None:
    """Poll ``check`` until it holds; fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


def logged(caplog: pytest.LogCaptureFixture, words: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return any(words in record.getMessage() for record in caplog.records)

    return check


async def write_event(runtime: ServiceRuntime, n: int) -> None:

    async with runtime.pool.acquire() as conn:
        envelope = new_event(SERVICE, WIDGET_CREATED, f"w{n}", WidgetCreated(name=str(n)))
        await conn.execute(
            "INSERT INTO outbox (event_id, event_type, envelope) VALUES ($1, $2, $3)",
            envelope.id,
            envelope.type,
            envelope.model_dump(mode="json"),
        )


async def test_the_relay_rides_out_a_postgresql_and_a_redis_restart(
    widget_event: str,
    infra: EmbeddedInfra,
    own_settings: Settings,
    runtime: ServiceRuntime,
    caplog: pytest.LogCaptureFixture,
) -> None:
    stream = runtime.keys.event_stream
    stop = asyncio.Event()
    url = own_settings.service_database_url(SERVICE)
    relay = asyncio.create_task(relay_forever(url, runtime.redis, own_settings, stop, SERVICE))
    caplog.set_level(logging.WARNING, logger="shared.resilience")
    try:
        await write_event(runtime, 1)
        await eventually(lambda: _stream_length(runtime, stream, 1))

        await asyncio.to_thread(infra.postgres.stop)
        await eventually(logged(caplog, "PostgreSQL or Redis unavailable"))
        await asyncio.to_thread(infra.postgres.start)
        await write_event(runtime, 2)
        await eventually(lambda: _stream_length(runtime, stream, 2))
        await eventually(logged(caplog, "is back after"))

        await asyncio.to_thread(infra.redis.stop)
        await write_event(runtime, 3)
        await asyncio.to_thread(infra.redis.start)  # AOF on: the stream survives
        await eventually(lambda: _stream_length(runtime, stream, 3))
        assert not relay.done()
    finally:
        stop.set()
        await relay
    published = await runtime.redis.xrange(stream)
    assert len(published) == 3  # each event once, none lost
    unsent = await runtime.pool.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL")
    assert unsent == 0


async def _stream_length(runtime: ServiceRuntime, stream: str, length: int) -> bool:
    try:
        return int(await runtime.redis.xlen(stream)) >= length
    except (ConnectionError, OSError):
        return False
    except Exception as exc:  # redis-py's own ConnectionError while it reconnects
        if "Connection" in type(exc).__name__:
            return False
        raise


async def test_a_worker_rides_out_a_redis_restart_and_still_fires_timers(
    infra: EmbeddedInfra,
    own_settings: Settings,
    runtime: ServiceRuntime,
    platform_migrations: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fired: list[str] = []

    async def on_fire(uow: UnitOfWork, timer: TimerRow) -> None:
        fired.append(timer.subject)

    handlers: dict[str, TimerHandler] = {KIND: on_fire}
    config = worker_settings(
        SERVICE, platform_migrations, timer_handlers=handlers, settings=own_settings
    )
    caplog.set_level(logging.WARNING, logger="shared.resilience")
    async with in_process_worker(config, poll_delay=0.05) as worker:
        await asyncio.to_thread(infra.redis.stop)
        await eventually(logged(caplog, "Redis unavailable"))
        await asyncio.to_thread(infra.redis.start)
        await eventually(logged(caplog, "Redis is back after"))
        async with unit_of_work(runtime) as uow:
            await uow.arm_timer(
                KIND, "after-restart", datetime.now(UTC) + timedelta(seconds=0.2), {}
            )

        async def fired_once() -> bool:
            return fired == ["after-restart"]

        await eventually(fired_once)
        assert worker.main_task is not None
        assert not worker.main_task.done()


async def test_a_subgraph_answers_service_unavailable_at_once_while_postgresql_is_down(
    infra: EmbeddedInfra, own_settings: Settings
) -> None:
    from services.requests.app import MIGRATIONS
    from tests.support import SubgraphClient

    runtime = await ServiceRuntime.start("requests", own_settings, MIGRATIONS)
    query = "{ requests(first: 1) { totalCount } }"
    try:
        async with SubgraphClient.open("requests", runtime) as api:
            assert (await api.execute(query))["requests"]["totalCount"] >= 0
            await asyncio.to_thread(infra.postgres.stop)
            try:
                started = time.monotonic()
                body = (await api.post(query)).json()
                assert time.monotonic() - started < 5, "a call must fail fast, not hang"
                [error] = body["errors"]
                assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE", error
            finally:
                await asyncio.to_thread(infra.postgres.start)

            async def answers() -> bool:
                return "errors" not in (await api.post(query)).json()

            await eventually(answers)
    finally:
        await runtime.close()


async def test_no_event_is_lost_or_handled_twice_when_redis_loses_its_data(
    widget_event: str, own_settings: Settings, runtime: ServiceRuntime
) -> None:
    """A FLUSHALL takes the stream, the consumer groups and the relay's marker, also the
    events published but not handled yet: the relay publishes the kept outbox rows again
    and the consumer's inbox drops those it had handled."""
    from shared.events.consumer import Consumer
    from tests.shared.test_outbox_relay_consumer import effect_counts, recording_handler

    await runtime.pool.execute("TRUNCATE inbox")
    url = own_settings.service_database_url(SERVICE)
    stop_relay, stop_consumer = asyncio.Event(), asyncio.Event()
    relay = asyncio.create_task(relay_forever(url, runtime.redis, own_settings, stop_relay))

    def consume(stop: asyncio.Event) -> asyncio.Task[None]:
        consumer = Consumer(runtime, {widget_event: recording_handler("c")}, name="c")
        return asyncio.create_task(consumer.run(stop))

    async def effects_are(count: int) -> bool:
        return sum((await effect_counts(runtime)).values()) >= count

    stream = runtime.keys.event_stream
    try:
        consuming = consume(stop_consumer)
        for n in range(3):
            await write_event(runtime, n)
        await eventually(lambda: effects_are(3))
        stop_consumer.set()
        await consuming
        for n in range(3, 5):  # published, not handled: only the outbox still knows them
            await write_event(runtime, n)
        await eventually(lambda: _stream_length(runtime, stream, 5))
        await runtime.redis.flushall()
        consuming = consume(stop_relay)
        await write_event(runtime, 5)
        await eventually(lambda: effects_are(6))
        await eventually(lambda: _stream_length(runtime, stream, 6))
    finally:
        stop_relay.set()
        await asyncio.gather(relay, consuming)
    counts = await effect_counts(runtime)
    assert len(counts) == 6  # none lost
    assert set(counts.values()) == {1}  # none handled twice
