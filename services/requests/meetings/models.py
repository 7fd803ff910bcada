"""Meetings, their agenda, attendees, minutes and action items (plain data)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class MeetingKind(StrEnum):
    KICKOFF = "KICKOFF"
    PROGRESS = "PROGRESS"
    DECISION = "DECISION"
    ACCEPTANCE = "ACCEPTANCE"
    EMERGENCY = "EMERGENCY"


class MeetingMode(StrEnum):
    ONLINE = "ONLINE"
    IN_PERSON = "IN_PERSON"
    HYBRID = "HYBRID"


class MeetingStatus(StrEnum):
    SCHEDULED = "SCHEDULED"
    CANCELLED = "CANCELLED"


@dataclass(frozen=True)
class AgendaItem:
    title: str
    presenter_id: str | None
    minutes: int


@dataclass(frozen=True)
class Attendee:
    person_id: str
    required: bool


@dataclass(frozen=True)
class Material:
    """Background material sent with the agenda (a link; files live in the document folders)."""

    title: str
    url: str


@dataclass(frozen=True)
class Meeting:
    id: str
    request_id: str
    kind: MeetingKind
    title: str
    status: MeetingStatus
    starts_at: datetime
    ends_at: datetime
    mode: MeetingMode
    join_url: str | None
    location: str | None
    organizer_id: str
    minutes_due_at: datetime
    agenda_sent_at: datetime | None
    materials: tuple[Material, ...]
    sequence: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class NewMeeting:
    request_id: str
    kind: MeetingKind
    title: str
    starts_at: datetime
    ends_at: datetime
    mode: MeetingMode
    join_url: str | None
    location: str | None
    agenda: tuple[AgendaItem, ...]
    attendees: tuple[Attendee, ...]


@dataclass(frozen=True)
class ActionItemDraft:
    title: str
    owner_id: str
    department_id: str
    due_at: datetime


@dataclass(frozen=True)
class ActionItem:
    id: str
    meeting_id: str
    request_id: str
    title: str
    owner_id: str
    department_id: str
    due_at: datetime


@dataclass(frozen=True)
class Minutes:
    meeting_id: str
    summary: str
    decisions: tuple[str, ...]
    published_at: datetime
    published_by: str
    late: bool
