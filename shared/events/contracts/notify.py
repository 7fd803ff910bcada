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


@event_type("notify.delivery.outcome_unknown")
class DeliveryOutcomeUnknown(EventData):
    """A chat or e-mail attempt was cut off while sending (the worker died): the message may
    or may not have arrived, and it is not sent again unless someone calls retryDelivery."""

    id: str
    event_id: str
    event_type: str
    target_kind: str
    target_id: str
    attempt: int


@event_type("notify.notification.read")
class NotificationsRead(EventData):
    """A person marked notifications read (their other devices can clear them too)."""

    recipient_id: str
    ids: list[str]


@event_type("notify.preferences.updated")
class PreferencesUpdated(EventData):
    """A person's notification preferences as they now stand."""

    person_id: str
    quiet_start: str | None = None
    quiet_end: str | None = None
    time_zone: str | None = None
    digest_for_informed: bool
    normal_channels: list[str]
    urgent_channels: list[str]
    language: str


@event_type("notify.channel.registered")
class ChannelRegistered(EventData):
    """A request's chat group was registered (never its URL or secret: they carry keys)."""

    id: str
    name: str
    kind: str
    request_id: str
    phase: str
    department_id: str
    created_by: str
