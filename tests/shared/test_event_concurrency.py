"""The event path's concurrency on real PostgreSQL and Redis: a consumer handles up to
``consumer_concurrency`` events at once, one subject's events in stream order, and loses
nothing when it dies mid-batch; the relay publishes as soon as an event commits."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import defaultdict

from shared.events.consumer import Consumer
from shared.events.envelope import EventEnvelope
from shared.events.relay import relay_forever
from shared.runtime import ServiceRuntime
from shared.unit_of_work import UnitOfWork, unit_of_work
from tests.shared.conftest import SERVICE, WidgetCreated
from tests.shared.test_outbox_relay_consumer import (
    drained_with,
    effect_counts,
    eventually,
    publish,
    recording_handler,
    relay_all,
    running,
    stream_event_ids,
)

WAIT = 5.0
"""How long a handler waits for the others it needs running beside it."""


def with_settings(runtime: ServiceRuntime, **changes: object) -> ServiceRuntime:
    """``runtime`` (same pool and Redis) with some settings changed."""
    settings = runtime.settings.model_copy(update=changes)
    return dataclasses.replace(runtime, settings=settings)


async def publish_subjects(runtime: ServiceRuntime, event: str, subjects: list[str]) -> None:
    """One event per entry of ``subjects`` (its name is its position), in that order."""
    async with unit_of_work(runtime) as uow:
        for position, subject in enumerate(subjects):
            await uow.emit(event, subject, WidgetCreated(name=str(position)))
    await relay_all(runtime)


async def test_a_consumer_handles_up_to_its_concurrency_at_once(
    platform: ServiceRuntime, widget_event: str
) -> None:
    ids = await publish(platform, widget_event, 20)  # 20 subjects
    bound = 3
    in_flight = peak = 0
    full = asyncio.Event()
    record = recording_handler("c")

    async def crowded(uow: UnitOfWork, envelope: EventEnvelope) -> None:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        if in_flight == bound:
            full.set()
        try:
            # Handled one at a time, the first would wait here in vain and fail.
            await asyncio.wait_for(full.wait(), WAIT)
            await record(uow, envelope)
        finally:
            in_flight -= 1

    runtime = with_settings(platform, consumer_concurrency=bound)
    consumer = Consumer(runtime, {widget_event: crowded})
    async with running(consumer):
        await eventually(lambda: drained_with(platform, 20), within=10)
    assert peak == bound
    assert await effect_counts(platform) == dict.fromkeys(ids, 1)


async def test_one_subjects_events_are_handled_one_at_a_time_in_stream_order(
    platform: ServiceRuntime, widget_event: str
) -> None:
    subjects = ["a", "b", "c"]
    await publish_subjects(platform, widget_event, subjects * 8)
    handled: dict[str, list[int]] = defaultdict(list)
    busy: set[str] = set()
    overlaps: list[str] = []
    all_started = asyncio.Event()
    record = recording_handler("c")

    async def ordered(uow: UnitOfWork, envelope: EventEnvelope) -> None:
        subject = envelope.subject
        if subject in busy:
            overlaps.append(subject)
        busy.add(subject)
        try:
            if len(busy) == len(subjects):
                all_started.set()
            await asyncio.wait_for(all_started.wait(), WAIT)  # the subjects run side by side
            await record(uow, envelope)
            handled[subject].append(int(envelope.data["name"]))
        finally:
            busy.discard(subject)

    consumer = Consumer(with_settings(platform, consumer_concurrency=4), {widget_event: ordered})
    async with running(consumer):
        await eventually(lambda: drained_with(platform, 24), within=10)
    assert overlaps == []
    for offset, subject in enumerate(subjects):
        assert handled[subject] == list(range(offset, 24, len(subjects)))


async def test_a_failed_event_holds_back_the_later_events_of_its_subject_only(
    platform: ServiceRuntime, widget_event: str
) -> None:
    await publish_subjects(platform, widget_event, ["a", "b", "a", "b", "a"])
    failing = {"2"}  # the second event of "a"
    attempts: list[str] = []
    record = recording_handler("c")

    async def flaky(uow: UnitOfWork, envelope: EventEnvelope) -> None:
        name = envelope.data["name"]
        attempts.append(name)
        if name in failing:
            failing.clear()  # fails once
            raise RuntimeError("handler failed")
        await record(uow, envelope)

    consumer = Consumer(with_settings(platform, consumer_concurrency=4), {widget_event: flaky})
    async with running(consumer):
        await eventually(lambda: drained_with(platform, 5), within=10)
    assert attempts.count("2") == 2
    retried_at = max(i for i, name in enumerate(attempts) if name == "2")
    # "a"'s last event waited for its second to succeed; "b"'s did not wait at all.
    assert attempts.index("4") > retried_at
    assert attempts.index("3") < retried_at
    assert await effect_counts(platform) == dict.fromkeys(await stream_event_ids(platform), 1)


async def acknowledged_event_ids(runtime: ServiceRuntime, group: str) -> set[str]:
    """Events whose stream entry the group has acknowledged (delivered, no longer pending)."""
    entries = await runtime.redis.xrange(runtime.keys.event_stream)
    pending = await runtime.redis.xpending_range(
        runtime.keys.event_stream, group, min="-", max="+", count=10_000
    )
    pending_ids = {p["message_id"] for p in pending}
    return {
        EventEnvelope.model_validate_json(fields[b"event"]).id
        for message_id, fields in entries
        if message_id not in pending_ids
    }


async def test_a_consumer_that_dies_mid_batch_loses_nothing_and_repeats_nothing(
    platform: ServiceRuntime, widget_event: str
) -> None:
    ids = await publish(platform, widget_event, 40)
    stuck = 0
    record = recording_handler("old")

    async def dies_after_ten(uow: UnitOfWork, envelope: EventEnvelope) -> None:
        nonlocal stuck
        await record(uow, envelope)
        if int(envelope.data["name"].removeprefix("n")) >= 10:  # never commits from the 11th on
            stuck += 1
            await asyncio.Event().wait()

    old = Consumer(with_settings(platform, consumer_concurrency=4), {widget_event: dies_after_ten})
    task = asyncio.create_task(old.run(asyncio.Event()))

    async def four_stuck() -> bool:
        return stuck == 4

    await eventually(four_stuck, within=10)
    task.cancel()  # the process dies with four transactions open and a batch unacknowledged
    await asyncio.gather(task, return_exceptions=True)
    committed = set(await effect_counts(platform))
    assert len(committed) == 10
    inbox = {r["event_id"] for r in await platform.pool.fetch("SELECT event_id FROM inbox")}
    assert inbox == committed  # the open transactions rolled back
    assert await acknowledged_event_ids(platform, old.group) <= committed

    new = Consumer(platform, {widget_event: recording_handler("new")}, name="new")
    async with running(new):  # takes over the dead consumer's messages once they are idle
        await eventually(lambda: drained_with(platform, 40), within=10)
    assert await effect_counts(platform) == dict.fromkeys(ids, 1)


async def test_the_relay_publishes_on_commit_without_waiting_for_its_poll(
    platform: ServiceRuntime, widget_event: str
) -> None:
    settings = platform.settings.model_copy(update={"relay_poll_seconds": 60.0})
    url = settings.service_database_url(SERVICE)
    stop = asyncio.Event()
    relay = asyncio.create_task(relay_forever(url, platform.redis, settings, stop, SERVICE))
    try:
        for count in range(1, 4):
            async with unit_of_work(platform) as uow:
                await uow.emit(widget_event, f"w{count}", WidgetCreated(name=str(count)))

            async def published(count: int = count) -> bool:
                return len(await stream_event_ids(platform)) == count

            await eventually(published, within=WAIT)  # far sooner than the 60 s poll
    finally:
        stop.set()
        await asyncio.wait_for(relay, WAIT)
