"""The notify service's domain objects (plain data, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Urgency(StrEnum):
    NORMAL = "NORMAL"
    URGENT = "URGENT"


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
