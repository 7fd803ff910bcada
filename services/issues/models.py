"""The issues service's domain objects and commands (plain data, no I/O)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

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


class SlaMetric(StrEnum):
    RESPONSE = "RESPONSE"
    PLAN = "PLAN"


class SlaClockState(StrEnum):
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    MET = "MET"
    BREACHED = "BREACHED"


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


@dataclass(frozen=True)
class SlaClock:
    """A deadline on one metric of an issue.

    ``due_at`` is the effective deadline: pausing a clock (a later slice) moves it out by the
    paused time, which ``paused_minutes`` records.
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

    def remaining_minutes(self, now: datetime) -> int:
        """Whole minutes left before ``due_at``; negative once the deadline has passed.

        Counted up to when the clock stopped (met) or paused, else up to ``now``; rounded
        down, so the value is negative exactly when the deadline has passed.
        """
        until = self.met_at or self.paused_at or now
        return math.floor((self.due_at - until).total_seconds() / 60)


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
