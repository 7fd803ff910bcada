"""``GET /files/sla-report.xlsx?from=&to=&groupBy=DEPARTMENT|REGION``: the SLA report as a
spreadsheet, the rows of the ``slaReport`` query for the same caller and period (the same
function reads them), headers in Chinese unless the caller asks for English."""

from __future__ import annotations

from datetime import datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.issues import reports
from services.issues.models import ReportGrouping, SlaReportRow
from shared.graphql.errors import PublicError
from shared.http_routes import caller, runtime_of
from shared.spreadsheets import Language, Sheet, language, xlsx_response

_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("issue_count", "问题数", "Issues"),
    ("response_met_percent", "响应达标率 (%)", "Response met (%)"),
    ("plan_met_percent", "方案达标率 (%)", "Plan met (%)"),
    ("mean_minutes_to_acknowledge", "平均响应用时 (分钟)", "Mean minutes to acknowledge"),
    ("p90_minutes_to_acknowledge", "响应用时 P90 (分钟)", "P90 minutes to acknowledge"),
    ("mean_minutes_to_plan", "平均出方案用时 (分钟)", "Mean minutes to plan"),
    ("p90_minutes_to_plan", "出方案用时 P90 (分钟)", "P90 minutes to plan"),
)
_KEY = {
    ReportGrouping.DEPARTMENT: ("责任部门", "Responsible department"),
    ReportGrouping.REGION: ("区域", "Region"),
}


def sheet(rows: list[SlaReportRow], group_by: ReportGrouping, lang: Language) -> Sheet:
    """The report's one sheet: a row per department or region, the figures as the query
    answers them (null stays empty)."""
    english = lang == "en"
    header = [_KEY[group_by][english], *(c[2] if english else c[1] for c in _COLUMNS)]
    values = [[row.key, *(getattr(row, c[0]) for c in _COLUMNS)] for row in rows]
    return Sheet("SLA report" if english else "SLA 报表", header, values)


def _refusal(message: str) -> Response:
    return JSONResponse({"code": "BAD_USER_INPUT", "message": message}, status_code=400)


async def export_sla_report(request: Request) -> Response:
    principal = await caller(request)
    query = request.query_params
    try:
        start = datetime.fromisoformat(query.get("from", ""))
        end = datetime.fromisoformat(query.get("to", ""))
        group_by = ReportGrouping(query.get("groupBy", ReportGrouping.DEPARTMENT.value))
    except ValueError:
        return _refusal("from and to are ISO 8601 times, groupBy DEPARTMENT or REGION")
    if start.tzinfo is None or end.tzinfo is None:
        return _refusal("from and to need a UTC offset")
    try:
        rows = await reports.sla_report(runtime_of(request), principal, start, end, group_by)
    except PublicError as exc:
        return _refusal(str(exc))
    lang = language(request.headers.get("accept-language"))
    period = f"{start.date().isoformat()}_{end.date().isoformat()}"
    name = f"SLA-report-{period}.xlsx" if lang == "en" else f"SLA报表-{period}.xlsx"
    return xlsx_response(name, [sheet(rows, group_by, lang)])


ROUTES = [Route("/files/sla-report.xlsx", export_sla_report, methods=["GET"])]
