"""The requests service's domain objects and commands (plain data, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from shared.calendars import WorkCalendar


class RequestKind(StrEnum):
    PROJECT = "PROJECT"
    OPERATIONS = "OPERATIONS"
    EMERGENCY = "EMERGENCY"
    RESOURCE_SHARING = "RESOURCE_SHARING"


class RequestStatus(StrEnum):
    DRAFT = "DRAFT"
    SUBMITTED = "SUBMITTED"
    CHANGES_REQUESTED = "CHANGES_REQUESTED"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    ACTIVE = "ACTIVE"
    IN_ACCEPTANCE = "IN_ACCEPTANCE"
    CLOSED = "CLOSED"
    CANCELLED = "CANCELLED"


class RequestSort(StrEnum):
    """Orders of the ``requests`` list; each breaks ties by id."""

    CREATED_NEWEST = "CREATED_NEWEST"
    CREATED_OLDEST = "CREATED_OLDEST"
    UPDATED_NEWEST = "UPDATED_NEWEST"
    NEAREST_MILESTONE = "NEAREST_MILESTONE"


class Phase(StrEnum):
    PREPARATION = "PREPARATION"
    EXECUTION = "EXECUTION"
    ACCEPTANCE = "ACCEPTANCE"
    CLOSED = "CLOSED"


class GoalDirection(StrEnum):
    """Whether a goal is met by reaching its target (revenue) or by staying under it (hours)."""

    AT_LEAST = "AT_LEAST"
    AT_MOST = "AT_MOST"


class ChannelLanguage(StrEnum):
    """Language of phase labels in channel names."""

    ZH = "ZH"
    EN = "EN"


class ResourceKind(StrEnum):
    BUDGET = "BUDGET"
    HEADCOUNT = "HEADCOUNT"
    EQUIPMENT = "EQUIPMENT"
    OTHER = "OTHER"


@dataclass(frozen=True)
class Region:
    id: str
    code: str
    name: str
    time_zone: str
    calendar: WorkCalendar

    @classmethod
    def from_row(cls, row: Any) -> Region:
        return cls(
            id=row["id"],
            code=row["code"],
            name=row["name"],
            time_zone=row["time_zone"],
            calendar=WorkCalendar.model_validate(row["calendar"]),
        )


@dataclass(frozen=True)
class Department:
    id: str
    code: str
    name: str
    region_id: str
    parent_id: str | None = None
    head_id: str | None = None


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    email: str
    department_id: str
    region_id: str
    time_zone: str
    roles: tuple[str, ...] = ("MEMBER",)
    dingtalk_id: str | None = None
    wecom_id: str | None = None
    feishu_id: str | None = None
    active: bool = True
    """False once the person has left: kept on record, refused at sign-in."""


@dataclass(frozen=True)
class Goal:
    id: str
    request_id: str
    metric: str
    target: Decimal
    unit: str
    due_date: date
    regions: tuple[str, ...] = ()
    direction: GoalDirection = GoalDirection.AT_LEAST
    actual: Decimal | None = None
    met: bool | None = None
    recorded_at: datetime | None = None


@dataclass(frozen=True)
class Milestone:
    """A time node of the request (handbook template 1), inside the request's span."""

    id: str
    request_id: str
    title: str
    due_date: date


@dataclass(frozen=True)
class ResourceNeed:
    """A concrete resource the request needs, e.g. 150,000 CNY of marketing budget."""

    id: str
    request_id: str
    kind: ResourceKind
    description: str
    quantity: Decimal
    unit: str
    provider_department_id: str | None = None


@dataclass(frozen=True)
class CollabRequest:
    id: str
    code: str
    kind: RequestKind
    title: str
    background: str
    status: RequestStatus
    phase: Phase
    lead_department_id: str
    approver_id: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    starts_on: date | None = None
    ends_on: date | None = None
    acceptance_tolerance_percent: Decimal = Decimal(0)
    version: int = 1
    next_milestone_on: date = date.max
    """Due day of the earliest milestone not yet passed (today or later in the lead
    department's region) while the request has not ended; ``date.max`` (PostgreSQL's
    ``infinity``) when there is none. The key of the NEAREST_MILESTONE order."""


@dataclass(frozen=True)
class GoalDraft:
    """A goal as submitted: every part optional, so the use case can say what is missing."""

    metric: str | None
    target: Decimal | None
    unit: str | None
    due_date: date | None
    regions: tuple[str, ...] = ()
    direction: GoalDirection = GoalDirection.AT_LEAST


@dataclass(frozen=True)
class MilestoneDraft:
    title: str
    due_date: date


@dataclass(frozen=True)
class ResourceNeedDraft:
    kind: ResourceKind
    description: str
    quantity: Decimal | None
    unit: str | None
    provider_department_id: str | None = None


@dataclass(frozen=True)
class NewRequest:
    kind: RequestKind
    title: str
    lead_department_id: str
    participant_department_ids: tuple[str, ...]
    goals: tuple[GoalDraft, ...]
    resource_needs: tuple[ResourceNeedDraft, ...] = ()
    background: str = ""
    approver_id: str | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    milestones: tuple[MilestoneDraft, ...] = ()


@dataclass(frozen=True)
class HistoryEntry:
    """One recorded move or edit of a request."""

    id: int
    request_id: str
    action: str
    from_status: RequestStatus | None
    to_status: RequestStatus
    actor_id: str
    comment: str
    at: datetime
