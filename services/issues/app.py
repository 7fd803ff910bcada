"""ASGI entry point of the issues subgraph: ``uvicorn services.issues.app:app``."""

from pathlib import Path

from services.issues.schema import create_schema
from shared.app import create_app
from shared.replicas import REPLICA_MIGRATIONS

# The replica tables (requests, departments, people) first: visibility joins on them.
MIGRATIONS: list[Path] = [REPLICA_MIGRATIONS, Path(__file__).parent / "migrations"]

app = create_app("issues", create_schema, MIGRATIONS)
