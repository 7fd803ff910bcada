"""Background worker of the issues service: ``python -m services.issues.worker``.

Events: the directory and request copies, calendar and department changes (which recount
running clocks) and problems raised from progress reports. Timers: SLA warnings and
breaches, automatic escalation levels, and breach and escalation messages deferred to
their recipients' working time.
"""

from collections.abc import Mapping

from services.issues import service
from services.issues.app import MIGRATIONS
from services.issues.sla import alerts, escalation
from shared.events.consumer import EventHandler
from shared.replicas import REPLICA_HANDLERS
from shared.timer_firing import TimerHandler
from shared.worker import run_worker, worker_settings

EVENT_HANDLERS: Mapping[str, EventHandler] = {
    **REPLICA_HANDLERS,
    "requests.region.upserted": service.on_region_upserted,
    "requests.department.upserted": service.on_department_upserted,
    "tasks.problem.raised": service.on_problem_raised,
}
TIMER_HANDLERS: Mapping[str, TimerHandler] = {
    alerts.BREACH_TIMER: alerts.breach_due,
    alerts.WARNING_TIMER: alerts.warning_due,
    alerts.BREACH_NOTICE_TIMER: alerts.breach_notice_due,
    escalation.ESCALATION_TIMER: escalation.escalation_due,
    escalation.NOTICE_TIMER: escalation.notice_due,
}


def settings() -> dict[str, object]:
    return worker_settings(
        "issues", MIGRATIONS, timer_handlers=TIMER_HANDLERS, event_handlers=EVENT_HANDLERS
    )


if __name__ == "__main__":
    run_worker(settings())
