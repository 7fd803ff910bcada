"""Deliveries heal by themselves: a job that meets a PostgreSQL or Redis outage is sent soon
after the server is back (not a lease later), once, without the outage counting as an
attempt; a worker killed before the message reached the wire is made good automatically,
and one killed mid-send is reported to the channel's owner rather than repeated.

The outage tests own embedded servers (as ``tests/shared/test_outages.py`` does) so they can
stop and start them; the others use the shared test servers.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from arq.worker import Function
from pytest_httpserver import HTTPServer

from services.notify import worker as notify_worker
from services.notify.app import MIGRATIONS
from services.notify.channels import repository as channels
from services.notify.delivery import jobs
from services.notify.delivery import repository as deliveries
from services.notify.delivery import service as delivery_service
from services.notify.delivery.service import SEND_JOB
from services.notify.models import ChannelKind, Phase, TargetKind
from services.notify.worker import TIMER_HANDLERS
from shared.embedded import EmbeddedInfra
from shared.runtime import ServiceRuntime, job_queue_name
from shared.settings import Settings
from shared.timer_firing import sweep
from shared.unit_of_work import unit_of_work
from tests.conftest import TEST_OVERRIDES
from tests.notify.conftest import NOTIFY_OVERRIDES
from tests.notify.partners import Receiver
from tests.notify.test_webhooks import crash_after_sending
from tests.support import SubgraphClient, in_process_worker, reset_service, server_directory

LONG_LEASE = 60.0
"""Outage tests: a delivery that waited for its lease would miss every deadline below."""
SOON_AFTER_RECOVERY = 10.0
"""The longest backoff step (10 s) bounds the wait after the server is back."""
MESSAGE = {"title": "Stock shortfall", "body": "East China is short", "urgency": "NORMAL"}


async def wait_until(
    check: Callable[[], Awaitable[bool]], seconds: float = 30.0, what: str = "condition"
) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


def logged(caplog: pytest.LogCaptureFixture, words: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return any(words in record.getMessage() for record in caplog.records)

    return check


def received(robot: Receiver, count: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return robot.count >= count

    return check


async def add_channel(runtime: ServiceRuntime, url: str) -> str:
    async with runtime.pool.acquire() as conn:
        channel = await channels.insert_channel(
            conn,
            name="Q4 launch-执行-mkt",
            kind=ChannelKind.SLACK,
            request_id="cr1",
            phase=Phase.EXECUTION,
            department_id="mkt",
            url=url,
            secret=None,
            created_by="li",
        )
    assert channel is not None
    return channel.id


async def new_delivery(runtime: ServiceRuntime, channel_id: str, at: datetime) -> str:
    """A chat delivery as the routing makes it: row, watchdog and job deferred to ``at``."""
    async with unit_of_work(runtime) as uow:
        delivery = await delivery_service.create(
            uow, "evt-1", "issues.issue.reported", TargetKind.CHANNEL, channel_id, MESSAGE, at
        )
    assert delivery is not None
    return delivery.id


async def attempt_log(runtime: ServiceRuntime, delivery_id: str) -> list[tuple[int, str | None]]:
    rows = await runtime.pool.fetch(
        "SELECT number, outcome FROM delivery_attempts WHERE delivery_id = $1 ORDER BY number",
        delivery_id,
    )
    return [(r["number"], r["outcome"]) for r in rows]


def succeeded(runtime: ServiceRuntime, delivery_id: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        try:
            status = await runtime.pool.fetchval(
                "SELECT status FROM deliveries WHERE id = $1", delivery_id
            )
        except jobs.OUTAGES:  # the test's own pool reconnects after the restart
            return False
        return bool(status == "SUCCEEDED")

    return check


async def assert_sent_once(runtime: ServiceRuntime, delivery_id: str, robot: Receiver) -> None:
    """SUCCEEDED with one attempt, and no second copy coming: the watchdog is disarmed."""
    await wait_until(succeeded(runtime, delivery_id), what="the success recorded")
    assert robot.count == 1
    row = await runtime.pool.fetchrow("SELECT * FROM deliveries WHERE id = $1", delivery_id)
    assert row is not None
    assert (row["attempts"], row["lease_expires_at"], row["next_attempt_at"]) == (1, None, None)
    assert await attempt_log(runtime, delivery_id) == [(1, "SUCCEEDED")]
    watchdogs = await runtime.pool.fetchval(
        "SELECT count(*) FROM timers WHERE subject = $1 AND fired_at IS NULL", delivery_id
    )
    assert watchdogs == 0


# --------------------------------------------------------------------------- outages


@pytest.fixture(scope="module")
def infra() -> Iterator[EmbeddedInfra]:
    with server_directory() as directory, EmbeddedInfra(directory) as started:
        yield started


@pytest.fixture
def own_settings(infra: EmbeddedInfra) -> Settings:
    overrides: dict[str, Any] = {
        **TEST_OVERRIDES,
        **NOTIFY_OVERRIDES,
        "notify_delivery_lease_seconds": LONG_LEASE,
    }
    return Settings(database_url=infra.database_url, redis_url=infra.redis_url, **overrides)


@pytest.fixture
async def own_runtime(own_settings: Settings) -> AsyncIterator[ServiceRuntime]:
    runtime = await ServiceRuntime.start("notify", own_settings, MIGRATIONS)
    await reset_service(runtime)
    yield runtime
    await runtime.close()


async def test_a_delivery_meeting_a_postgresql_outage_is_sent_soon_after_it_and_once(
    infra: EmbeddedInfra,
    own_settings: Settings,
    own_runtime: ServiceRuntime,
    httpserver: HTTPServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    runtime = own_runtime
    robot = Receiver(httpserver, "/slack")
    channel_id = await add_channel(runtime, robot.url)
    # Deferred far, then made due: its job is queued below, once PostgreSQL is down, so
    # its first try is sure to meet the outage.
    delivery_id = await new_delivery(runtime, channel_id, datetime.now(UTC) + timedelta(hours=1))
    await runtime.pool.execute("UPDATE deliveries SET next_attempt_at = now()")
    caplog.set_level(logging.INFO)
    config = notify_worker.settings(own_settings)
    async with in_process_worker(config, poll_delay=0.02):
        await asyncio.to_thread(infra.postgres.stop)
        try:
            await runtime.redis.enqueue_job(
                SEND_JOB,
                delivery_id,
                _job_id=f"delivery:{delivery_id}:outage",
                _queue_name=job_queue_name(own_settings, "notify", None),
            )
            await wait_until(
                logged(caplog, "notify delivery jobs: PostgreSQL or Redis unavailable"),
                what="the job meeting the outage",
            )
            await wait_until(logged(caplog, "retrying job in"), what="the job's Retry")
        finally:
            await asyncio.to_thread(infra.postgres.start)
        back = time.monotonic()
        await wait_until(received(robot, 1), LONG_LEASE, "the message")
        assert time.monotonic() - back < SOON_AFTER_RECOVERY
        await assert_sent_once(runtime, delivery_id, robot)
    assert await logged(caplog, "notify delivery jobs: PostgreSQL or Redis is back after")()
    starts = [r for r in caplog.records if "jobs: PostgreSQL or Redis unavail" in r.getMessage()]
    assert len(starts) == 1  # logged once, however many tries met it


async def test_a_delivery_due_during_a_redis_outage_is_sent_soon_after_it_and_once(
    infra: EmbeddedInfra,
    own_settings: Settings,
    own_runtime: ServiceRuntime,
    httpserver: HTTPServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    runtime = own_runtime
    robot = Receiver(httpserver, "/slack")
    channel_id = await add_channel(runtime, robot.url)
    caplog.set_level(logging.WARNING, logger="shared.resilience")
    config = notify_worker.settings(own_settings)
    async with in_process_worker(config, poll_delay=0.02):
        due = datetime.now(UTC) + timedelta(seconds=1.5)
        delivery_id = await new_delivery(runtime, channel_id, due)
        await asyncio.to_thread(infra.redis.stop)
        try:
            assert robot.count == 0, "Redis took too long to stop: the job ran before"

            async def overdue() -> bool:
                return datetime.now(UTC) > due + timedelta(seconds=0.5)

            await wait_until(overdue, what="the delivery falling due during the outage")
            await wait_until(logged(caplog, "Redis unavailable"), what="the worker noticing")
            assert robot.count == 0
        finally:
            await asyncio.to_thread(infra.redis.start)  # AOF on: the queued job survives
        back = time.monotonic()
        await wait_until(received(robot, 1), LONG_LEASE, "the message")
        assert time.monotonic() - back < SOON_AFTER_RECOVERY
        await assert_sent_once(runtime, delivery_id, robot)


def test_the_jobs_outage_retries_outlast_the_lease(own_settings: Settings) -> None:
    """arq's ``max_tries`` cannot run out before the watchdog is due to take over."""
    [job] = [f for f in notify_worker.settings(own_settings)["functions"] if f.name == SEND_JOB]
    assert isinstance(job, Function)
    assert job.max_tries == jobs.max_tries(own_settings)
    assert job.max_tries is not None
    shortest = sum(jobs.RETRY_BACKOFF.step(n) / 2 for n in range(1, job.max_tries))
    assert shortest >= LONG_LEASE


# --------------------------------------------------------------------------- a killed worker


async def test_a_worker_killed_before_sending_is_made_good_by_itself_once(
    notify_api: SubgraphClient, worker: Any, httpserver: HTTPServer
) -> None:
    runtime = notify_api.runtime
    robot = Receiver(httpserver, "/slack")
    channel_id = await add_channel(runtime, robot.url)
    delivery_id = await new_delivery(runtime, channel_id, datetime.now(UTC) + timedelta(hours=1))
    # What a worker killed between its claim and the start of the attempt leaves behind:
    # a lease that has run out, no attempt started, the watchdog due.
    await runtime.pool.execute("UPDATE deliveries SET next_attempt_at = now()")
    async with runtime.pool.acquire() as conn:
        assert await deliveries.claim(conn, delivery_id, timedelta(seconds=60)) is not None
    await runtime.pool.execute(
        "UPDATE deliveries SET lease_expires_at = now() - interval '1 second'"
    )
    await runtime.pool.execute("UPDATE timers SET due_at = now() - interval '1 second'")

    await wait_until(received(robot, 1), what="the message sent again by the worker's sweep")
    await assert_sent_once(runtime, delivery_id, robot)


async def test_a_chat_message_cut_off_mid_send_is_not_repeated_and_its_owner_is_told(
    notify_api: SubgraphClient, httpserver: HTTPServer
) -> None:
    runtime = notify_api.runtime
    robot = Receiver(httpserver, "/slack")
    channel_id = await add_channel(runtime, robot.url)
    delivery_id = await new_delivery(runtime, channel_id, datetime.now(UTC))

    await crash_after_sending(notify_api, delivery_id)
    assert await sweep(runtime, TIMER_HANDLERS) == 1
    row = await runtime.pool.fetchrow("SELECT * FROM deliveries WHERE id = $1", delivery_id)
    assert row is not None
    assert (row["status"], row["next_attempt_at"], row["attempts"]) == ("FAILED", None, 1)
    assert await attempt_log(runtime, delivery_id) == [(1, "UNKNOWN")]
    assert robot.count == 1
    event = await runtime.pool.fetchval(
        "SELECT envelope FROM outbox WHERE event_type = 'notify.delivery.outcome_unknown'"
    )
    assert event["data"]["id"] == delivery_id
    told = await runtime.pool.fetch(
        "SELECT recipient_id, type, title, link FROM notifications WHERE source_event_id = $1",
        event["id"],
    )
    assert [(t["recipient_id"], t["type"], t["link"]) for t in told] == [
        ("li", "notify.delivery.outcome_unknown", f"/deliveries/{delivery_id}")
    ]
    assert "Stock shortfall" in told[0]["title"]
    assert await sweep(runtime, TIMER_HANDLERS) == 0  # and nothing sends it again


SLOW_LEASE = 2.0
"""Renewed every third of it, the lease survives a stall of over a second on a busy machine."""


async def test_a_slow_living_worker_keeps_its_delivery_and_sends_it_once(
    notify_api: SubgraphClient, httpserver: HTTPServer
) -> None:
    """A target slower than the lease is not a dead worker: the job renews its lease, so the
    watchdog never declares the outcome unknown, and the answer it gets is recorded."""
    settings = notify_api.runtime.settings.model_copy(
        update={"notify_delivery_lease_seconds": SLOW_LEASE, "notify_webhook_timeout_seconds": 20}
    )
    runtime = notify_api.runtime
    robot = Receiver(httpserver, "/slack", delay=2.5 * SLOW_LEASE)
    channel_id = await add_channel(runtime, robot.url)
    async with in_process_worker(notify_worker.settings(settings), poll_delay=0.02):
        delivery_id = await new_delivery(runtime, channel_id, datetime.now(UTC))
        await wait_until(received(robot, 1), what="the slow target being reached")
        await assert_sent_once(runtime, delivery_id, robot)
    unknown = await runtime.pool.fetchval(
        "SELECT count(*) FROM outbox WHERE event_type = 'notify.delivery.outcome_unknown'"
    )
    assert unknown == 0


async def test_an_attempt_started_twice_under_one_claim_counts_once(
    notify_api: SubgraphClient, httpserver: HTTPServer
) -> None:
    """An outage may hide that the start committed; the job then starts again, harmlessly."""
    runtime = notify_api.runtime
    channel_id = await add_channel(runtime, Receiver(httpserver, "/slack").url)
    delivery_id = await new_delivery(runtime, channel_id, datetime.now(UTC))
    async with runtime.pool.acquire() as conn:
        claimed = await deliveries.claim(conn, delivery_id, timedelta(seconds=60))
        assert claimed is not None
        first = await deliveries.start_attempt(conn, claimed)
        again = await deliveries.start_attempt(conn, claimed)
    assert first is not None
    assert again is not None
    assert first.attempts == again.attempts == 1
    assert await attempt_log(runtime, delivery_id) == [(1, None)]
