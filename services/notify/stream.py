"""The partner event stream: the event log read in order, filtered to what the caller may
see, resumable from the last event id it received (replay query and live subscription)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from services.notify import event_log
from services.notify.event_log import Position
from services.notify.models import LoggedEvent
from shared.auth import Principal
from shared.graphql.errors import PublicError
from shared.runtime import ServiceRuntime

_BATCH = 500


async def position_after(runtime: ServiceRuntime, after_event_id: str | None) -> Position:
    """The log position of ``after_event_id`` (the start of the log if None)."""
    if not after_event_id:
        return event_log.START
    async with runtime.pool.acquire() as conn:
        position = await event_log.position_of(conn, after_event_id)
    if position is None:
        days = runtime.settings.notify_retention_days
        raise PublicError(
            f"`after` names no event of this stream (unknown, or older than the {days}-day"
            f" retention): {after_event_id}"
        )
    return position


async def read(
    runtime: ServiceRuntime,
    principal: Principal,
    after: Position,
    types: Sequence[str] | None,
    limit: int,
) -> list[LoggedEvent]:
    """Up to ``limit`` visible events after ``after``."""
    async with runtime.pool.acquire() as conn:
        return await event_log.page(conn, event_log.visible_to(principal, types), after, limit)


async def follow(
    runtime: ServiceRuntime, principal: Principal, after: Position, types: Sequence[str] | None
) -> AsyncIterator[LoggedEvent]:
    """Every visible event after ``after``, then new ones as they are logged.

    Pub/sub only wakes the reader: events are read from the log, in order, so nothing is
    skipped when a wake-up is lost or two arrive together.
    """
    rows = event_log.visible_to(principal, types)
    pubsub = runtime.redis.pubsub(ignore_subscribe_messages=True)
    position = after
    try:
        await pubsub.subscribe(runtime.keys.partner_events_channel)
        while True:
            async with runtime.pool.acquire() as conn:
                events, position = await event_log.read_on(conn, rows, position, _BATCH)
            for event in events:
                yield event
            if len(events) == _BATCH:
                continue
            await pubsub.get_message(timeout=5.0)  # a wake-up, or a periodic look anyway
            while await pubsub.get_message(timeout=0):  # drain wake-ups that piled up
                pass
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
