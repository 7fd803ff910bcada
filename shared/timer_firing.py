"""Firing timers, exactly once.

* :func:`fire_timer` (the arq job's body) marks the row fired with
  ``UPDATE ... WHERE fired_at IS NULL`` and runs the handler in the same transaction, so a
  timer fires once however many jobs or sweeps race for it.
* :func:`sweep` fires every due timer the queue lost (worker crash, Redis flush) and
  re-queues those due before the next sweep, so they keep the fast path.

**Regions** (``LIAISON_REGIONAL_QUEUES``). Most timers belong to the home region
(``LIAISON_HOME_REGION``, next to the databases): SLA clocks, reminders, minutes due. Its
sweep fires them whatever region they concern or armed them, so a region cut off from hq
does not stall its issues' escalations. A kind whose handler is wrapped in
:class:`RegionBound` is bound to the region in its row (a delivery's watchdog: it acts for
jobs only that region's workers can run, as they alone reach its chat robots and SMTP relay);
only that region's sweep fires it, and while the region is away it simply waits, like the
region's queued jobs.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from arq.worker import Retry

from shared.db import Connection
from shared.observability.metrics import record_timer_fired
from shared.runtime import ServiceRuntime
from shared.timers import COLUMNS, TimerRow, enqueue_timer, timer_job_id
from shared.unit_of_work import UnitOfWork, unit_of_work

log = logging.getLogger(__name__)

TimerHandler = Callable[[UnitOfWork, TimerRow], Awaitable[None]]


async def fire_timer(
    runtime: ServiceRuntime, handlers: Mapping[str, TimerHandler], timer_id: str, version: int
) -> bool:
    """Fire one timer if it is due, unfired and still at ``version``; True if it fired now."""
    async with unit_of_work(runtime) as uow:
        record = await uow.conn.fetchrow(
            f"""
            UPDATE timers SET fired_at = now()
             WHERE id = $1 AND version = $2 AND fired_at IS NULL AND due_at <= now()
            RETURNING {COLUMNS}
            """,
            uuid.UUID(timer_id),
            version,
        )
        if record is None:
            await _retry_if_early(uow.conn, timer_id, version)
            return False
        timer = TimerRow.from_record(record)
        await _dispatch(uow, handlers, timer)
    record_timer_fired(runtime.service, timer.kind, timer.due_at, "job")
    return True


async def _retry_if_early(conn: Connection, timer_id: str, version: int) -> None:
    """A job that runs before its deadline (clock skew between hosts) tries again later."""
    due_at = await conn.fetchval(
        "SELECT due_at FROM timers WHERE id = $1 AND version = $2 AND fired_at IS NULL",
        uuid.UUID(timer_id),
        version,
    )
    if due_at is not None:
        raise Retry(defer=max(due_at - datetime.now(UTC), timedelta(milliseconds=100)))


async def _dispatch(uow: UnitOfWork, handlers: Mapping[str, TimerHandler], timer: TimerRow) -> None:
    handler = handlers.get(timer.kind)
    if handler is None:
        log.error("no handler for timer kind %s; marked fired without effect", timer.kind)
        return
    await handler(uow, timer)


@dataclass(frozen=True)
class RegionBound:
    """A timer handler whose timers only the workers of the timer's own region may fire."""

    handler: TimerHandler

    async def __call__(self, uow: UnitOfWork, timer: TimerRow) -> None:
        await self.handler(uow, timer)


# The timers a sweep takes ($2: its region, NULL when queues are not regional; $3: it is the
# home region's; $4: the region-bound kinds). Home takes every kind that is not bound, of any
# region (rows armed by older releases name the region that armed them), plus its own bound
# ones; another region takes only its own bound ones.
_SWEPT = """(
    $2::text IS NULL
    OR CASE WHEN $3::bool THEN kind <> ALL($4::text[]) OR region IS NULL OR region = $2
            ELSE kind = ANY($4::text[]) AND region = $2 END)"""


_Scope = tuple[str | None, bool, list[str]]


def _scope(runtime: ServiceRuntime, handlers: Mapping[str, TimerHandler]) -> _Scope:
    """The values of ``_SWEPT``'s parameters $2 to $4 for this runtime's sweep."""
    settings = runtime.settings
    bound = sorted(kind for kind, handler in handlers.items() if isinstance(handler, RegionBound))
    if not settings.regional_queues:
        return None, True, bound
    return settings.region, settings.region == settings.home_region, bound


async def sweep(runtime: ServiceRuntime, handlers: Mapping[str, TimerHandler]) -> int:
    """Fire every due timer of this region's scope one transaction at a time; re-queue
    those due soon.

    A timer whose handler fails stays due (its transaction rolled back) and is skipped for
    the rest of this pass, so one broken timer does not hold up the others.
    """
    scope = _scope(runtime, handlers)
    fired = 0
    failed: list[uuid.UUID] = []
    while True:
        timer: TimerRow | None = None
        try:
            async with unit_of_work(runtime) as uow:
                record = await uow.conn.fetchrow(
                    f"""
                    UPDATE timers SET fired_at = now()
                     WHERE id = (SELECT id FROM timers
                                  WHERE fired_at IS NULL AND due_at <= now()
                                    AND id <> ALL($1::uuid[]) AND {_SWEPT}
                                  ORDER BY due_at LIMIT 1 FOR UPDATE SKIP LOCKED)
                    RETURNING {COLUMNS}
                    """,
                    failed,
                    *scope,
                )
                if record is None:
                    break
                timer = TimerRow.from_record(record)
                await _dispatch(uow, handlers, timer)
        except Exception:
            if timer is None:
                raise
            log.exception("timer %s (%s) failed; it stays due", timer.id, timer.kind)
            failed.append(timer.id)
            continue
        assert timer is not None
        record_timer_fired(runtime.service, timer.kind, timer.due_at, "sweep")
        fired += 1
    await _requeue_upcoming(runtime, scope)
    return fired


async def _requeue_upcoming(runtime: ServiceRuntime, scope: _Scope) -> None:
    """Queue again the jobs of the timers due before the next sweep whose job was lost, on
    this sweep's own queue (a timer armed elsewhere by an older release moves to it).

    Usually none was: their ids are asked of the queue first, and only the missing ones
    are read and queued. With thousands of timers due soon, reading every row and queueing
    each again (arq checks each job in three round trips) took the worker seconds of CPU a
    sweep, during which due timers waited."""
    horizon = timedelta(seconds=runtime.settings.timer_sweep_seconds * 2)
    upcoming = await runtime.pool.fetch(
        "SELECT id, version FROM timers"
        f" WHERE fired_at IS NULL AND due_at <= now() + $1 AND {_SWEPT}",
        horizon,
        *scope,
    )
    missing = await _not_queued(runtime, [(r["id"], r["version"]) for r in upcoming])
    if not missing:
        return
    records = await runtime.pool.fetch(
        f"SELECT {COLUMNS} FROM timers WHERE id = ANY($1::uuid[]) AND fired_at IS NULL",
        missing,
    )
    for record in records:  # at the version now armed, should one have moved meanwhile
        await enqueue_timer(runtime.redis, runtime.queue_name, TimerRow.from_record(record))


_QUEUE_LOOKUP_BATCH = 1000


async def _not_queued(
    runtime: ServiceRuntime, timers: list[tuple[uuid.UUID, int]]
) -> list[uuid.UUID]:
    """The ids of the (id, version) timers whose job is not in the queue, one ZMSCORE a
    batch."""
    missing: list[uuid.UUID] = []
    for start in range(0, len(timers), _QUEUE_LOOKUP_BATCH):
        batch = timers[start : start + _QUEUE_LOOKUP_BATCH]
        job_ids = [timer_job_id(timer_id, version) for timer_id, version in batch]
        scores = await runtime.redis.zmscore(runtime.queue_name, job_ids)
        missing += [timer[0] for timer, score in zip(batch, scores, strict=True) if score is None]
    return missing
