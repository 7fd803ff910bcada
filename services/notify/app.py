"""ASGI entry point of the notify subgraph: ``uvicorn services.notify.app:app``."""

from pathlib import Path

from services.notify.schema import create_schema
from shared.app import create_app
from shared.replicas import REPLICA_MIGRATIONS

# The directory replica comes first: routing rules look up department heads in it.
MIGRATIONS: list[Path] = [REPLICA_MIGRATIONS, Path(__file__).parent / "migrations"]

app = create_app("notify", create_schema, MIGRATIONS)
