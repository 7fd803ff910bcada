"""Progress reports as plain data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from services.tasks.models import TaskStatus


@dataclass(frozen=True)
class ReportItem:
    """Plan vs actual for one task; a delay needs its reason."""

    task_id: str
    planned_progress: int
    actual_progress: int
    status: TaskStatus
    delay_reason: str | None = None

    @property
    def is_delayed(self) -> bool:
        return self.actual_progress < self.planned_progress or self.status is TaskStatus.BLOCKED


@dataclass(frozen=True)
class NewProblem:
    description: str
    impact: str
    attempted_measures: str
    task_id: str | None = None


@dataclass(frozen=True)
class ResourceRequest:
    description: str
    provider_department_id: str | None = None


@dataclass(frozen=True)
class NewProgressReport:
    request_id: str
    department_id: str
    period_start: date
    period_end: date
    items: tuple[ReportItem, ...] = ()
    problems: tuple[NewProblem, ...] = ()
    resource_requests: tuple[ResourceRequest, ...] = ()


@dataclass(frozen=True)
class ProgressReport:
    id: str
    request_id: str
    department_id: str
    period_start: date
    period_end: date
    submitted_by: str
    submitted_at: datetime


@dataclass(frozen=True)
class ReportProblem:
    id: str
    report_id: str
    task_id: str | None
    description: str
    impact: str
    attempted_measures: str
    raised_at: datetime | None
    raised_by: str | None
    issue_id: str | None


@dataclass(frozen=True)
class ReportPlan:
    """The request's reporting rhythm, from its communication plan."""

    request_id: str
    cadence: str  # WEEKLY or MONTHLY
    deadline_weekday: int
    deadline_time: time
    time_zone: str
