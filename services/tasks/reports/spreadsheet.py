"""``GET /files/requests/{id}/progress-reports.xlsx?start=&end=``: the progress reports of one
period (handbook template 3) as a workbook, for whoever may see the request (else 404, as
``progressReports`` answers nothing): plan against actual per task with the delay reasons,
then the problems raised, the resources asked for, and the executing departments that have
not reported for the period. Headers in Chinese unless the caller asks for English."""

from __future__ import annotations

from datetime import date

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.tasks import repository as tasks_repo
from services.tasks.raci.spreadsheet import party_names
from services.tasks.reports import repository as repo
from services.tasks.reports.models import ProgressReport
from services.tasks.reports.timers import reporting_departments
from shared.db import Connection
from shared.http_routes import caller, runtime_of
from shared.replicas import RequestReplica, get_request
from shared.spreadsheets import Language, Sheet, Value, language, xlsx_response

TEXT: dict[Language, dict[str, str]] = {
    "zh": {
        "progress": "进度", "problems": "问题", "resources": "资源需求", "missing": "未提交",
        "department": "部门", "task": "任务", "planned": "计划进度 (%)", "actual": "实际进度 (%)",
        "status": "状态", "delayed": "延误", "reason": "延误原因", "by": "提交人",
        "at": "提交时间 (UTC)", "description": "描述", "impact": "影响",
        "measures": "已采取措施", "issue": "问题单", "provider": "提供部门", "yes": "是",
        "no": "否", "file": "进度报告-{code}-{start}_{end}.xlsx",
    },
    "en": {
        "progress": "Progress", "problems": "Problems", "resources": "Resources",
        "missing": "Not submitted", "department": "Department", "task": "Task",
        "planned": "Planned (%)", "actual": "Actual (%)", "status": "Status",
        "delayed": "Delayed", "reason": "Delay reason", "by": "Submitted by",
        "at": "Submitted at (UTC)", "description": "Description", "impact": "Impact",
        "measures": "Measures taken", "issue": "Issue", "provider": "Provided by",
        "yes": "yes", "no": "no", "file": "progress-reports-{code}-{start}_{end}.xlsx",
    },
}  # fmt: skip


async def visible_request(conn: Connection, request: Request, request_id: str) -> RequestReplica:
    """The request if the caller may see it (the rule of ``progressReports``), else a 404."""
    principal = await caller(request)
    replica = await get_request(conn, request_id)
    if replica is None or not principal.may_see(replica.departments):
        raise HTTPException(404, "no such request")
    return replica


async def report_sheets(
    conn: Connection, replica: RequestReplica, period: tuple[date, date], lang: Language
) -> list[Sheet]:
    """Template 3 for ``period`` (first and last day)."""
    text = TEXT[lang]
    key = (replica.id, *period)
    reports = (await repo.reports_of_periods(conn, [key])).get(key, [])
    ids = [r.id for r in reports]
    items = await repo.items_by_report_ids(conn, ids)
    problems = await repo.problems_by_report_ids(conn, ids)
    resources = await repo.resources_by_report_ids(conn, ids)
    tasks = await tasks_repo.tasks_by_ids(
        conn, [i.task_id for r in ids for i in items.get(r, [])]
        + [p.task_id for r in ids for p in problems.get(r, []) if p.task_id]
    )  # fmt: skip
    executing = reporting_departments(
        replica.lead_department_id, replica.participant_department_ids
    )
    names = await party_names(conn, [f"department:{d}" for d in executing])

    def department(report: ProgressReport | str) -> str:
        id_ = report if isinstance(report, str) else report.department_id
        return names.get(f"department:{id_}", id_)

    def title(task_id: str | None) -> str | None:
        return tasks[task_id].title if task_id in tasks else task_id

    progress: list[list[Value]] = [
        [department(r), title(i.task_id), i.planned_progress, i.actual_progress, i.status.value,
         text["yes"] if i.is_delayed else text["no"], i.delay_reason, r.submitted_by,
         r.submitted_at.replace(tzinfo=None)]
        for r in reports for i in items.get(r.id, [])
    ]  # fmt: skip
    raised: list[list[Value]] = [
        [department(r), title(p.task_id), p.description, p.impact, p.attempted_measures, p.issue_id]
        for r in reports for p in problems.get(r.id, [])
    ]  # fmt: skip
    asked: list[list[Value]] = [
        [
            department(r),
            q.description,
            q.provider_department_id and department(q.provider_department_id),
        ]
        for r in reports
        for q in resources.get(r.id, [])
    ]
    reported = {r.department_id for r in reports}
    missing: list[list[Value]] = [[department(d)] for d in executing if d not in reported]
    t = text
    return [
        Sheet(t["progress"], [t["department"], t["task"], t["planned"], t["actual"], t["status"],
                              t["delayed"], t["reason"], t["by"], t["at"]], progress),
        Sheet(t["problems"], [t["department"], t["task"], t["description"], t["impact"],
                              t["measures"], t["issue"]], raised),
        Sheet(t["resources"], [t["department"], t["description"], t["provider"]], asked),
        Sheet(t["missing"], [t["department"]], missing),
    ]  # fmt: skip


async def export_reports(request: Request) -> Response:
    try:
        period = (
            date.fromisoformat(request.query_params.get("start", "")),
            date.fromisoformat(request.query_params.get("end", "")),
        )
    except ValueError:
        message = "start and end are the period's first and last day, as YYYY-MM-DD"
        return JSONResponse({"code": "BAD_USER_INPUT", "message": message}, status_code=400)
    lang = language(request.headers.get("accept-language"))
    async with runtime_of(request).pool.acquire() as conn:
        replica = await visible_request(conn, request, request.path_params["request_id"])
        sheets = await report_sheets(conn, replica, period, lang)
    start, end = (d.isoformat() for d in period)
    name = TEXT[lang]["file"].format(code=replica.code, start=start, end=end)
    return xlsx_response(name, sheets)


ROUTES = [
    Route("/files/requests/{request_id}/progress-reports.xlsx", export_reports, methods=["GET"])
]
