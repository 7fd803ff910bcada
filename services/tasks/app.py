"""ASGI entry point of the tasks subgraph: ``uvicorn services.tasks.app:app``."""

from pathlib import Path

from services.tasks.schema import create_schema
from shared.app import create_app
from shared.replicas import REPLICA_MIGRATIONS

# Replicas first: the tasks service authorises against its copies of requests.
MIGRATIONS: list[Path] = [REPLICA_MIGRATIONS, Path(__file__).parent / "migrations"]

app = create_app("tasks", create_schema, MIGRATIONS)
