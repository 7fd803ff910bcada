"""ASGI entry point of the requests subgraph: ``uvicorn services.requests.app:app``."""

from pathlib import Path

from services.requests.schema import create_schema
from shared.app import create_app

MIGRATIONS: list[Path] = [Path(__file__).parent / "migrations"]

app = create_app("requests", create_schema, MIGRATIONS)
