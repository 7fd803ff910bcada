"""Background worker of the notify service: ``python -m services.notify.worker``.

It consumes every service's events (:mod:`services.notify.handlers`), runs one
``send_delivery`` job per delivery attempt, fires the delivery watchdogs and the daily
digests (durable timers), and prunes what is past its retention
(:mod:`services.notify.scheduled`).
"""

from __future__ import annotations

from typing import Any

from arq.worker import func

from services.notify.app import MIGRATIONS
from services.notify.delivery import jobs as delivery_jobs
from services.notify.delivery.service import SEND_JOB, WATCHDOG_TIMER
from services.notify.digests import send_digest
from services.notify.handlers import EVENT_HANDLERS
from services.notify.models import DeliveryStatus, TargetKind
from services.notify.people import DIGEST_TIMER
from services.notify.scheduled import prune_old_rows, reseal_secrets
from shared.observability.metrics import prime_delivery_metrics
from shared.settings import Settings, get_settings
from shared.timer_firing import RegionBound, TimerHandler
from shared.worker import run_worker, worker_settings

TIMER_HANDLERS: dict[str, TimerHandler] = {
    # A delivery's region sends it; its watchdog waits there too (shared/timer_firing.py).
    WATCHDOG_TIMER: RegionBound(delivery_jobs.on_watchdog),
    DIGEST_TIMER: send_digest,
}


async def send_delivery(ctx: dict[str, Any], delivery_id: str) -> str:
    """One attempt of one delivery (arq job ``send_delivery``)."""
    return await delivery_jobs.send_delivery(ctx["runtime"], delivery_id, ctx["job_try"])


assert send_delivery.__name__ == SEND_JOB


def settings(config: Settings | None = None) -> dict[str, Any]:
    config = config or get_settings()
    prime_delivery_metrics(
        "notify",
        [kind.value.lower() for kind in TargetKind],
        [status.value.lower() for status in DeliveryStatus if status is not DeliveryStatus.PENDING],
    )
    return worker_settings(
        "notify",
        MIGRATIONS,
        event_handlers=EVENT_HANDLERS,
        timer_handlers=TIMER_HANDLERS,
        # Failed attempts are recorded, not raised; a job that runs early or meets an outage
        # raises Retry, and may do so until its watchdog takes over (delivery.jobs).
        jobs=[func(send_delivery, max_tries=delivery_jobs.max_tries(config))],
        chores=[prune_old_rows, reseal_secrets],
        settings=config,
    )


if __name__ == "__main__":
    run_worker(settings())
