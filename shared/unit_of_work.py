"""One database transaction of a use case, with the events and timers it produces.

Events go to the outbox inside the transaction, so a change and its event commit or roll
back together, and so do the projections other services' read models take from the change
(:mod:`shared.projections`). Timers are rows in the same transaction; their arq jobs are
enqueued only after commit (if that enqueue is lost, the periodic sweep fires the timer).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime

from pydantic import BaseModel

from shared.db import Connection
from shared.events.envelope import EventEnvelope, new_event
from shared.observability.metrics import TIMERS_ARMED
from shared.observability.tracing import current_traceparent
from shared.projections import project
from shared.runtime import ServiceRuntime, job_queue_name
from shared.timers import TimerRow, arm_timer, cancel_timers, enqueue_timer

log = logging.getLogger(__name__)

AfterCommit = Callable[[], Awaitable[None]]


class UnitOfWork:
    """The open transaction of one use case."""

    def __init__(self, runtime: ServiceRuntime, conn: Connection) -> None:
        self.runtime = runtime
        self.conn = conn
        self.events: list[EventEnvelope] = []
        self.handling: EventEnvelope | None = None
        """The consumed event this unit handles, if it is a consumer's (projectors see it)."""
        self._after_commit: list[AfterCommit] = []

    async def emit(
        self,
        type_: str,
        subject: str,
        data: BaseModel,
        *,
        departments: list[str] | None = None,
    ) -> EventEnvelope:
        """Write an event to the outbox; it is published only if the transaction commits."""
        envelope = new_event(
            self.runtime.service,
            type_,
            subject,
            data,
            region=self.runtime.settings.region,
            departments=departments,
            traceparent=current_traceparent(),  # consumers continue this trace
            catalog_url=self.runtime.settings.event_catalog_url,
        )
        await self.conn.execute(
            "INSERT INTO outbox (event_id, event_type, envelope) VALUES ($1, $2, $3)",
            envelope.id,
            envelope.type,
            envelope.model_dump(mode="json"),
        )
        self.events.append(envelope)
        return envelope

    async def arm_timer(
        self,
        kind: str,
        subject: str,
        due_at: datetime,
        payload: dict[str, object] | None = None,
        *,
        region: str | None = None,
    ) -> TimerRow:
        """Set (or move) the deadline ``kind``/``subject``; its job is queued after commit, on
        the queue of ``region`` (a region-bound timer: shared/timer_firing.py), by default of
        the home region, whichever region arms it."""
        runtime = self.runtime
        region = region or runtime.settings.home_region
        timer = await arm_timer(self.conn, kind, subject, due_at, payload or {}, region)
        queue = job_queue_name(runtime.settings, runtime.service, region)
        self.after_commit(lambda: enqueue_timer(runtime.redis, queue, timer))
        self.after_commit(lambda: _count_armed(self.runtime.service, kind))
        return timer

    async def cancel_timer(self, kind: str, subject: str) -> None:
        """Drop a deadline; a job already queued for it finds nothing to fire."""
        await cancel_timers(self.conn, kind, [subject])

    async def cancel_timers(self, kind: str, subjects: Sequence[str]) -> None:
        """Drop the ``kind`` deadlines of many subjects at once."""
        await cancel_timers(self.conn, kind, subjects)

    def after_commit(self, callback: AfterCommit) -> None:
        """Run ``callback`` once the transaction has committed (failures are only logged)."""
        self._after_commit.append(callback)

    async def run_after_commit(self) -> None:
        for callback in self._after_commit:
            try:
                await callback()
            except Exception:
                # Work after commit is a fast path only (queueing, pub/sub wake-ups); the
                # sweep and the relay make up for anything lost here.
                log.exception("after-commit callback failed")


async def _count_armed(service: str, kind: str) -> None:
    TIMERS_ARMED.labels(service, kind).inc()


@asynccontextmanager
async def unit_of_work(runtime: ServiceRuntime) -> AsyncIterator[UnitOfWork]:
    """Open a transaction; commit on success, then run the after-commit callbacks."""
    async with runtime.pool.acquire() as conn:
        uow = UnitOfWork(runtime, conn)
        async with conn.transaction():
            yield uow
            await project(uow)  # read models elsewhere commit with the change
    await uow.run_after_commit()
