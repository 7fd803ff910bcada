"""Events emitted by the notify service."""

from __future__ import annotations

from shared.events.contracts.base import EventData, event_type


@event_type("notify.notification.created")
class NotificationCreated(EventData):
    id: str
    recipient_id: str
    type: str
    source_event_id: str


@event_type("notify.webhook_endpoint.created")
@event_type("notify.webhook_endpoint.secret_rotated")
@event_type("notify.webhook_endpoint.enabled")
@event_type("notify.webhook_endpoint.disabled")
class WebhookEndpointChanged(EventData):
    """A partner webhook endpoint's state after a change (never its secret)."""

    id: str
    owner_id: str
    url: str
    enabled: bool
    disabled_reason: str | None = None


@event_type("notify.delivery.exhausted")
class DeliveryExhausted(EventData):
    """A delivery failed on every attempt of the retry schedule."""

    id: str
    event_id: str
    event_type: str
    target_kind: str
    target_id: str
    attempts: int
    last_error: str | None = None
