"""Events emitted by the notify service."""

from __future__ import annotations

from shared.events.contracts.base import EventData, event_type


@event_type("notify.notification.created")
class NotificationCreated(EventData):
    id: str
    recipient_id: str
    type: str
    source_event_id: str
