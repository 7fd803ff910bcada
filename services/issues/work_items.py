"""The work items of issues (``myWork``, shared/projections.py): whose move an issue awaits.

Each status awaits one move, made by whom the lifecycle's rules say (lifecycle/moves.py):

- REPORTED: the lead department acknowledges it, due at the RESPONSE clock's deadline;
- ACKNOWLEDGED: the responsible department proposes the plan, due at the PLAN clock's;
- PLAN_PROPOSED, IN_PROGRESS: the responsible department starts and resolves it (no clock
  counts resolution, so no due time);
- WAITING: the reporter answers (any party may resume, but the issue waits for the
  reporter); the clock the wait interrupted is shown paused;
- RESOLVED: the lead department verifies it.

The rules let any member of the responsible department make its moves; once an owner is
named (always a member: ``rules.check_assignment``), the item is the owner's alone, since
the issue was handed to them. VERIFIED needs only archiving, which is no kind of work item.
A clock's item is at risk from the clock's first warning.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from services.issues import repository as repo
from services.issues.models import (
    Issue,
    IssueStatus,
    Severity,
    SlaCalendar,
    SlaClock,
    SlaMetric,
)
from services.issues.sla import repository as sla_repo
from services.issues.sla.arithmetic import time_calendar, warning_at
from shared.calendars import TimeCalendar
from shared.db import Connection
from shared.events.contracts.issues import ISSUE_CHANGE_TYPES
from shared.events.contracts.work import WorkItem, WorkKind, WorkRole, WorkTarget
from shared.events.envelope import EventEnvelope
from shared.projections import publish_records, subjects
from shared.unit_of_work import UnitOfWork

S = IssueStatus

ISSUE_EVENTS = frozenset(
    {"issues.issue.reported", "issues.issue.sla_breached", *ISSUE_CHANGE_TYPES}
)
"""Every event that changes an issue's status, owner, departments or clocks (subject: the
issue). The spreadsheet import emits these too, from the same unit of work."""
REGION_EVENT = "requests.region.upserted"
DEPARTMENT_EVENT = "requests.department.upserted"
"""Consumed events after which the issues service recounts clock deadlines itself
(``service.on_region_upserted``, ``on_department_upserted``) without an issue event."""

URGENCY = {Severity.CRITICAL: 1, Severity.HIGH: 1, Severity.MEDIUM: 2, Severity.LOW: 3}
"""Urgency of an issue that is not urgent (green channel, which is 0), by severity."""

AWAITED_CLOCK = {S.REPORTED: SlaMetric.RESPONSE, S.ACKNOWLEDGED: SlaMetric.PLAN}
"""The clock that times the move a status awaits (WAITING: the one of the status it
interrupted)."""


@dataclass(frozen=True)
class TimedClock:
    """An open clock with the calendar it counts in."""

    clock: SlaClock
    calendar: TimeCalendar


@dataclass(frozen=True)
class IssueWork:
    """What an issue's items depend on: the issue and its clocks not yet met."""

    issue: Issue
    open_clocks: tuple[TimedClock, ...]


@dataclass(frozen=True)
class _Holder:
    kind: WorkKind
    role: WorkRole
    person_id: str | None = None
    department_id: str | None = None


def _assignee(issue: Issue, kind: WorkKind) -> _Holder:
    """The owner if one is named, else the responsible department."""
    if issue.owner_id is not None:
        return _Holder(kind, WorkRole.OWNER, person_id=issue.owner_id)
    return _Holder(
        kind, WorkRole.RESPONSIBLE_DEPARTMENT, department_id=issue.responsible_department_id
    )


def _holder(issue: Issue) -> _Holder | None:
    """Who must make the move the issue's status awaits; None when it awaits none."""
    lead = issue.lead_department_id
    if issue.status is S.REPORTED:
        return _Holder(WorkKind.ACKNOWLEDGE_ISSUE, WorkRole.LEAD_DEPARTMENT, department_id=lead)
    if issue.status is S.ACKNOWLEDGED:
        return _assignee(issue, WorkKind.PLAN_ISSUE)
    if issue.status in (S.PLAN_PROPOSED, S.IN_PROGRESS):
        return _assignee(issue, WorkKind.RESOLVE_ISSUE)
    if issue.status is S.WAITING:
        return _Holder(WorkKind.ANSWER_ISSUE, WorkRole.REPORTER, person_id=issue.reporter_id)
    if issue.status is S.RESOLVED:
        return _Holder(WorkKind.VERIFY_ISSUE, WorkRole.LEAD_DEPARTMENT, department_id=lead)
    return None


def _awaited_clock(work: IssueWork) -> TimedClock | None:
    issue = work.issue
    status = issue.status_before_waiting if issue.status is S.WAITING else issue.status
    metric = AWAITED_CLOCK.get(status) if status is not None else None
    return next((t for t in work.open_clocks if t.clock.metric is metric), None)


def _at_risk(timed: TimedClock) -> datetime | None:
    """The clock's first warning (the policy's lowest percentage); None without one."""
    percents = [p for p in timed.clock.warn_at_percents if 0 < p < 100]
    return warning_at(timed.clock, timed.calendar, min(percents)) if percents else None


def issue_items(work: IssueWork) -> list[WorkItem]:
    """The one item of the move the issue awaits, timed by its clock if one counts it."""
    issue = work.issue
    holder = _holder(issue)
    if holder is None:
        return []
    timed = _awaited_clock(work)
    clock = timed.clock if timed is not None else None
    return [
        WorkItem(
            key=f"{holder.kind.value}:{holder.person_id or holder.department_id}",
            kind=holder.kind,
            role=holder.role,
            title=f"{issue.code} {issue.title}",
            target=WorkTarget.ISSUE,
            target_id=issue.id,
            request_id=issue.request_id,
            person_id=holder.person_id,
            department_id=holder.department_id,
            due_at=clock.due_at if clock else None,
            at_risk_at=_at_risk(timed) if timed is not None else None,
            has_clock=clock is not None,
            clock_paused=clock is not None and clock.paused_at is not None,
            urgency=0 if issue.urgent else URGENCY[issue.severity],
        )
    ]


async def issues_work(conn: Connection, ids: Sequence[str]) -> dict[str, IssueWork]:
    """The issues with their open clocks and calendars: three statements for any batch."""
    issues = await repo.issues_by_ids(conn, ids)
    clocks = await sla_repo.clocks_by_issue_ids(conn, list(issues))
    open_clocks = {i: [c for c in found if c.met_at is None] for i, found in clocks.items()}
    regions = {
        c.region_id
        for found in open_clocks.values()
        for c in found
        if c.calendar is SlaCalendar.BUSINESS_HOURS and c.region_id
    }
    stored = await sla_repo.region_calendars(conn, sorted(regions))
    calendars: dict[tuple[SlaCalendar, str | None], TimeCalendar] = {}

    def calendar(clock: SlaClock) -> TimeCalendar:
        """As ``arithmetic.calendar_of``, built once per calendar and region."""
        key = (clock.calendar, clock.region_id)
        if key not in calendars:
            region = stored.get(clock.region_id) if clock.region_id else None
            calendars[key] = time_calendar(clock.calendar, region)
        return calendars[key]

    return {
        issue_id: IssueWork(
            issue,
            tuple(TimedClock(c, calendar(c)) for c in open_clocks.get(issue_id, [])),
        )
        for issue_id, issue in issues.items()
    }


async def _recounted(uow: UnitOfWork, events: Sequence[EventEnvelope]) -> list[str]:
    """Issues whose clock deadlines a consumed calendar or department change recounted."""
    found: list[str] = []
    for region_id in subjects(events, {REGION_EVENT}):
        found += await sla_repo.open_business_clock_issues(uow.conn, region_id=region_id)
    for department_id in subjects(events, {DEPARTMENT_EVENT}):
        found += await sla_repo.open_business_clock_issues(uow.conn, department_id=department_id)
    return found


async def project(uow: UnitOfWork, events: Sequence[EventEnvelope]) -> None:
    """Publish the work items of every issue the unit changed."""
    ids = list(dict.fromkeys([*subjects(events, ISSUE_EVENTS), *await _recounted(uow, events)]))
    await publish_records(uow, "ISSUE", ids, issues_work, issue_items)
