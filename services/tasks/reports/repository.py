"""SQL of progress reports, their items, problems and resource requests, and report plans."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from services.tasks.models import TaskStatus
from services.tasks.reports.models import (
    NewProgressReport,
    ProgressReport,
    ReportItem,
    ReportPlan,
    ReportProblem,
    ResourceRequest,
)
from shared.child_lists import ChildList, SortKey
from shared.db import Connection
from shared.ids import new_id

_REPORT = "id, request_id, department_id, period_start, period_end, submitted_by, submitted_at"
_PROBLEM = """id, report_id, task_id, description, impact, attempted_measures, raised_at,
    raised_by, issue_id"""


async def insert_report(
    conn: Connection, command: NewProgressReport, submitted_by: str
) -> tuple[ProgressReport, list[str]] | None:
    """Store a report and its parts; None if the department already reported that period."""
    row = await conn.fetchrow(
        f"""
        INSERT INTO progress_reports (id, request_id, department_id, period_start, period_end,
            submitted_by)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (request_id, department_id, period_start, period_end) DO NOTHING
        RETURNING {_REPORT}
        """,
        new_id(),
        command.request_id,
        command.department_id,
        command.period_start,
        command.period_end,
        submitted_by,
    )
    if row is None:
        return None
    report = ProgressReport(**dict(row))
    await conn.executemany(
        "INSERT INTO progress_report_items (report_id, position, task_id, planned_progress,"
        " actual_progress, status, delay_reason) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        [
            (
                report.id,
                i,
                it.task_id,
                it.planned_progress,
                it.actual_progress,
                it.status.value,
                it.delay_reason,
            )
            for i, it in enumerate(command.items)
        ],
    )
    problem_ids = [new_id() for _ in command.problems]
    await conn.executemany(
        "INSERT INTO report_problems (id, report_id, position, task_id, description, impact,"
        " attempted_measures) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        [
            (pid, report.id, i, p.task_id, p.description, p.impact, p.attempted_measures)
            for i, (pid, p) in enumerate(zip(problem_ids, command.problems, strict=True))
        ],
    )
    await conn.executemany(
        "INSERT INTO report_resource_requests (report_id, position, description,"
        " provider_department_id) VALUES ($1, $2, $3, $4)",
        [
            (report.id, i, r.description, r.provider_department_id)
            for i, r in enumerate(command.resource_requests)
        ],
    )
    return report, problem_ids


def _group(rows: Sequence[Any], key: str, build: Any) -> dict[str, list[Any]]:
    result: dict[str, list[Any]] = {}
    for row in rows:
        result.setdefault(row[key], []).append(build(row))
    return result


REPORTS_OF_REQUESTS = ChildList(
    source="progress_reports",
    parent="request_id",
    columns=_REPORT,
    order=(
        SortKey("period_start", sql_type="date", descending=True),
        SortKey("department_id"),
        SortKey("id"),
    ),
    to_model=lambda row: ProgressReport(**dict(row)),
)
"""``CollabRequest.progressReports``: newest period first, then by department."""

PeriodKey = tuple[str, date, date]
"""A request and one of its periods: first and last day."""


async def reports_of_periods(
    conn: Connection, keys: Sequence[PeriodKey]
) -> dict[PeriodKey, list[ProgressReport]]:
    """The reports submitted for each (request, period): at most one per department."""
    rows = await conn.fetch(
        f"""
        SELECT {_REPORT} FROM progress_reports
         WHERE (request_id, period_start, period_end) IN (
               SELECT * FROM unnest($1::text[], $2::date[], $3::date[]))
         ORDER BY department_id
        """,
        [k[0] for k in keys],
        [k[1] for k in keys],
        [k[2] for k in keys],
    )
    result: dict[PeriodKey, list[ProgressReport]] = {}
    for row in rows:
        key = (row["request_id"], row["period_start"], row["period_end"])
        result.setdefault(key, []).append(ProgressReport(**dict(row)))
    return result


async def items_by_report_ids(conn: Connection, ids: Sequence[str]) -> dict[str, list[ReportItem]]:
    rows = await conn.fetch(
        "SELECT report_id, task_id, planned_progress, actual_progress, status, delay_reason"
        " FROM progress_report_items WHERE report_id = ANY($1) ORDER BY report_id, position",
        list(ids),
    )
    return _group(
        rows,
        "report_id",
        lambda r: ReportItem(
            r["task_id"],
            r["planned_progress"],
            r["actual_progress"],
            TaskStatus(r["status"]),
            r["delay_reason"],
        ),
    )


def _problem(row: Any) -> ReportProblem:
    return ReportProblem(**dict(row))


async def problems_by_report_ids(
    conn: Connection, ids: Sequence[str]
) -> dict[str, list[ReportProblem]]:
    rows = await conn.fetch(
        f"SELECT {_PROBLEM} FROM report_problems WHERE report_id = ANY($1)"
        " ORDER BY report_id, position",
        list(ids),
    )
    return _group(rows, "report_id", _problem)


async def resources_by_report_ids(
    conn: Connection, ids: Sequence[str]
) -> dict[str, list[ResourceRequest]]:
    rows = await conn.fetch(
        "SELECT report_id, description, provider_department_id FROM report_resource_requests"
        " WHERE report_id = ANY($1) ORDER BY report_id, position",
        list(ids),
    )
    return _group(
        rows, "report_id", lambda r: ResourceRequest(r["description"], r["provider_department_id"])
    )


async def lock_problem(
    conn: Connection, problem_id: str
) -> tuple[ReportProblem, ProgressReport] | None:
    row = await conn.fetchrow(
        f"SELECT {_PROBLEM} FROM report_problems WHERE id = $1 FOR UPDATE", problem_id
    )
    if row is None:
        return None
    report = await conn.fetchrow(
        f"SELECT {_REPORT} FROM progress_reports WHERE id = $1", row["report_id"]
    )
    assert report is not None  # the foreign key guarantees it
    return _problem(row), ProgressReport(**dict(report))


async def mark_raised(conn: Connection, problem_id: str, person_id: str) -> None:
    await conn.execute(
        "UPDATE report_problems SET raised_at = now(), raised_by = $2 WHERE id = $1",
        problem_id,
        person_id,
    )


async def link_issue(conn: Connection, problem_id: str, issue_id: str) -> ReportProblem | None:
    """Record the issue of a raised problem once; None if unknown or already linked."""
    row = await conn.fetchrow(
        f"UPDATE report_problems SET issue_id = $2 WHERE id = $1 AND issue_id IS NULL"
        f" RETURNING {_PROBLEM}",
        problem_id,
        issue_id,
    )
    return _problem(row) if row else None


async def submitted_departments(
    conn: Connection, request_id: str, period_start: date, period_end: date
) -> dict[str, ProgressReport]:
    rows = await conn.fetch(
        f"SELECT {_REPORT} FROM progress_reports WHERE request_id = $1 AND period_start = $2"
        " AND period_end = $3",
        request_id,
        period_start,
        period_end,
    )
    return {r["department_id"]: ProgressReport(**dict(r)) for r in rows}


async def upsert_plan(conn: Connection, plan: ReportPlan) -> None:
    await conn.execute(
        """
        INSERT INTO report_plans (request_id, cadence, deadline_weekday, deadline_time, time_zone)
        VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (request_id) DO UPDATE SET cadence = EXCLUDED.cadence,
            deadline_weekday = EXCLUDED.deadline_weekday, deadline_time = EXCLUDED.deadline_time,
            time_zone = EXCLUDED.time_zone, updated_at = now()
        """,
        plan.request_id,
        plan.cadence,
        plan.deadline_weekday,
        plan.deadline_time,
        plan.time_zone,
    )


async def plans_by_request_ids(conn: Connection, ids: Sequence[str]) -> dict[str, ReportPlan]:
    rows = await conn.fetch(
        "SELECT request_id, cadence, deadline_weekday, deadline_time, time_zone"
        " FROM report_plans WHERE request_id = ANY($1)",
        list(ids),
    )
    return {r["request_id"]: ReportPlan(**dict(r)) for r in rows}
