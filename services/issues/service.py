"""Use cases of the issues service: one transaction each, every change emits its event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.issues import repository as repo
from services.issues.models import DEFAULT_RESPONSE_MINUTES, Issue, NewIssue, SlaMetric
from shared.auth import Principal
from shared.events.contracts.issues import IssueReported, IssueSlaBreached
from shared.graphql.errors import Problems
from shared.replicas import RequestReplica, get_request
from shared.runtime import ServiceRuntime
from shared.timers import TimerRow
from shared.unit_of_work import UnitOfWork, unit_of_work

MAX_TITLE_LENGTH = 200
SLA_CLOCK_TIMER = "sla.clock"
"""Timer kind of an SLA clock's deadline; the timer's subject is the clock id."""


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


async def report_issue(runtime: ServiceRuntime, principal: Principal, command: NewIssue) -> Issue:
    """Log an issue against a request; the request's lead department must answer in 2 h."""
    problems = _check_issue_shape(command)
    command = NewIssue(**{**command.__dict__, "title": command.title.strip()})
    async with unit_of_work(runtime) as uow:
        replica = await get_request(uow.conn, command.request_id)
        _check_request(problems, principal, command.request_id, replica)
        problems.raise_if_any()
        assert replica is not None  # REQUEST_NOT_FOUND was raised above otherwise
        code = await repo.next_issue_code(uow.conn, datetime.now(UTC).year)
        issue = await repo.insert_issue(
            uow.conn,
            command,
            code=code,
            reporter_id=principal.sub,
            lead_department_id=replica.lead_department_id,
        )
        await _start_response_clock(uow, issue)
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
            ),
            departments=list(replica.departments),
        )
    return issue


async def _start_response_clock(uow: UnitOfWork, issue: Issue) -> None:
    """RESPONSE clock, 24x7 for now: due = reported_at + target (business hours come later)."""
    due_at = issue.created_at + timedelta(minutes=DEFAULT_RESPONSE_MINUTES)
    clock = await repo.insert_clock(
        uow.conn,
        issue_id=issue.id,
        metric=SlaMetric.RESPONSE,
        target_minutes=DEFAULT_RESPONSE_MINUTES,
        started_at=issue.created_at,
        due_at=due_at,
    )
    await uow.arm_timer(SLA_CLOCK_TIMER, clock.id, due_at)


# --- timers ---------------------------------------------------------------------------------


async def sla_clock_due(uow: UnitOfWork, timer: TimerRow) -> None:
    """A clock's deadline passed: breach it if it is still running, and say so once.

    The timer fires once per version; the state guard also covers a clock that was met or
    paused after its timer was armed, and a timer re-armed for an already breached clock.
    """
    clock = await repo.breach_clock(uow.conn, timer.subject)
    if clock is None:
        return
    issue = (await repo.issues_by_ids(uow.conn, [clock.issue_id]))[clock.issue_id]
    replica = await get_request(uow.conn, issue.request_id)
    departments = list(replica.departments) if replica else [issue.lead_department_id]
    assert clock.breached_at is not None  # just set by breach_clock
    await uow.emit(
        "issues.issue.sla_breached",
        issue.id,
        IssueSlaBreached(
            issue_id=issue.id,
            metric=clock.metric.value,
            due_at=clock.due_at,
            breached_at=clock.breached_at,
            lead_department_id=issue.lead_department_id,
        ),
        departments=departments,
    )
