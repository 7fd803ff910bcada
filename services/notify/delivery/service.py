"""Creating and scheduling deliveries.

Each attempt is one arq job (``send_delivery``) deferred to ``next_attempt_at`` and queued
after commit. A durable timer (``notify.delivery``) is armed at the same time for
``next_attempt_at`` plus the lease: if the job is lost (Redis flushed, enqueue failed) or its
worker dies, the timer notices and puts things right (:mod:`services.notify.delivery.jobs`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from services.notify.delivery import repository as repo
from services.notify.models import Delivery, TargetKind
from shared.runtime import job_queue_name
from shared.settings import Settings
from shared.timers import TimerRow
from shared.unit_of_work import UnitOfWork

SEND_JOB = "send_delivery"
WATCHDOG_TIMER = "notify.delivery"


def now() -> datetime:
    return datetime.now(UTC)


async def schedule(uow: UnitOfWork, delivery: Delivery) -> None:
    """Queue the next attempt of ``delivery`` and arm its watchdog."""
    # An attempt whose time has passed (a lost job found late) is sent now; the watchdog then
    # looks a lease after *now*: armed in the past it would fire at once, find the attempt
    # still queued and re-arm itself in a tight loop.
    due = max(delivery.next_attempt_at or now(), now())
    lease = timedelta(seconds=uow.runtime.settings.notify_delivery_lease_seconds)
    timer = await arm_watchdog(uow, delivery, due + lease)
    # The timer row is new after a cancel and bumps its version on every arm, so the job id
    # is never one arq still keeps a result for.
    job_id = f"delivery:{delivery.id}:{timer.id}:{timer.version}"
    runtime = uow.runtime
    queue = job_queue_name(
        runtime.settings, runtime.service, sending_region(runtime.settings, delivery)
    )

    async def enqueue() -> None:
        await runtime.redis.enqueue_job(
            SEND_JOB,
            delivery.id,
            _job_id=job_id,
            _defer_until=due,
            _queue_name=queue,
        )

    uow.after_commit(enqueue)


def sending_region(settings: Settings, delivery: Delivery) -> str:
    """The region whose workers send ``delivery``: its target's, else the home region."""
    return delivery.region or settings.home_region


async def arm_watchdog(uow: UnitOfWork, delivery: Delivery, due_at: datetime) -> TimerRow:
    """Arm the delivery's watchdog, bound to the region that sends it: it acts for that
    region's jobs, so it waits with them while the region is away."""
    region = sending_region(uow.runtime.settings, delivery)
    return await uow.arm_timer(WATCHDOG_TIMER, delivery.id, due_at, region=region)


async def create(
    uow: UnitOfWork,
    event_id: str,
    event_type: str,
    target_kind: TargetKind,
    target_id: str,
    payload: dict[str, Any],
    at: datetime | None = None,
) -> Delivery | None:
    """A delivery of one event to one target, scheduled; None if it already exists."""
    delivery = await repo.insert_delivery(
        uow.conn, event_id, event_type, target_kind, target_id, payload, at or now()
    )
    if delivery is not None:
        await schedule(uow, delivery)
    return delivery
