"""ASGI entry point of the requests subgraph: ``uvicorn services.requests.app:app``."""

from pathlib import Path

from services.requests.calendar.feed import ROUTES as CALENDAR_ROUTES
from services.requests.directory.caller import ROUTES as CALLER_ROUTES
from services.requests.directory.spreadsheet import ROUTES as DIRECTORY_FILE_ROUTES
from services.requests.meetings.invite import ROUTES as MEETING_ROUTES
from services.requests.schema import create_schema
from shared.app import create_app

MIGRATIONS: list[Path] = [Path(__file__).parent / "migrations"]
ROUTES = [*MEETING_ROUTES, *CALLER_ROUTES, *DIRECTORY_FILE_ROUTES, *CALENDAR_ROUTES]
"""HTTP routes besides ``/graphql``: the iCalendar invites, the gateway's question whether a
caller is a partner client (trusted documents), the directory's spreadsheet import and the
calendar feeds."""

app = create_app("requests", create_schema, MIGRATIONS, routes=ROUTES)
