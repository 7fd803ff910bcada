"""Use cases and event handlers of progress reports."""

from __future__ import annotations

from datetime import UTC, datetime, time

from services.tasks import repository as task_repo
from services.tasks.reports import repository as repo
from services.tasks.reports.models import (
    NewProgressReport,
    ProgressReport,
    ReportPlan,
    ReportProblem,
)
from services.tasks.reports.periods import CADENCES, period_of
from services.tasks.reports.timers import arm_report_timers, reporting_departments
from services.tasks.rules import request_not_found
from shared.auth import Principal
from shared.db import Connection
from shared.events.contracts.issues import IssueReported
from shared.events.contracts.requests import CommunicationPlanSet
from shared.events.contracts.tasks import ProblemLinked, ProblemRaised, ProgressReportSubmitted
from shared.events.envelope import EventEnvelope
from shared.graphql.errors import DomainError, Problems
from shared.replicas import RequestReplica, get_request
from shared.runtime import ServiceRuntime
from shared.unit_of_work import UnitOfWork, unit_of_work

MAX_TEXT = 4000
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW")


def _check_text(problems: Problems, value: str, field: str) -> None:
    if not value.strip() or len(value) > MAX_TEXT:
        problems.add("INVALID", f"required, at most {MAX_TEXT} characters", field)


def _check_shape(problems: Problems, command: NewProgressReport) -> None:
    if command.period_end < command.period_start:
        problems.add("INVALID", "the period ends before it starts", "periodEnd")
    for i, item in enumerate(command.items):
        for name, value in (
            ("plannedProgress", item.planned_progress),
            ("actualProgress", item.actual_progress),
        ):
            if not 0 <= value <= 100:
                problems.add(
                    "INVALID", "progress is a percentage from 0 to 100", f"items.{i}.{name}"
                )
        if item.is_delayed and not (item.delay_reason or "").strip():
            problems.add(
                "DELAY_REASON_REQUIRED",
                "behind plan or blocked: say why (template 3 asks for the reason)",
                f"items.{i}.delayReason",
            )
    for i, problem in enumerate(command.problems):
        _check_text(problems, problem.description, f"problems.{i}.description")
        _check_text(problems, problem.impact, f"problems.{i}.impact")
        _check_text(problems, problem.attempted_measures, f"problems.{i}.attemptedMeasures")
    for i, resource in enumerate(command.resource_requests):
        _check_text(problems, resource.description, f"resourceRequests.{i}.description")


def _check_reporter(
    problems: Problems, principal: Principal, request: RequestReplica | None, department_id: str
) -> None:
    if request is None:
        request_not_found(problems)
        return
    if department_id not in request.departments:
        problems.add(
            "DEPARTMENT_NOT_PARTICIPATING", "the department does not take part", "departmentId"
        )
    elif not (principal.sees_everything or department_id in principal.departments):
        problems.add(
            "FORBIDDEN", "only a member of the department (or PMO) reports for it", "departmentId"
        )


def _check_period(problems: Problems, command: NewProgressReport, plan: ReportPlan | None) -> None:
    """Refuse a period that is not one of the plan's cadence (refused, not normalised).

    ``reportingStatus`` and ``tasks.report.missing`` look reports up by the plan's periods,
    so an off-cadence report would count as missing; moving its dates silently could put
    it in a period the department did not mean. Without a plan yet, a whole ISO week or
    calendar month (the two cadences) is taken.
    """
    start, end = command.period_start, command.period_end
    if end < start:
        return  # refused as INVALID already
    cadences = [plan.cadence] if plan else list(CADENCES)
    expected = [period_of(cadence, start) for cadence in cadences]
    if (start, end) in expected:
        return
    rule = (
        f"the communication plan has {plan.cadence} reports"
        if plan
        else "without a communication plan yet, a period is an ISO week or a calendar month"
    )
    choices = " or ".join(f"{first} to {last}" for first, last in expected)
    problems.add(
        "PERIOD_NOT_IN_CADENCE",
        f"{rule}: the period containing {start} is {choices}",
        "periodEnd" if any(first == start for first, _ in expected) else "periodStart",
    )


async def _check_tasks(problems: Problems, conn: Connection, command: NewProgressReport) -> None:
    ids = [i.task_id for i in command.items] + [p.task_id for p in command.problems if p.task_id]
    found = await task_repo.tasks_by_ids(conn, ids)
    refs = [(f"items.{i}.taskId", it.task_id) for i, it in enumerate(command.items)]
    refs += [
        (f"problems.{i}.taskId", p.task_id) for i, p in enumerate(command.problems) if p.task_id
    ]
    for field, task_id in refs:
        task = found.get(task_id)
        if task is None or task.request_id != command.request_id:
            problems.add("NOT_FOUND", "not a task of this request", field)


async def submit_progress_report(
    runtime: ServiceRuntime, principal: Principal, command: NewProgressReport
) -> ProgressReport:
    """A department's report for one period; a second one for the same period is refused."""
    problems = Problems()
    _check_shape(problems, command)
    async with unit_of_work(runtime) as uow:
        request = await get_request(uow.conn, command.request_id)
        _check_reporter(problems, principal, request, command.department_id)
        plans = await repo.plans_by_request_ids(uow.conn, [command.request_id])
        _check_period(problems, command, plans.get(command.request_id))
        await _check_tasks(problems, uow.conn, command)
        problems.raise_if_any()
        assert request is not None
        stored = await repo.insert_report(uow.conn, command, principal.sub)
        if stored is None:
            raise DomainError.single(
                "ALREADY_SUBMITTED",
                "the department has already reported for this period",
                "periodStart",
            )
        report, problem_ids = stored
        data = ProgressReportSubmitted(
            id=report.id,
            request_id=report.request_id,
            department_id=report.department_id,
            period_start=report.period_start,
            period_end=report.period_end,
            submitted_by=principal.sub,
            delayed_task_ids=[i.task_id for i in command.items if i.is_delayed],
            problem_ids=problem_ids,
        )
        await uow.emit(
            "tasks.report.submitted", report.id, data, departments=list(request.departments)
        )
    return report


async def raise_problem_as_issue(
    runtime: ServiceRuntime, principal: Principal, problem_id: str, severity: str, urgent: bool
) -> ReportProblem:
    """Hand a reported problem to the issues service (by event); returns the problem.

    The link appears when the issues service answers with ``issues.issue.reported``.
    """
    problems = Problems()
    if severity not in SEVERITIES:
        problems.add("INVALID", "severity is CRITICAL, HIGH, MEDIUM or LOW", "severity")
    async with unit_of_work(runtime) as uow:
        found = await repo.lock_problem(uow.conn, problem_id)
        request = await get_request(uow.conn, found[1].request_id) if found else None
        if found is None or request is None or not principal.may_see(request.departments):
            raise DomainError.single("NOT_FOUND", "no such problem", "problemId")
        problem, report = found
        allowed = {report.department_id, request.lead_department_id}
        if not (principal.sees_everything or allowed & set(principal.departments)):
            problems.add("FORBIDDEN", "the reporting or the lead department raises it", "problemId")
        if problem.raised_at is not None:
            problems.add(
                "ALREADY_RAISED", "this problem has already been raised as an issue", "problemId"
            )
        problems.raise_if_any()
        await repo.mark_raised(uow.conn, problem.id, principal.sub)
        data = ProblemRaised(
            problem_id=problem.id,
            report_id=report.id,
            request_id=report.request_id,
            task_id=problem.task_id,
            title=problem.description.strip().splitlines()[0][:200],
            description=problem.description,
            impact=problem.impact,
            attempted_measures=problem.attempted_measures,
            severity=severity,
            urgent=urgent,
            reporter_id=principal.sub,
            department_id=report.department_id,
        )
        await uow.emit(
            "tasks.problem.raised", problem.id, data, departments=list(request.departments)
        )
        raised = await repo.lock_problem(uow.conn, problem.id)
        assert raised is not None
    return raised[0]


# --- consumed events ---------------------------------------------------------------------------


async def on_communication_plan(uow: UnitOfWork, event: EventEnvelope) -> None:
    """Store the reporting rhythm and (re-)arm the deadline of the coming period."""
    data = CommunicationPlanSet.model_validate(event.data)
    hour, minute = (int(part) for part in data.report_deadline_time.split(":"))
    plan = ReportPlan(
        request_id=data.request_id,
        cadence="MONTHLY" if data.report_cadence == "MONTHLY" else "WEEKLY",
        deadline_weekday=data.report_deadline_weekday,
        deadline_time=time(hour, minute),
        time_zone=data.time_zone,
    )
    await repo.upsert_plan(uow.conn, plan)
    now = datetime.now(UTC)
    await arm_report_timers(uow, plan, now, now)


async def on_issue_reported(uow: UnitOfWork, event: EventEnvelope) -> None:
    """Link a raised problem to the issue the issues service opened for it."""
    data = IssueReported.model_validate(event.data)
    if data.source_problem_id is None:
        return
    problem = await repo.link_issue(uow.conn, data.source_problem_id, data.id)
    if problem is None:
        return
    linked = ProblemLinked(
        problem_id=problem.id,
        report_id=problem.report_id,
        request_id=data.request_id,
        issue_id=data.id,
    )
    await uow.emit("tasks.problem.linked", problem.id, linked, departments=event.departments)


EVENT_HANDLERS = {
    "requests.communication_plan.set": on_communication_plan,
    "issues.issue.reported": on_issue_reported,
}

__all__ = [
    "EVENT_HANDLERS",
    "raise_problem_as_issue",
    "reporting_departments",
    "submit_progress_report",
]
