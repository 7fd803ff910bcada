"""Background worker of the requests service: ``python -m services.requests.worker``."""

from services.requests.app import MIGRATIONS
from shared.worker import run_worker, worker_settings


def settings() -> dict[str, object]:
    return worker_settings("requests", MIGRATIONS)


if __name__ == "__main__":
    run_worker(settings())
