"""``GET /files/issues.xlsx`` and ``/files/issues.csv``: the issue log the ``issues`` list
shows the caller, with the list's filters as query parameters, streamed from a cursor."""

from __future__ import annotations

from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from services.issues.models import IssueStatus
from services.issues.repository import ListFilter
from services.issues.spreadsheet.columns import caller_zone, cells, header, log_records
from shared.auth import Principal
from shared.http_routes import caller, runtime_of
from shared.runtime import ServiceRuntime
from shared.spreadsheets import Language, Value, csv_response_from, language, xlsx_response_from

FILE_NAMES: dict[Language, str] = {"zh": "问题跟踪表", "en": "issue-log"}


class BadFilter(ValueError):
    """A query parameter that is not one of the list's filter values."""


def _flag(value: str | None) -> bool | None:
    if value is None or value == "":
        return None
    if value.lower() not in ("true", "false"):
        raise BadFilter(f"urgent must be true or false, not {value!r}")
    return value.lower() == "true"


def _statuses(value: str | None) -> list[IssueStatus] | None:
    if not value:
        return None
    chosen = [s.strip().upper() for s in value.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in IssueStatus.__members__]
    if unknown:
        raise BadFilter(f"unknown statuses {', '.join(unknown)}")
    return [IssueStatus(s) for s in chosen]


def list_filter(request: Request) -> ListFilter:
    """The ``IssueFilter`` of the ``issues`` list, from the query string."""
    query = request.query_params
    return ListFilter(
        statuses=_statuses(query.get("statuses")),
        request_id=query.get("requestId") or None,
        responsible_department_id=query.get("responsibleDepartmentId") or None,
        urgent=_flag(query.get("urgent")),
    )


async def _rows(
    runtime: ServiceRuntime, principal: Principal, chosen: ListFilter, lang: Language,
    zone: ZoneInfo,
) -> AsyncIterator[list[Value]]:  # fmt: skip
    """The download's rows; holds a pooled connection only while it is being read."""
    async with runtime.pool.acquire() as conn:
        async for record in log_records(conn, principal, chosen):
            yield cells(record, lang, zone)


async def export_endpoint(request: Request) -> Response:
    principal = await caller(request)
    runtime = runtime_of(request)
    if request.path_params["format"] not in ("xlsx", "csv"):
        return JSONResponse({"code": "NOT_FOUND", "message": "xlsx or csv"}, status_code=404)
    try:
        chosen = list_filter(request)
    except BadFilter as exc:
        return JSONResponse({"code": "INVALID_FILTER", "message": str(exc)}, status_code=400)
    lang = language(request.headers.get("accept-language"))
    async with runtime.pool.acquire() as conn:
        zone, zone_name = await caller_zone(conn, principal)
    columns = header(lang, zone_name)
    rows = _rows(runtime, principal, chosen, lang, zone)
    if request.path_params["format"] == "csv":
        return csv_response_from(f"{FILE_NAMES[lang]}.csv", columns, rows)
    return await xlsx_response_from(f"{FILE_NAMES[lang]}.xlsx", FILE_NAMES[lang], columns, rows)
