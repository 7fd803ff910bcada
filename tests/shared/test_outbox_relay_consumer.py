"""Outbox, relay and consumers on real PostgreSQL and Redis: at-least-once delivery,
exactly-once effects, nothing lost across consumer restarts and crashes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import orjson
import pytest

from shared.db import create_pool
from shared.events.consumer import Consumer, EventHandler
from shared.events.envelope import EventEnvelope
from shared.events.relay import prune_outbox, relay_batch
from shared.runtime import ServiceRuntime
from shared.unit_of_work import UnitOfWork, unit_of_work
from tests.shared.conftest import WidgetCreated


class Boom(Exception):
    pass


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 5.0) -> None:
    """Wait until ``check`` holds, failing the test after ``within`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {within}s")
        await asyncio.sleep(0.02)


async def emit_widgets(
    runtime: ServiceRuntime, event: str, count: int, start: int = 0
) -> list[str]:
    """Commit ``count`` widgets, each with its event; returns the event ids in order."""
    ids = []
    async with unit_of_work(runtime) as uow:
        for i in range(start, start + count):
            await uow.conn.execute("INSERT INTO widgets VALUES ($1, $2)", f"w{i}", f"n{i}")
            envelope = await uow.emit(event, f"w{i}", WidgetCreated(name=f"n{i}"))
            ids.append(envelope.id)
    return ids


async def relay_all(runtime: ServiceRuntime, batch_size: int = 200) -> int:
    total = 0
    while sent := await relay_batch(
        runtime.pool,
        runtime.redis,
        runtime.keys.event_stream,
        batch_size=batch_size,
        max_length=runtime.settings.stream_max_length,
    ):
        total += sent
    return total


async def publish(runtime: ServiceRuntime, event: str, count: int, start: int = 0) -> list[str]:
    ids = await emit_widgets(runtime, event, count, start)
    await relay_all(runtime)
    return ids


async def stream_event_ids(runtime: ServiceRuntime) -> list[str]:
    entries = await runtime.redis.xrange(runtime.keys.event_stream)
    return [orjson.loads(fields[b"event"])["id"] for _id, fields in entries]


async def effect_counts(runtime: ServiceRuntime) -> dict[str, int]:
    rows = await runtime.pool.fetch("SELECT key, count(*) AS n FROM effects GROUP BY key")
    return {r["key"]: r["n"] for r in rows}


async def effect_total(runtime: ServiceRuntime) -> int:
    total: int = await runtime.pool.fetchval("SELECT count(*) FROM effects")
    return total


def recording_handler(actor: str, calls: list[str] | None = None) -> EventHandler:
    async def handle(uow: UnitOfWork, envelope: EventEnvelope) -> None:
        if calls is not None:
            calls.append(envelope.id)
        await uow.conn.execute(
            "INSERT INTO effects (key, actor) VALUES ($1, $2)", envelope.id, actor
        )

    return handle


@asynccontextmanager
async def running(consumer: Consumer) -> AsyncIterator[asyncio.Event]:
    """Run ``consumer`` in the background; stop it gracefully on exit."""
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        yield stop
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


async def group_state(runtime: ServiceRuntime) -> dict[str, Any] | None:
    """XINFO GROUPS of this service's group, or None before the consumer created it."""
    groups = await runtime.redis.xinfo_groups(runtime.keys.event_stream)
    group = runtime.keys.consumer_group(runtime.service)
    return next((g for g in groups if g["name"].decode() == group), None)


async def drained(runtime: ServiceRuntime) -> bool:
    """Every message was delivered to the group and acknowledged.

    Compares ids rather than reading XINFO's ``lag``, which Redis 6.2 (the embedded server)
    does not report.
    """
    state = await group_state(runtime)
    if state is None or state["pending"] != 0:
        return False
    stream = await runtime.redis.xinfo_stream(runtime.keys.event_stream)
    return bool(state["last-delivered-id"] == stream["last-generated-id"])


# --- outbox and relay -------------------------------------------------------------------


async def test_emit_in_rolled_back_transaction_leaves_nothing(
    platform: ServiceRuntime, widget_event: str
) -> None:
    async def change_then_fail() -> None:
        async with unit_of_work(platform) as uow:
            await uow.conn.execute("INSERT INTO widgets VALUES ('w1', 'n1')")
            await uow.emit(widget_event, "w1", WidgetCreated(name="n1"))
            raise Boom

    with pytest.raises(Boom):
        await change_then_fail()
    assert await platform.pool.fetchval("SELECT count(*) FROM outbox") == 0
    assert await platform.pool.fetchval("SELECT count(*) FROM widgets") == 0
    assert await relay_all(platform) == 0
    assert await platform.redis.exists(platform.keys.event_stream) == 0


async def test_emit_checks_the_data_model(platform: ServiceRuntime, widget_event: str) -> None:
    with pytest.raises(TypeError):
        async with unit_of_work(platform) as uow:
            await uow.emit(widget_event, "w1", Boom())  # type: ignore[arg-type]


async def test_relay_publishes_committed_events_in_order_and_marks_them_sent(
    platform: ServiceRuntime, widget_event: str
) -> None:
    ids = await emit_widgets(platform, widget_event, 3)
    ids += await emit_widgets(platform, widget_event, 4, start=3)
    assert await platform.pool.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 7

    batches = []
    while sent := await relay_batch(
        platform.pool, platform.redis, platform.keys.event_stream, batch_size=3, max_length=1000
    ):
        batches.append(sent)
    assert batches == [3, 3, 1]

    assert await stream_event_ids(platform) == ids
    assert await platform.pool.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0
    first = orjson.loads(
        (await platform.redis.xrange(platform.keys.event_stream, count=1))[0][1][b"event"]
    )
    envelope = EventEnvelope.model_validate(first)
    assert (envelope.source, envelope.type, envelope.subject) == (
        "platformtest",
        widget_event,
        "w0",
    )
    assert envelope.region == platform.settings.region
    assert envelope.typed_data() == WidgetCreated(name="n0")


async def test_two_relays_publish_every_row_exactly_once(
    platform: ServiceRuntime, widget_event: str
) -> None:
    ids = await emit_widgets(platform, widget_event, 1000)
    pools = [
        await create_pool(platform.settings.service_database_url(platform.service)) for _ in "ab"
    ]

    async def drain(pool: Any) -> int:
        total = 0
        while sent := await relay_batch(
            pool, platform.redis, platform.keys.event_stream, batch_size=25, max_length=100_000
        ):
            total += sent
        return total

    try:
        totals = await asyncio.gather(*(drain(pool) for pool in pools))
    finally:
        for pool in pools:
            await pool.close()
    assert sum(totals) == 1000
    assert all(totals), totals  # both relays took part
    published = await stream_event_ids(platform)
    assert len(published) == 1000
    assert sorted(published) == sorted(ids)
    assert await platform.pool.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0


# --- consumers --------------------------------------------------------------------------


async def test_consumer_handles_each_event_once(
    platform: ServiceRuntime, widget_event: str
) -> None:
    # Published before the group exists: a new consumer group starts at the beginning.
    ids = await publish(platform, widget_event, 10)
    consumer = Consumer(platform, {widget_event: recording_handler("c1")}, name="c1")
    async with running(consumer):
        await eventually(lambda: drained_with(platform, 10))
    state = await group_state(platform)
    assert state is not None
    assert state["name"].decode() == consumer.group
    assert state["consumers"] == 1
    assert await effect_counts(platform) == dict.fromkeys(ids, 1)
    inbox = await platform.pool.fetch("SELECT event_id, event_type FROM inbox")
    assert {(r["event_id"], r["event_type"]) for r in inbox} == {(i, widget_event) for i in ids}


async def drained_with(runtime: ServiceRuntime, effects: int) -> bool:
    if await effect_total(runtime) < effects:
        return False
    return await drained(runtime)


async def test_an_event_delivered_twice_has_one_effect(
    platform: ServiceRuntime, widget_event: str
) -> None:
    [event_id] = await publish(platform, widget_event, 1)
    [(_, fields)] = await platform.redis.xrange(platform.keys.event_stream)
    await platform.redis.xadd(platform.keys.event_stream, {"event": fields[b"event"]})
    calls: list[str] = []
    consumer = Consumer(platform, {widget_event: recording_handler("c1", calls)}, name="c1")
    async with running(consumer):
        await eventually(lambda: drained_with(platform, 1))
        await asyncio.sleep(0.2)  # a second effect would show up here
    assert await effect_counts(platform) == {event_id: 1}
    assert calls == [event_id]

    # Handling it yet again directly changes nothing either.
    envelope = EventEnvelope.model_validate(orjson.loads(fields[b"event"]))
    assert await consumer.handle(envelope) is False
    assert await effect_counts(platform) == {event_id: 1}


async def test_events_without_a_handler_are_acknowledged(
    platform: ServiceRuntime, widget_event: str
) -> None:
    await publish(platform, widget_event, 3)
    async with running(Consumer(platform, {}, name="c1")):
        await eventually(lambda: drained(platform))
    assert await effect_total(platform) == 0


async def test_failed_handler_leaves_message_pending_and_retries_it(
    platform: ServiceRuntime, widget_event: str
) -> None:
    ids = await publish(platform, widget_event, 3)
    broken = {ids[1]}
    attempts: list[str] = []

    async def flaky(uow: UnitOfWork, envelope: EventEnvelope) -> None:
        attempts.append(envelope.id)
        await uow.conn.execute("INSERT INTO effects (key) VALUES ($1)", envelope.id)
        if envelope.id in broken:
            raise Boom("handler failed")

    async with running(Consumer(platform, {widget_event: flaky}, name="c1")):
        # The others go through; the failed one stays pending and its effect rolled back.
        await eventually(lambda: has_effects(platform, 2))
        await eventually(lambda: pending_count_is(platform, 1))
        assert await effect_counts(platform) == {ids[0]: 1, ids[2]: 1}
        assert not await platform.pool.fetchval(
            "SELECT count(*) FROM inbox WHERE event_id = $1", ids[1]
        )
        await asyncio.sleep(0.5)  # retried (and failing again) meanwhile
        assert attempts.count(ids[1]) >= 2
        broken.clear()
        await eventually(lambda: drained_with(platform, 3))
    assert await effect_counts(platform) == dict.fromkeys(ids, 1)


async def has_effects(runtime: ServiceRuntime, count: int) -> bool:
    return await effect_total(runtime) >= count


async def pending_count_is(runtime: ServiceRuntime, count: int) -> bool:
    state = await group_state(runtime)
    return state is not None and state["pending"] == count


@pytest.mark.parametrize("how", ["stop", "crash"])
async def test_consumer_restart_loses_nothing_and_repeats_nothing(
    platform: ServiceRuntime, widget_event: str, how: str
) -> None:
    first = await publish(platform, widget_event, 300)

    async def slow(uow: UnitOfWork, envelope: EventEnvelope) -> None:
        await asyncio.sleep(0.002)
        await recording_handler("old")(uow, envelope)

    old = Consumer(platform, {widget_event: slow}, name="old")
    stop = asyncio.Event()
    task = asyncio.create_task(old.run(stop))
    await eventually(lambda: has_effects(platform, 30))
    if how == "stop":
        stop.set()
        await asyncio.wait_for(task, 5)
        # A graceful stop finishes what it read: nothing is left pending.
        assert await pending_count_is(platform, 0)
    else:  # the process dies mid-batch: read-but-unacknowledged messages stay pending
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    handled_before = await effect_total(platform)
    assert 30 <= handled_before < 300

    more = await publish(platform, widget_event, 50, start=300)
    new = Consumer(platform, {widget_event: recording_handler("new")}, name="new")
    async with running(new):
        await eventually(lambda: drained_with(platform, 350), within=10)
        await asyncio.sleep(0.2)
    assert await effect_counts(platform) == dict.fromkeys(first + more, 1)


async def test_messages_of_a_dead_consumer_are_claimed(
    platform: ServiceRuntime, widget_event: str
) -> None:
    ids = await publish(platform, widget_event, 150)
    consumer = Consumer(platform, {widget_event: recording_handler("alive")}, name="alive")
    await consumer.ensure_group()
    # "dead" reads everything and never acknowledges.
    read = await platform.redis.xreadgroup(
        consumer.group, "dead", {consumer.stream: ">"}, count=1000
    )
    assert len(read[0][1]) == 150
    assert await pending_count_is(platform, 150)

    loop = asyncio.get_running_loop()
    started = loop.time()
    async with running(consumer):

        async def first_claimed() -> bool:
            return await effect_total(platform) >= 1

        await eventually(first_claimed, within=10)
        took = loop.time() - started
        # Handling all 150 takes what the machine has to spare; only the claim is timed.
        await eventually(lambda: drained_with(platform, 150), within=30)
    idle = platform.settings.consumer_claim_idle_ms / 1000
    assert took >= idle * 0.9
    # Claims follow the claim-idle cadence, not the much slower retry of its own pending ones.
    assert took < idle + 2.5, f"first claim only after {took:.1f}s"
    assert await effect_counts(platform) == dict.fromkeys(ids, 1)
    rows = await platform.pool.fetch("SELECT DISTINCT actor FROM effects")
    assert [r["actor"] for r in rows] == ["alive"]


async def test_consumer_outlives_a_flushed_stream(
    platform: ServiceRuntime, widget_event: str
) -> None:
    """A Redis flush deletes the stream and its group; the consumer re-creates the group and
    goes on with new events instead of stopping for good."""
    first = await publish(platform, widget_event, 3)
    consumer = Consumer(platform, {widget_event: recording_handler("c1")}, name="c1")
    async with running(consumer):
        await eventually(lambda: drained_with(platform, 3))
        await platform.redis.delete(platform.keys.event_stream)  # what FLUSHALL does to us
        later = await publish(platform, widget_event, 2, start=3)
        await eventually(lambda: drained_with(platform, 5))
    assert await effect_counts(platform) == dict.fromkeys([*first, *later], 1)


async def test_pruning_keeps_unsent_and_recent_rows(
    platform: ServiceRuntime, widget_event: str
) -> None:
    old_sent, recent_sent = await publish(platform, widget_event, 2)
    [unsent] = await emit_widgets(platform, widget_event, 1, start=2)
    await platform.pool.execute(
        "UPDATE outbox SET sent_at = now() - interval '8 days' WHERE event_id = $1", old_sent
    )
    await platform.pool.execute(
        "UPDATE outbox SET created_at = now() - interval '30 days' WHERE event_id = $1", unsent
    )
    assert await prune_outbox(platform.pool, timedelta(days=7)) == 1
    left = {r["event_id"] for r in await platform.pool.fetch("SELECT event_id FROM outbox")}
    assert left == {recent_sent, unsent}


async def test_inbox_forgets_only_events_the_stream_can_no_longer_deliver(
    platform: ServiceRuntime, widget_event: str
) -> None:
    consumer = Consumer(platform, {widget_event: recording_handler("c1")}, name="c1")
    old = await publish(platform, widget_event, 2)
    async with running(consumer):
        await eventually(lambda: drained_with(platform, 2))
    # Those two were handled long ago, have since been trimmed from the stream, and their
    # outbox rows are past the retention (a relay can no longer publish them again).
    retention = platform.settings.outbox_retention_days
    await platform.pool.execute(
        "UPDATE inbox SET handled_at = now() - make_interval(days => $1 + 1)", retention
    )
    # One handled within the outbox retention but trimmed from the stream stays: after a
    # loss of Redis' data the relay would publish it again.
    [kept_for_the_outbox] = await publish(platform, widget_event, 1, start=10)
    async with running(consumer):
        await eventually(lambda: drained_with(platform, 3))
    await platform.pool.execute(
        "UPDATE inbox SET handled_at = now() - interval '2 days' WHERE event_id = $1",
        kept_for_the_outbox,
    )
    stream = platform.keys.event_stream
    await platform.redis.xdel(stream, *[entry[0] for entry in await platform.redis.xrange(stream)])
    recent = await publish(platform, widget_event, 1, start=2)
    async with running(consumer):
        await eventually(lambda: drained_with(platform, 4))

    assert await consumer.prune_inbox() == 2
    kept = {r["event_id"] for r in await platform.pool.fetch("SELECT event_id FROM inbox")}
    assert kept == {*recent, kept_for_the_outbox}
    assert set(old).isdisjoint(kept)
    # Without a watermark (the stream is gone) nothing is forgotten.
    await platform.redis.delete(stream)
    assert await consumer.prune_inbox() == 0
    assert await platform.pool.fetchval("SELECT count(*) FROM inbox") == 2
