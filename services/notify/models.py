"""The notify service's domain objects (plain data, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from enum import StrEnum
from typing import Any


class Urgency(StrEnum):
    NORMAL = "NORMAL"
    URGENT = "URGENT"


@dataclass(frozen=True)
class MeetingInfo:
    """A meeting an invitation is about (read from the scheduling event)."""

    id: str
    title: str
    starts_at: datetime
    ends_at: datetime
    attendee_ids: tuple[str, ...]
    organizer_id: str | None = None
    location: str | None = None
    join_url: str | None = None
    description: str = ""
    sequence: int = 0


@dataclass(frozen=True)
class NotificationDraft:
    """What a routing rule decides to tell one person about one event."""

    recipient_id: str
    type: str
    title: str
    body: str
    source_event_id: str
    link: str | None = None
    urgency: Urgency = Urgency.NORMAL
    informed_only: bool = False
    """The person is only Informed: a daily digest unless urgent (and they want digests)."""
    meeting: MeetingInfo | None = None
    """An invitation: the e-mail carries the ``.ics`` whatever the channel preferences."""


@dataclass(frozen=True)
class Notification:
    id: str
    recipient_id: str
    type: str
    title: str
    body: str
    link: str | None
    urgency: Urgency
    source_event_id: str
    created_at: datetime
    read_at: datetime | None


class TargetKind(StrEnum):
    """Where a delivery goes."""

    WEBHOOK = "WEBHOOK"
    CHANNEL = "CHANNEL"
    EMAIL = "EMAIL"


class DeliveryStatus(StrEnum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    EXHAUSTED = "EXHAUSTED"


class ChannelKind(StrEnum):
    DINGTALK = "DINGTALK"
    WECOM = "WECOM"
    FEISHU = "FEISHU"
    SLACK = "SLACK"
    WEBHOOK = "WEBHOOK"
    EMAIL = "EMAIL"


class Phase(StrEnum):
    PREPARATION = "PREPARATION"
    EXECUTION = "EXECUTION"
    ACCEPTANCE = "ACCEPTANCE"
    CLOSED = "CLOSED"


class PersonalChannel(StrEnum):
    """How one person can be reached."""

    IN_APP = "IN_APP"
    EMAIL = "EMAIL"


@dataclass(frozen=True)
class Delivery:
    id: str
    event_id: str
    event_type: str
    target_kind: TargetKind
    target_id: str
    payload: dict[str, Any]
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    lease_expires_at: datetime | None
    claim_id: str | None
    """The token of the claim being sent under (set with the lease)."""
    created_at: datetime
    updated_at: datetime
    region: str | None = None
    """Region whose workers send it (None: the home region, ``LIAISON_HOME_REGION``)."""


@dataclass(frozen=True)
class DeliveryAttempt:
    delivery_id: str
    number: int
    started_at: datetime
    finished_at: datetime | None
    outcome: str | None
    status_code: int | None
    error: str | None


@dataclass(frozen=True)
class WebhookEndpoint:
    id: str
    owner_id: str
    url: str
    description: str
    event_types: list[str]
    scopes: list[str]
    # Stored form (shared/secrets_box.py): sealed, or plain in rows from before encryption.
    secret: str = field(repr=False)
    previous_secret: str | None = field(repr=False)
    previous_secret_expires_at: datetime | None
    enabled: bool
    disabled_reason: str | None
    failing_since: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Channel:
    id: str
    name: str
    kind: ChannelKind
    request_id: str
    phase: Phase
    department_id: str
    url: str
    # Stored form (shared/secrets_box.py): sealed, or plain in rows from before encryption.
    secret: str | None = field(repr=False)
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time

    def contains(self, local: time) -> bool:
        """Whether a local wall-clock time falls inside (the window may cross midnight)."""
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


@dataclass(frozen=True)
class Preferences:
    person_id: str
    quiet_hours: QuietHours | None = None
    time_zone: str | None = None
    digest_for_informed: bool = True
    normal_channels: tuple[PersonalChannel, ...] = (PersonalChannel.IN_APP, PersonalChannel.EMAIL)
    urgent_channels: tuple[PersonalChannel, ...] = (PersonalChannel.IN_APP, PersonalChannel.EMAIL)
    language: str = "zh"

    def channels_for(self, urgency: Urgency) -> tuple[PersonalChannel, ...]:
        return self.urgent_channels if urgency is Urgency.URGENT else self.normal_channels


@dataclass(frozen=True)
class LoggedEvent:
    """An event as notify keeps it for the partner stream and replays."""

    seq: int
    tx: int
    event_id: str
    type: str
    time: datetime
    departments: list[str]
    envelope: dict[str, Any]
    data_json: str
    """The payload's JSON text (:func:`services.notify.event_log.payload_json`)."""

    @property
    def position(self) -> tuple[int, int]:
        """Where it is in the log (:data:`services.notify.event_log.Position`)."""
        return (self.tx, self.seq)
