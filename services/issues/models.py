"""The issues service's domain objects and commands (plain data, no I/O)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shared.calendars import TimeCalendar
from shared.settings import Settings

DEFAULT_RESPONSE_MINUTES = 120
"""Handbook template 5: the lead department answers an issue within 2 hours."""


class Severity(StrEnum):
    CRITICAL = "CRITICAL"
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"


class IssueStatus(StrEnum):
    REPORTED = "REPORTED"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    PLAN_PROPOSED = "PLAN_PROPOSED"
    IN_PROGRESS = "IN_PROGRESS"
    WAITING = "WAITING"
    RESOLVED = "RESOLVED"
    VERIFIED = "VERIFIED"
    ARCHIVED = "ARCHIVED"


CLOSED_STATUSES = frozenset({IssueStatus.RESOLVED, IssueStatus.VERIFIED, IssueStatus.ARCHIVED})
"""The responsible department has closed the loop: nothing left to escalate."""


class IssueAction(StrEnum):
    """What a timeline entry records."""

    REPORTED = "REPORTED"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    PLAN_PROPOSED = "PLAN_PROPOSED"
    WORK_STARTED = "WORK_STARTED"
    WAITING = "WAITING"
    RESUMED = "RESUMED"
    RESOLVED = "RESOLVED"
    VERIFIED = "VERIFIED"
    REOPENED = "REOPENED"
    ARCHIVED = "ARCHIVED"
    REASSIGNED = "REASSIGNED"
    ESCALATED = "ESCALATED"
    SLA_WARNING = "SLA_WARNING"
    SLA_BREACHED = "SLA_BREACHED"
    SLA_RECALCULATED = "SLA_RECALCULATED"


class SlaMetric(StrEnum):
    RESPONSE = "RESPONSE"
    PLAN = "PLAN"


class SlaClockState(StrEnum):
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    MET = "MET"
    BREACHED = "BREACHED"


class IssueClockState(StrEnum):
    """Where a clock not yet stopped stands, for the list filter: each such clock is in
    exactly one of these."""

    RUNNING = "RUNNING"
    AT_RISK = "AT_RISK"
    BREACHED = "BREACHED"
    PAUSED = "PAUSED"


class IssueSort(StrEnum):
    """The orders of the ``issues`` list; each ends with the id, so ties keep their place."""

    REPORTED_NEWEST = "REPORTED_NEWEST"
    REPORTED_OLDEST = "REPORTED_OLDEST"
    NEAREST_DEADLINE = "NEAREST_DEADLINE"
    SEVERITY = "SEVERITY"


class SlaCalendar(StrEnum):
    AROUND_THE_CLOCK = "AROUND_THE_CLOCK"
    BUSINESS_HOURS = "BUSINESS_HOURS"


class ReportGrouping(StrEnum):
    DEPARTMENT = "DEPARTMENT"
    REGION = "REGION"


@dataclass(frozen=True)
class Issue:
    id: str
    code: str
    request_id: str
    task_id: str | None
    title: str
    description: str
    impact: str
    severity: Severity
    urgent: bool
    status: IssueStatus
    reporter_id: str
    lead_department_id: str
    attempted_measures: str
    created_at: datetime
    updated_at: datetime
    responsible_department_id: str
    reporting_department_id: str | None = None
    reporting_region_id: str | None = None
    owner_id: str | None = None
    plan: str = ""
    resolution: str = ""
    status_before_waiting: IssueStatus | None = None
    escalation_level: int = 0
    source_problem_id: str | None = None
    next_deadline: datetime | None = None
    """The earliest deadline of its RUNNING clocks (kept by a trigger), None if none runs."""

    @property
    def parties(self) -> tuple[str, ...]:
        """Departments working on the issue: the lead, then the responsible one if different."""
        if self.responsible_department_id == self.lead_department_id:
            return (self.lead_department_id,)
        return (self.lead_department_id, self.responsible_department_id)


@dataclass(frozen=True)
class SlaClock:
    """A deadline on one metric of an issue, counted in its calendar's working minutes.

    ``consumed_minutes`` were counted before the current running segment, which began at
    ``segment_started_at``; so ``due_at`` is ``segment_started_at`` plus the minutes still
    owed, in the calendar. Pausing closes a segment; time spent paused is never counted, so
    the deadline moves out by exactly the working time the pause covered. A breached clock
    pauses too (``paused_at`` set, state still BREACHED): how late it is stops growing, and
    ``held_escalation_minutes`` keeps the time still to go until the next escalation level.
    """

    id: str
    issue_id: str
    metric: SlaMetric
    target_minutes: int
    started_at: datetime
    due_at: datetime
    paused_minutes: int
    paused_at: datetime | None
    met_at: datetime | None
    breached_at: datetime | None
    state: SlaClockState
    calendar: SlaCalendar = SlaCalendar.AROUND_THE_CLOCK
    region_id: str | None = None
    segment_started_at: datetime | None = None
    consumed_minutes: float = 0.0
    elapsed_minutes: float | None = None
    warn_at_percents: tuple[int, ...] = (50, 75)
    held_escalation_minutes: float | None = None
    warn_at: datetime | None = None
    """When the first warning threshold is (or was) reached; None if no warning is set."""

    @property
    def counting(self) -> bool:
        """Still counting time: running, or breached (not paused) with the step not yet done."""
        if self.met_at is not None or self.paused_at is not None:
            return False
        return self.state in (SlaClockState.RUNNING, SlaClockState.BREACHED)

    def elapsed(self, calendar: TimeCalendar, now: datetime) -> float:
        """Working minutes counted so far (frozen once the step happened or while paused)."""
        if self.elapsed_minutes is not None:
            return self.elapsed_minutes
        if not self.counting:
            return self.consumed_minutes
        segment_start = self.segment_started_at or self.started_at
        return self.consumed_minutes + calendar.minutes_between(segment_start, now)

    def remaining_minutes(self, calendar: TimeCalendar, now: datetime) -> int:
        """Whole working minutes left; negative once the deadline has passed (how far over).

        Rounded down, so the value is negative exactly when the target has been exceeded.
        """
        return math.floor(self.target_minutes - self.elapsed(calendar, now))


@dataclass(frozen=True)
class SlaPolicy:
    """How issues are timed; one policy, configured by ``LIAISON_ISSUES_SLA_*``."""

    id: str
    name: str
    response_minutes: int
    plan_minutes: int
    urgent_plan_minutes: int
    business_hours: bool
    urgent_business_hours: bool
    warn_at_percents: tuple[int, ...]
    escalation_step_minutes: tuple[int, ...]

    @classmethod
    def from_settings(cls, settings: Settings) -> SlaPolicy:
        return cls(
            id="default",
            name="Handbook template 5",
            response_minutes=settings.issues_sla_response_minutes,
            plan_minutes=settings.issues_sla_plan_minutes,
            urgent_plan_minutes=settings.issues_sla_urgent_plan_minutes,
            business_hours=settings.issues_sla_business_hours,
            urgent_business_hours=settings.issues_sla_urgent_business_hours,
            warn_at_percents=tuple(sorted(set(settings.issues_sla_warn_percents))),
            escalation_step_minutes=tuple(settings.issues_escalation_step_minutes),
        )

    def targets(self, urgent: bool) -> dict[SlaMetric, int]:
        plan = self.urgent_plan_minutes if urgent else self.plan_minutes
        return {SlaMetric.RESPONSE: self.response_minutes, SlaMetric.PLAN: plan}

    def calendar(self, urgent: bool) -> SlaCalendar:
        business = self.urgent_business_hours if urgent else self.business_hours
        return SlaCalendar.BUSINESS_HOURS if business else SlaCalendar.AROUND_THE_CLOCK

    def escalation_step(self, to_level: int) -> int | None:
        """Minutes from level ``to_level - 1`` to ``to_level``; None if not automatic."""
        index = to_level - 2
        if 0 <= index < len(self.escalation_step_minutes):
            return self.escalation_step_minutes[index]
        return None


@dataclass(frozen=True)
class TimelineEntry:
    seq: int
    issue_id: str
    at: datetime
    actor_id: str | None
    action: IssueAction
    from_status: IssueStatus | None
    to_status: IssueStatus | None
    note: str


@dataclass(frozen=True)
class NewIssue:
    """``reportIssue`` as submitted."""

    request_id: str
    title: str
    severity: Severity
    task_id: str | None = None
    description: str = ""
    impact: str = ""
    urgent: bool = False
    attempted_measures: str = ""
    reporting_department_id: str | None = None
    source_problem_id: str | None = None
    lead_department_id: str | None = None
    """None: the request's lead department."""


@dataclass(frozen=True)
class Move:
    """A lifecycle command: which issue, and what the caller says with it."""

    issue_id: str
    comment: str = ""
    plan: str = ""
    resolution: str = ""
    accepted: bool = True
    responsible_department_id: str | None = None
    owner_id: str | None = None


@dataclass(frozen=True)
class SlaReportRow:
    key: str
    issue_count: int
    response_met_percent: float | None
    plan_met_percent: float | None
    mean_minutes_to_acknowledge: float | None
    p90_minutes_to_acknowledge: float | None
    mean_minutes_to_plan: float | None
    p90_minutes_to_plan: float | None
