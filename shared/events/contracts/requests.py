"""Events emitted by the requests service."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.events.contracts.base import EventData, event_type


@event_type("requests.region.upserted")
class RegionUpserted(EventData):
    id: str
    code: str
    name: str
    time_zone: str
    calendar: dict[str, Any]


@event_type("requests.department.upserted")
class DepartmentUpserted(EventData):
    id: str
    code: str
    name: str
    region_id: str
    parent_id: str | None = None
    head_id: str | None = None


@event_type("requests.person.upserted")
class PersonUpserted(EventData):
    id: str
    name: str
    email: str
    department_id: str
    region_id: str
    time_zone: str
    roles: list[str]


@event_type("requests.request.created")
class RequestCreated(EventData):
    """The request's state after creation; also the shape of every later state event."""

    id: str
    code: str
    kind: str
    title: str
    status: str
    lead_department_id: str
    participant_department_ids: list[str]
    created_by: str
    phase: str = "PREPARATION"
    approver_id: str | None = None


@event_type("requests.request.updated")
class RequestUpdated(RequestCreated):
    """Any change of a request (edit, status move, phase): carries the whole new state."""

    actor_id: str | None = None
    previous_status: str | None = None
    comment: str | None = None


@event_type("requests.communication_plan.set")
class CommunicationPlanSet(EventData):
    """The kickoff's communication plan: report cadence and the weekly reporting deadline."""

    request_id: str
    meeting_cadence: str
    channels: list[str]
    report_template: str
    report_cadence: str  # WEEKLY or MONTHLY
    report_deadline_weekday: int  # ISO weekday, 1 = Monday
    report_deadline_time: str  # local HH:MM
    time_zone: str


@event_type("requests.action_item.created")
class ActionItemCreated(EventData):
    """One action item of published minutes; the tasks service turns it into a task."""

    id: str
    request_id: str
    meeting_id: str
    title: str
    owner_id: str
    department_id: str
    due_at: datetime
    chair_id: str | None = None
    lead_department_head_id: str | None = None
