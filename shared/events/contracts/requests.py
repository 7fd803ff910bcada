"""Events emitted by the requests service."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import Field

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
    dingtalk_id: str | None = None
    wecom_id: str | None = None
    feishu_id: str | None = None
    active: bool = True
    """False once the person has left the company: every service then refuses them."""


@event_type("requests.partner_client.upserted")
class PartnerClientUpserted(EventData):
    """An integration partner's client as registered in the directory (its whole state)."""

    id: str
    name: str
    owner_id: str
    scopes: list[str]
    enabled: bool


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
    starts_on: date | None = None
    ends_on: date | None = None


@event_type("requests.request.updated")
class RequestUpdated(RequestCreated):
    """Any change of a request (edit, status move, phase): carries the whole new state."""

    actor_id: str | None = None
    previous_status: str | None = None
    comment: str | None = None
    action: str | None = None
    """What happened: EDITED, SUBMITTED, APPROVED, ..., CLOSED, CANCELLED."""


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


# --- meetings, risks, acceptance, secondments, folders (added with the full lifecycle) -------


@event_type("requests.meeting.scheduled")
class MeetingScheduled(EventData):
    """A meeting was scheduled, moved or cancelled: its whole state and who is invited."""

    id: str
    request_id: str
    kind: str
    title: str
    starts_at: datetime
    ends_at: datetime
    mode: str
    status: str = "SCHEDULED"
    join_url: str | None = None
    location: str | None = None
    organizer_id: str | None = None
    required_attendee_ids: list[str] = Field(default_factory=list)
    optional_attendee_ids: list[str] = Field(default_factory=list)
    minutes_due_at: datetime | None = None
    sequence: int = 0


@event_type("requests.meeting.agenda_sent")
class AgendaSent(EventData):
    """The agenda and background materials went out to the attendees."""

    meeting_id: str
    request_id: str
    sent_at: datetime
    sent_by: str
    attendee_ids: list[str] = Field(default_factory=list)
    material_urls: list[str] = Field(default_factory=list)


@event_type("requests.minutes.published")
class MinutesPublished(EventData):
    """Minutes are out (each action item follows as ``requests.action_item.created``)."""

    meeting_id: str
    request_id: str
    published_by: str
    published_at: datetime
    summary: str
    decisions: list[str] = Field(default_factory=list)
    action_item_ids: list[str] = Field(default_factory=list)
    late: bool = False
    attendee_ids: list[str] = Field(default_factory=list)


@event_type("requests.minutes.overdue")
class MinutesOverdue(EventData):
    """A meeting's minutes were not published by their deadline (24 h after its end)."""

    meeting_id: str
    request_id: str
    title: str
    ended_at: datetime
    due_at: datetime
    organizer_id: str | None = None
    lead_department_id: str | None = None


@event_type("requests.risk.recorded")
class RiskRecorded(EventData):
    """A risk of the kickoff's register was added or changed (whole state)."""

    id: str
    request_id: str
    description: str
    likelihood: str
    impact: str
    mitigation: str
    owner_id: str | None = None
    status: str = "OPEN"


@event_type("requests.lesson.added")
class LessonAdded(EventData):
    id: str
    request_id: str
    title: str
    tags: list[str] = Field(default_factory=list)
    author_id: str


@event_type("requests.secondment.updated")
class SecondmentUpdated(EventData):
    """A secondment was requested or decided: its whole state."""

    id: str
    person_id: str
    from_department_id: str
    to_department_id: str
    starts_on: date
    ends_on: date
    status: str
    request_id: str | None = None
    actor_id: str | None = None


@event_type("requests.secondment.ending_soon")
class SecondmentEndingSoon(EventData):
    """A secondment ends in ``days_left`` days: plan the hand-back and the evaluation."""

    id: str
    person_id: str
    from_department_id: str
    to_department_id: str
    ends_on: date
    days_left: int


@event_type("requests.folder.updated")
class FolderUpdated(EventData):
    """A document folder was created or its access lists changed."""

    id: str
    request_id: str
    department_id: str
    file_type: str
    path: str
    viewer_ids: list[str] = Field(default_factory=list)
    editor_ids: list[str] = Field(default_factory=list)


@event_type("requests.folder.link_added")
@event_type("requests.folder.link_removed")
class FolderLinkChanged(EventData):
    """A link to a document was added to a folder or removed from it."""

    folder_id: str
    request_id: str
    link_id: str
    title: str | None = None
    url: str | None = None
    by: str
