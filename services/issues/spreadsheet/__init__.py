"""The issue log (handbook template 5) as a spreadsheet: download as .xlsx or CSV, upload
an .xlsx in the same layout (see :mod:`.export` and :mod:`.imports`)."""

from starlette.routing import Route

from services.issues.spreadsheet.export import export_endpoint
from services.issues.spreadsheet.imports import import_endpoint

ROUTES = [
    Route("/files/issues.{format:str}", export_endpoint, methods=["GET"]),
    Route("/files/issues.xlsx", import_endpoint, methods=["POST"]),
]
