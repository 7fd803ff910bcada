"""Reporting issues (by hand, or from a problem raised in a progress report) and keeping SLA
deadlines in step with calendar and directory changes. One transaction each; every change
emits its event. Moves of an issue after reporting are in :mod:`services.issues.lifecycle`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from services.issues import repository as repo
from services.issues.models import Issue, IssueAction, IssueStatus, NewIssue, Severity, SlaPolicy
from services.issues.sla import clocks
from services.issues.sla import repository as sla_repo
from shared.auth import Principal
from shared.events.contracts.issues import IssueReported
from shared.events.contracts.requests import DepartmentUpserted, RegionUpserted
from shared.events.contracts.tasks import ProblemRaised
from shared.events.envelope import EventEnvelope
from shared.graphql.errors import Problems
from shared.replicas import REPLICA_HANDLERS, RequestReplica, department_regions, get_request
from shared.runtime import ServiceRuntime
from shared.unit_of_work import UnitOfWork, unit_of_work

MAX_TITLE_LENGTH = 200
SLA_CLOCK_TIMER = clocks.BREACH_TIMER


# --- reporting ------------------------------------------------------------------------------


def _check_issue_shape(command: NewIssue) -> Problems:
    problems = Problems()
    title = command.title.strip()
    if not title or len(title) > MAX_TITLE_LENGTH:
        problems.add("INVALID", f"title must be 1 to {MAX_TITLE_LENGTH} characters", "title")
    return problems


def _check_request(
    problems: Problems, principal: Principal, request_id: str, replica: RequestReplica | None
) -> None:
    if replica is None:
        problems.add(
            "REQUEST_NOT_FOUND",
            f"request {request_id} is not known here; copies of requests reach the issues"
            " service by events and may lag a few seconds behind, so retry shortly",
            "requestId",
        )
    elif not principal.may_see(replica.departments):
        problems.add(
            "FORBIDDEN",
            "only departments taking part in the request (or PMO) report issues on it",
            "requestId",
        )


def _reporting_department(
    problems: Problems, principal: Principal, command: NewIssue, replica: RequestReplica | None
) -> str | None:
    """The department the reporter speaks for: given (one of theirs), else the first of
    theirs that takes part in the request, else their first."""
    chosen = command.reporting_department_id
    if chosen is not None:
        if chosen not in principal.departments and not principal.sees_everything:
            problems.add(
                "NOT_YOUR_DEPARTMENT",
                "an issue is reported on behalf of one of the reporter's own departments",
                "reportingDepartmentId",
            )
        return chosen
    taking_part = [d for d in principal.departments if replica and d in replica.departments]
    return next(iter(taking_part or principal.departments), None)


async def _check_lead(
    problems: Problems, uow: UnitOfWork, command: NewIssue, replica: RequestReplica | None
) -> None:
    """A named lead department must be known and take part in the request.

    A department outside the request is refused rather than added: it would lead an issue
    on a request it cannot see, and the request's departments decide who takes part.
    """
    lead = command.lead_department_id
    if lead is None or replica is None:
        return
    if lead not in await department_regions(uow.conn, [lead]):
        problems.add(
            "DEPARTMENT_NOT_FOUND", f"department {lead} is not in the directory", "leadDepartmentId"
        )
    elif lead not in replica.departments:
        problems.add(
            "LEAD_NOT_IN_REQUEST",
            f"the lead department must take part in request {replica.code}"
            f" ({', '.join(replica.departments)})",
            "leadDepartmentId",
        )


async def report_issue(
    runtime: ServiceRuntime, principal: Principal, command: NewIssue, now: datetime | None = None
) -> Issue:
    """Log an issue against a request; its SLA clocks start now."""
    problems = _check_issue_shape(command)
    async with unit_of_work(runtime) as uow:
        replica = await get_request(uow.conn, command.request_id)
        _check_request(problems, principal, command.request_id, replica)
        department = _reporting_department(problems, principal, command, replica)
        await _check_lead(problems, uow, command, replica)
        problems.raise_if_any()
        assert replica is not None  # REQUEST_NOT_FOUND was raised above otherwise
        command = NewIssue(
            **{
                **command.__dict__,
                "title": command.title.strip(),
                "reporting_department_id": department,
            }
        )
        return await create_issue(
            uow, command, replica, reporter_id=principal.sub, region=principal.region, now=now
        )


async def create_issue(
    uow: UnitOfWork,
    command: NewIssue,
    replica: RequestReplica,
    *,
    reporter_id: str,
    region: str | None,
    now: datetime | None,
    code: str | None = None,
    start_clocks: bool = True,
) -> Issue:
    """Store the issue, start its clocks, write the first timeline entry and the event.
    An import gives the issue's ``code`` and times its clocks itself (``start_clocks``)."""
    now = now or datetime.now(UTC)
    if region is None and command.reporting_department_id:
        found = await department_regions(uow.conn, [command.reporting_department_id])
        region = found.get(command.reporting_department_id)
    issue = await repo.insert_issue(
        uow.conn,
        command,
        code=code or await repo.next_issue_code(uow.conn, now.year),
        reporter_id=reporter_id,
        lead_department_id=command.lead_department_id or replica.lead_department_id,
        reporting_region_id=region,
        created_at=now,
    )
    if start_clocks:
        policy = SlaPolicy.from_settings(uow.runtime.settings)
        await clocks.start_clocks(uow, issue, policy, now)
    await repo.add_timeline(
        uow.conn, issue.id, now, IssueAction.REPORTED, actor_id=reporter_id,
        to_status=IssueStatus.REPORTED, note=issue.title,
    )  # fmt: skip
    await uow.emit(
        "issues.issue.reported",
        issue.id,
        IssueReported(
            id=issue.id,
            code=issue.code,
            request_id=issue.request_id,
            title=issue.title,
            severity=issue.severity.value,
            urgent=issue.urgent,
            lead_department_id=issue.lead_department_id,
            reporter_id=issue.reporter_id,
            task_id=issue.task_id,
            source_problem_id=issue.source_problem_id,
        ),
        departments=list(replica.departments),
    )
    return issue


class RequestNotYetKnown(RuntimeError):
    """The problem's request has not reached us yet; the event is retried later."""


async def on_problem_raised(uow: UnitOfWork, event: EventEnvelope) -> None:
    """``raiseProblemAsIssue`` in tasks: the problem becomes an issue, once."""
    data = ProblemRaised.model_validate(event.data)
    if await repo.issue_by_problem(uow.conn, data.problem_id) is not None:
        return
    replica = await get_request(uow.conn, data.request_id)
    if replica is None:
        # Raising leaves the message pending; the consumer retries it after the request's
        # own event has arrived (both come from the same stream, so that is soon).
        raise RequestNotYetKnown(data.request_id)
    severity = data.severity if data.severity in Severity.__members__ else Severity.MEDIUM
    command = NewIssue(
        request_id=data.request_id,
        title=data.title.strip()[:MAX_TITLE_LENGTH] or "Problem from a progress report",
        severity=Severity(severity),
        task_id=data.task_id,
        description=data.description,
        impact=data.impact,
        urgent=data.urgent,
        attempted_measures=data.attempted_measures,
        reporting_department_id=data.department_id,
        source_problem_id=data.problem_id,
    )
    await create_issue(uow, command, replica, reporter_id=data.reporter_id, region=None, now=None)


# --- calendar and directory changes ---------------------------------------------------------


async def _locked(uow: UnitOfWork, issue_ids: list[str]) -> list[Issue]:
    found = [await repo.lock_issue(uow.conn, issue_id) for issue_id in issue_ids]
    return [issue for issue in found if issue is not None]


async def _recompute(uow: UnitOfWork, issue_ids: list[str], now: datetime) -> None:
    for issue in await _locked(uow, issue_ids):
        await clocks.recompute_clocks(uow, issue, now)


async def on_region_upserted(uow: UnitOfWork, event: EventEnvelope) -> None:
    """Bank what the region's business-hours clocks counted under the old calendar, keep
    the copy, then recount their deadlines under the new one.

    The change takes effect when it was made (the event's time), not when it reached us.
    """
    region = RegionUpserted.model_validate(event.data).id
    issue_ids = await sla_repo.open_business_clock_issues(uow.conn, region_id=region)
    for issue in await _locked(uow, issue_ids):
        await clocks.bank_segments(uow, issue, event.time)
    await REPLICA_HANDLERS["requests.region.upserted"](uow, event)
    await _recompute(uow, issue_ids, event.time)


async def on_department_upserted(uow: UnitOfWork, event: EventEnvelope) -> None:
    """Keep the copy; a department that moved region (or just became known) moves the
    working hours its open issues count in, from the event's time on."""
    await REPLICA_HANDLERS["requests.department.upserted"](uow, event)
    department = DepartmentUpserted.model_validate(event.data)
    moved = await sla_repo.open_business_clock_issues(
        uow.conn, department_id=department.id, outside_region=department.region_id
    )
    await _recompute(uow, moved, event.time)
