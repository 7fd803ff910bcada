"""Background worker of the tasks service: ``python -m services.tasks.worker``."""

from services.tasks.app import MIGRATIONS
from shared.replicas import REPLICA_HANDLERS
from shared.worker import run_worker, worker_settings


def settings() -> dict[str, object]:
    return worker_settings("tasks", MIGRATIONS, event_handlers=REPLICA_HANDLERS)


if __name__ == "__main__":
    run_worker(settings())
