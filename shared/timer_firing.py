"""Firing timers, exactly once.

* :func:`fire_timer` (the arq job's body) marks the row fired with
  ``UPDATE ... WHERE fired_at IS NULL`` and runs the handler in the same transaction, so a
  timer fires once however many jobs or sweeps race for it.
* :func:`sweep` fires every due timer the queue lost (worker crash, Redis flush) and
  re-queues those due before the next sweep, so they keep the fast path.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
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


# With regional queues, a region's sweep takes only its own timers (and those armed before
# timers had a region), so a region's effects stay inside it even when jobs were lost.
_OWN_REGION = "($2::text IS NULL OR region IS NULL OR region = $2)"


def _sweeping_region(runtime: ServiceRuntime) -> str | None:
    """The region this sweep is limited to, or None when queues are not regional."""
    return runtime.settings.region if runtime.settings.regional_queues else None


async def sweep(runtime: ServiceRuntime, handlers: Mapping[str, TimerHandler]) -> int:
    """Fire every due timer one transaction at a time; re-queue those due soon.

    A timer whose handler fails stays due (its transaction rolled back) and is skipped for
    the rest of this pass, so one broken timer does not hold up the others.
    """
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
                                    AND id <> ALL($1::uuid[]) AND {_OWN_REGION}
                                  ORDER BY due_at LIMIT 1 FOR UPDATE SKIP LOCKED)
                    RETURNING {COLUMNS}
                    """,
                    failed,
                    _sweeping_region(runtime),
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
    await _requeue_upcoming(runtime)
    return fired


async def _requeue_upcoming(runtime: ServiceRuntime) -> None:
    """Queue again the jobs of the timers due before the next sweep whose job was lost.

    Usually none was: their ids are asked of the queue first, and only the missing ones
    are read and queued. With thousands of timers due soon, reading every row and queueing
    each again (arq checks each job in three round trips) took the worker seconds of CPU a
    sweep, during which due timers waited."""
    horizon = timedelta(seconds=runtime.settings.timer_sweep_seconds * 2)
    upcoming = await runtime.pool.fetch(
        "SELECT id, version FROM timers"
        f" WHERE fired_at IS NULL AND due_at <= now() + $1 AND {_OWN_REGION}",
        horizon,
        _sweeping_region(runtime),
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
