"""ASGI entry point of the tasks subgraph: ``uvicorn services.tasks.app:app``."""

from pathlib import Path

from starlette.routing import Route

from services.tasks.calendar_items import ROUTES as CALENDAR_ROUTES
from services.tasks.raci.sheet_import import import_matrix
from services.tasks.raci.spreadsheet import export_matrix
from services.tasks.reports.spreadsheet import ROUTES as REPORT_ROUTES
from services.tasks.schema import create_schema
from shared.app import create_app
from shared.replicas import REPLICA_MIGRATIONS

# Replicas first: the tasks service authorises against its copies of requests.
MIGRATIONS: list[Path] = [REPLICA_MIGRATIONS, Path(__file__).parent / "migrations"]
RACI_SHEET = "/files/requests/{request_id}/raci.xlsx"
ROUTES = [
    Route(RACI_SHEET, export_matrix, methods=["GET"]),
    Route(RACI_SHEET, import_matrix, methods=["POST"]),
    *REPORT_ROUTES,
    *CALENDAR_ROUTES,
]
"""HTTP routes besides ``/graphql``: the RACI matrix (template 2) as a spreadsheet, out and
in, and a period's progress reports (template 3) as one (the gateway passes
``/files/requests/...`` through), and (internal) the due times that calendar feeds read."""

app = create_app("tasks", create_schema, MIGRATIONS, routes=ROUTES)
