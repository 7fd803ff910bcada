"""Background worker of the tasks service: ``python -m services.tasks.worker``."""

from collections.abc import Mapping

from services.tasks.action_items import EVENT_HANDLERS as ACTION_ITEM_HANDLERS
from services.tasks.app import MIGRATIONS
from services.tasks.recurring.service import TIMER_HANDLERS as RECURRING_TIMERS
from services.tasks.reminders.timers import TIMER_HANDLERS as REMINDER_TIMERS
from services.tasks.reports.service import EVENT_HANDLERS as REPORT_HANDLERS
from services.tasks.reports.timers import TIMER_HANDLERS as REPORT_TIMERS
from services.tasks.request_end import EVENT_HANDLERS as REQUEST_END_HANDLERS
from shared.events.consumer import EventHandler
from shared.replicas import REPLICA_HANDLERS
from shared.timer_firing import TimerHandler
from shared.worker import run_worker, worker_settings

EVENT_HANDLERS: Mapping[str, EventHandler] = {
    **REPLICA_HANDLERS,
    **REQUEST_END_HANDLERS,  # keeps the request copies too, then stops an ended request
    **ACTION_ITEM_HANDLERS,
    **REPORT_HANDLERS,
}
TIMER_HANDLERS: Mapping[str, TimerHandler] = {
    **REMINDER_TIMERS,
    **REPORT_TIMERS,
    **RECURRING_TIMERS,
}


def settings() -> dict[str, object]:
    return worker_settings(
        "tasks", MIGRATIONS, timer_handlers=TIMER_HANDLERS, event_handlers=EVENT_HANDLERS
    )


if __name__ == "__main__":
    run_worker(settings())
