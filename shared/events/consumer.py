"""Event consumers: one Redis consumer group per service, exactly-once effects.

Each message is handled in one transaction of the consuming service's database that first
records the event id in ``inbox``; an id already there is skipped. A read batch is handled
``consumer_concurrency`` events at a time, the events of one subject (aggregate) one after
the other in stream order; the messages whose handling committed are acknowledged together
(one XACK) once the batch is done, so a consumer that dies mid-batch leaves every message it
had not acknowledged pending, and the inbox drops those it had already handled. A failed
event stays pending, and so do the later events of its subject in that batch: they are
retried, in order, with it. Messages left pending by a consumer that died are claimed by
another after ``consumer_claim_idle_ms``; a consumer re-reads its own pending messages
when it starts, and after a failed handler. Outages of Redis or the database pause the
consumer, they do not end it; a flushed Redis (the group gone) is met by re-creating the
group at the start of what the stream still holds.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta

import orjson
from opentelemetry import trace
from redis.exceptions import ResponseError

from shared.events.envelope import EventEnvelope
from shared.observability.metrics import EVENT_AGE, EVENTS_HANDLED
from shared.observability.tracing import context_from_traceparent, tracer
from shared.resilience import DATABASE_OUTAGES, REDIS_OUTAGES, Outage
from shared.runtime import ServiceRuntime
from shared.unit_of_work import UnitOfWork, unit_of_work

log = logging.getLogger(__name__)

EventHandler = Callable[[UnitOfWork, EventEnvelope], Awaitable[None]]
Entry = tuple[bytes, dict[bytes, bytes]]
"""A stream entry as read: its id and its fields (none once trimmed from the stream)."""
_RETRY_PENDING_SECONDS = 5.0
_PRUNE_EVERY_SECONDS = 3600.0
_PRUNE_MARGIN = timedelta(hours=1)  # clocks of Redis and PostgreSQL may disagree a little


def _stream_gone(error: ResponseError) -> bool:
    """Redis' answers when the stream or group was deleted under us (e.g. a flush)."""
    return str(error).startswith(("NOGROUP", "UNBLOCKED"))


def _outage_reply(error: ResponseError) -> bool:
    """An error reply that an outage explains: the stream gone, or READONLY from a server
    demoted under a client without Sentinel (one of :data:`REDIS_OUTAGES`)."""
    return isinstance(error, REDIS_OUTAGES) or _stream_gone(error)


_PAUSES: tuple[type[BaseException], ...] = (*DATABASE_OUTAGES, *REDIS_OUTAGES, ResponseError)


class Consumer:
    """Reads the event stream for one service and applies its handlers."""

    def __init__(
        self,
        runtime: ServiceRuntime,
        handlers: Mapping[str, EventHandler],
        name: str | None = None,
    ) -> None:
        self.runtime = runtime
        self.handlers = handlers
        self.stream = runtime.keys.event_stream
        self.group = runtime.keys.consumer_group(runtime.service)
        self.name = name or f"{socket.gethostname()}-{os.getpid()}"
        self._retry_pending = True
        self._next_prune = 0.0
        self._outage = Outage(f"{self.group} consumer", "PostgreSQL or Redis")

    async def ensure_group(self) -> None:
        """Create the group at the start of the stream, so a new service sees past events."""
        try:
            await self.runtime.redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set, riding out Redis or database outages."""
        while not stop.is_set():
            try:
                await self._consume(stop)
            except _PAUSES as exc:
                # A restart, failover or flush of Redis (the group is gone: NOGROUP) or of the
                # database must not end consumption for good; the inbox absorbs re-reads.
                if isinstance(exc, ResponseError) and not _outage_reply(exc):
                    raise
                await self._outage.wait(exc, stop)

    async def _consume(self, stop: asyncio.Event) -> None:
        await self.ensure_group()
        # Look for abandoned messages at least as often as they become claimable.
        retry_every = min(
            _RETRY_PENDING_SECONDS, self.runtime.settings.consumer_claim_idle_ms / 1000
        )
        last_retry = 0.0
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            if self._retry_pending or loop.time() - last_retry > retry_every:
                last_retry = loop.time()
                self._retry_pending = False
                await self._retry_own_pending()
                await self._claim_abandoned()
            entries = await self._read(">", block=self.runtime.settings.consumer_block_ms)
            self._outage.recovered()
            await self._process(entries)
            if loop.time() >= self._next_prune:
                self._next_prune = loop.time() + _PRUNE_EVERY_SECONDS
                await self.prune_inbox()

    async def prune_inbox(self) -> int:
        """Forget handled event ids that can no longer be delivered again.

        An id must stay while its event is in the stream (a re-created group re-reads the
        whole stream), and while its outbox row is kept (a relay that finds Redis' data lost
        publishes every kept row again). Every event handled before the oldest entry still
        in the stream was itself added before it, so it has been trimmed away; outbox rows
        are deleted ``outbox_retention_days`` after they were published.
        """
        first = await self._oldest_entry_time()
        if first is None:
            return 0  # no watermark (empty or missing stream): keep everything
        kept_in_outboxes = timedelta(days=self.runtime.settings.outbox_retention_days)
        before = min(first, datetime.now(UTC) - kept_in_outboxes) - _PRUNE_MARGIN
        result: str = await self.runtime.pool.execute(
            "DELETE FROM inbox WHERE handled_at < $1", before
        )
        return int(result.split()[-1])

    async def _oldest_entry_time(self) -> datetime | None:
        entries = await self.runtime.redis.xrange(self.stream, count=1)
        if not entries:
            return None
        millis = int(entries[0][0].split(b"-")[0])
        return datetime.fromtimestamp(millis / 1000, UTC)

    async def _read(self, start: str, block: int | None) -> list[Entry]:
        response = await self.runtime.redis.xreadgroup(
            self.group, self.name, {self.stream: start}, count=100, block=block
        )
        return [entry for _stream, entries in response or [] for entry in entries]

    async def _retry_own_pending(self) -> None:
        """Re-handle every message delivered to this consumer and not yet acknowledged."""
        start = "0"
        while entries := await self._read(start, block=None):
            await self._process(entries)
            start = entries[-1][0].decode()

    async def _claim_abandoned(self) -> None:
        """Take over and handle every message left idle by other consumers."""
        start: bytes | str = "0-0"
        while True:
            result = await self.runtime.redis.xautoclaim(
                self.stream,
                self.group,
                self.name,
                min_idle_time=self.runtime.settings.consumer_claim_idle_ms,
                start_id=start,
                count=100,
            )
            start = result[0]
            entries: list[Entry] = result[1]
            await self._process([entry for entry in entries if entry[1]])
            if start in (b"0-0", "0-0"):
                return

    async def _process(self, entries: list[Entry]) -> None:
        """Handle a read batch, one subject per lane, and acknowledge what was handled."""
        handled: list[bytes] = []
        lanes: dict[str, list[tuple[bytes, EventEnvelope]]] = {}
        for message_id, fields in entries:
            if not fields:  # the entry was trimmed from the stream; nothing left to do
                handled.append(message_id)
            elif (envelope := self._decode(message_id, fields)) is not None:
                lanes.setdefault(envelope.subject, []).append((message_id, envelope))
        queue = deque(lanes.values())

        async def take_lanes() -> None:
            while queue:
                handled.extend(await self._handle_lane(queue.popleft()))

        async with asyncio.TaskGroup() as group:
            for _ in range(min(self.runtime.settings.consumer_concurrency, len(queue))):
                group.create_task(take_lanes())
        await self._ack(handled)

    def _decode(self, message_id: bytes, fields: dict[bytes, bytes]) -> EventEnvelope | None:
        try:
            return EventEnvelope.model_validate(orjson.loads(fields[b"event"]))
        except Exception:
            self._failed(message_id)
            return None

    async def _handle_lane(self, lane: list[tuple[bytes, EventEnvelope]]) -> list[bytes]:
        """Handle one subject's events in order; the ids handled, up to the first failure
        (the events after it wait for its retry, so the subject's order holds)."""
        handled = []
        for message_id, envelope in lane:
            try:
                await self.handle(envelope)
            except Exception:
                self._failed(message_id)
                break
            handled.append(message_id)
        return handled

    def _failed(self, message_id: bytes) -> None:
        EVENTS_HANDLED.labels(self.runtime.service, "failed").inc()
        log.exception("handling %s failed; it stays pending", message_id)
        self._retry_pending = True

    async def _ack(self, message_ids: list[bytes]) -> None:
        if message_ids:
            await self.runtime.redis.xack(self.stream, self.group, *message_ids)

    async def handle(self, envelope: EventEnvelope) -> bool:
        """Apply one event once; False if it was already handled or has no handler.

        The handling is a span in the trace of the change that emitted the event."""
        service = self.runtime.service
        handler = self.handlers.get(envelope.type)
        if handler is None:
            EVENTS_HANDLED.labels(service, "ignored").inc()
            return False
        with tracer().start_as_current_span(
            f"consume {envelope.type}",
            context=context_from_traceparent(envelope.traceparent),
            kind=trace.SpanKind.CONSUMER,
            attributes={"messaging.message.id": envelope.id, "liaison.consumer": service},
        ):
            handled = await self._handle_once(handler, envelope)
        EVENTS_HANDLED.labels(service, "handled" if handled else "duplicate").inc()
        if handled:
            age = (datetime.now(UTC) - envelope.time).total_seconds()
            EVENT_AGE.labels(service).observe(max(0.0, age))
        return handled

    async def _handle_once(self, handler: EventHandler, envelope: EventEnvelope) -> bool:
        async with unit_of_work(self.runtime) as uow:
            first_time = await uow.conn.fetchval(
                "INSERT INTO inbox (event_id, event_type) VALUES ($1, $2)"
                " ON CONFLICT DO NOTHING RETURNING true",
                envelope.id,
                envelope.type,
            )
            if not first_time:
                return False
            uow.handling = envelope  # projected with what the handler emits
            await handler(uow, envelope)
        return True
