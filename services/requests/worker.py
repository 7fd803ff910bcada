"""Background worker of the requests service: ``python -m services.requests.worker``."""

from services.requests.app import MIGRATIONS
from services.requests.list_upkeep import UPKEEP_TIMER, on_list_upkeep
from services.requests.meetings.service import MINUTES_DUE_TIMER, on_minutes_due
from services.requests.secondments.service import ENDING_TIMER, on_secondment_ending
from shared.timer_firing import TimerHandler
from shared.worker import run_worker, worker_settings

TIMER_HANDLERS: dict[str, TimerHandler] = {
    MINUTES_DUE_TIMER: on_minutes_due,
    ENDING_TIMER: on_secondment_ending,
    UPKEEP_TIMER: on_list_upkeep,
}


def settings() -> dict[str, object]:
    return worker_settings("requests", MIGRATIONS, timer_handlers=TIMER_HANDLERS)


if __name__ == "__main__":
    run_worker(settings())
