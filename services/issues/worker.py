"""Background worker of the issues service: ``python -m services.issues.worker``."""

from collections.abc import Mapping

from services.issues import service
from services.issues.app import MIGRATIONS
from shared.events.consumer import EventHandler
from shared.replicas import REPLICA_HANDLERS
from shared.timer_firing import TimerHandler
from shared.worker import run_worker, worker_settings

EVENT_HANDLERS: Mapping[str, EventHandler] = REPLICA_HANDLERS
TIMER_HANDLERS: Mapping[str, TimerHandler] = {service.SLA_CLOCK_TIMER: service.sla_clock_due}


def settings() -> dict[str, object]:
    return worker_settings(
        "issues", MIGRATIONS, timer_handlers=TIMER_HANDLERS, event_handlers=EVENT_HANDLERS
    )


if __name__ == "__main__":
    run_worker(settings())
