"""ASGI entry point of the issues subgraph: ``uvicorn services.issues.app:app``."""

from pathlib import Path

from services.issues.calendar_items import ROUTES as CALENDAR_ROUTES
from services.issues.schema import create_schema
from services.issues.sla_report_file import ROUTES as SLA_REPORT_ROUTES
from services.issues.spreadsheet import ROUTES as SPREADSHEET_ROUTES
from shared.app import create_app
from shared.replicas import REPLICA_MIGRATIONS

# The replica tables (requests, departments, people) first: visibility joins on them.
MIGRATIONS: list[Path] = [REPLICA_MIGRATIONS, Path(__file__).parent / "migrations"]
ROUTES = [*SPREADSHEET_ROUTES, *SLA_REPORT_ROUTES, *CALENDAR_ROUTES]
"""HTTP routes besides ``/graphql``: the issue log as a spreadsheet, out and in, the SLA report
as one, and (internal) the SLA deadlines that calendar feeds read."""

app = create_app("issues", create_schema, MIGRATIONS, routes=ROUTES)
