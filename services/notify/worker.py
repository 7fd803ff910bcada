"""Background worker of the notify service: ``python -m services.notify.worker``."""

from services.notify.app import MIGRATIONS
from services.notify.handlers import EVENT_HANDLERS
from shared.replicas import REPLICA_HANDLERS
from shared.worker import run_worker, worker_settings


def settings() -> dict[str, object]:
    return worker_settings(
        "notify", MIGRATIONS, event_handlers={**REPLICA_HANDLERS, **EVENT_HANDLERS}
    )


if __name__ == "__main__":
    run_worker(settings())
