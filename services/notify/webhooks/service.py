"""Use cases of partner webhooks: endpoints, secret rotation, fan-out, retries and replays."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.notify import event_log, scopes
from services.notify.delivery import repository as deliveries
from services.notify.delivery import service as delivery_service
from services.notify.models import (
    Delivery,
    DeliveryStatus,
    LoggedEvent,
    TargetKind,
    WebhookEndpoint,
)
from services.notify.webhooks import repository as repo
from services.notify.webhooks.signing import new_secret
from services.notify.webhooks.urls import UrlRefused, check_url
from shared.auth import Principal, Role
from shared.events.contracts import registered_types
from shared.events.contracts.notify import WebhookEndpointChanged
from shared.graphql.errors import DomainError, Problems
from shared.runtime import ServiceRuntime
from shared.secrets_box import secrets_box
from shared.unit_of_work import UnitOfWork, unit_of_work

MAX_EVENT_TYPES = 50
MAX_REPLAY_EVENTS = 10_000


@dataclass(frozen=True)
class EndpointWithSecret:
    endpoint: WebhookEndpoint
    secret: str = field(repr=False)  # plain: the one-time reveal


def sees_all_endpoints(principal: Principal) -> bool:
    return principal.has_role(Role.ADMIN)


def may_manage(principal: Principal, endpoint: WebhookEndpoint) -> bool:
    """Owners manage their endpoints; ADMIN manages all. Others see nothing."""
    return endpoint.owner_id == principal.sub or sees_all_endpoints(principal)


async def _own_endpoint(uow: UnitOfWork, principal: Principal, endpoint_id: str) -> WebhookEndpoint:
    endpoint = await repo.get_endpoint(uow.conn, endpoint_id, lock=True)
    if endpoint is None or not may_manage(principal, endpoint):
        # Another partner's endpoint is reported exactly like one that does not exist.
        raise DomainError.single("NOT_FOUND", f"no such webhook endpoint: {endpoint_id}", "id")
    return endpoint


async def _check_target_url(
    runtime: ServiceRuntime, url: str, field: str, problems: Problems
) -> None:
    try:
        await check_url(url, allow_private=runtime.settings.notify_allow_private_urls)
    except UrlRefused as exc:
        problems.add("INVALID_URL", str(exc), field)


def _check_event_types(
    event_types: Sequence[str], allowed: Sequence[str], problems: Problems
) -> None:
    if not event_types:
        problems.add(
            "INVALID", "name at least one event type (or a pattern like `issues.*`)", "eventTypes"
        )
    if len(event_types) > MAX_EVENT_TYPES:
        problems.add("INVALID", f"at most {MAX_EVENT_TYPES} event types", "eventTypes")
    known = set(registered_types())
    for index, pattern in enumerate(event_types):
        field = f"eventTypes.{index}"
        wildcard = pattern == scopes.ALL or pattern.endswith(".*")
        if not wildcard and pattern not in known:
            problems.add("UNKNOWN_EVENT_TYPE", f"no event type {pattern!r}", field)
        elif not scopes.covers(allowed, pattern):
            problems.add(
                "EVENT_TYPE_NOT_ALLOWED", f"your token is not scoped to {pattern!r}", field
            )


async def create_endpoint(
    runtime: ServiceRuntime,
    principal: Principal,
    url: str,
    description: str,
    event_types: Sequence[str],
) -> EndpointWithSecret:
    """Register an endpoint; the signing secret is returned here and never again."""
    allowed = scopes.token_scopes(principal)
    if not allowed:
        raise DomainError.single("FORBIDDEN", "only partners and administrators register webhooks")
    wanted = list(dict.fromkeys(event_types))
    problems = Problems()
    if len(description) > 500:
        problems.add("INVALID", "at most 500 characters", "description")
    _check_event_types(wanted, allowed, problems)
    await _check_target_url(runtime, url, "url", problems)
    problems.raise_if_any()
    secret = new_secret()
    box = secrets_box(runtime.settings)
    async with unit_of_work(runtime) as uow:
        endpoint = await repo.insert_endpoint(
            uow.conn, principal.sub, url, description, wanted, allowed, box.seal(secret)
        )
        await _emit(uow, "notify.webhook_endpoint.created", endpoint)
    return EndpointWithSecret(endpoint, secret)


async def rotate_secret(
    runtime: ServiceRuntime, principal: Principal, endpoint_id: str
) -> EndpointWithSecret:
    """A new secret; the old one keeps signing (alongside) for the overlap period."""
    overlap = timedelta(seconds=runtime.settings.notify_secret_overlap_seconds)
    secret = new_secret()
    sealed = secrets_box(runtime.settings).seal(secret)
    async with unit_of_work(runtime) as uow:
        await _own_endpoint(uow, principal, endpoint_id)
        expires = delivery_service.now() + overlap
        endpoint = await repo.rotate_secret(uow.conn, endpoint_id, sealed, expires)
        await _emit(uow, "notify.webhook_endpoint.secret_rotated", endpoint)
    return EndpointWithSecret(endpoint, secret)


async def set_enabled(
    runtime: ServiceRuntime,
    principal: Principal,
    endpoint_id: str,
    enabled: bool,
    reason: str | None,
) -> WebhookEndpoint:
    """Disable (stopping what waits to be sent) or enable again an endpoint."""
    async with unit_of_work(runtime) as uow:
        current = await _own_endpoint(uow, principal, endpoint_id)
        if current.enabled == enabled:
            state = "enabled" if enabled else "disabled"
            raise DomainError.single(
                f"ALREADY_{state.upper()}", f"the endpoint is already {state}", "id"
            )
        why = None if enabled else (reason or f"disabled by {principal.sub}")
        return await _switch(uow, current, enabled, why)


async def _switch(
    uow: UnitOfWork, endpoint: WebhookEndpoint, enabled: bool, reason: str | None
) -> WebhookEndpoint:
    updated = await repo.set_enabled(uow.conn, endpoint.id, enabled, reason)
    if not enabled:
        stopped = await deliveries.stop_pending_for_target(
            uow.conn, TargetKind.WEBHOOK, endpoint.id, f"endpoint disabled: {reason}"
        )
        for delivery_id in stopped:
            await uow.cancel_timer(delivery_service.WATCHDOG_TIMER, delivery_id)
    verb = "enabled" if enabled else "disabled"
    await _emit(uow, f"notify.webhook_endpoint.{verb}", updated)
    return updated


async def disable_after_failures(uow: UnitOfWork, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Disable an endpoint that kept failing; its owner is told (see the handlers)."""
    days = uow.runtime.settings.notify_webhook_disable_after_seconds / 86400
    reason = f"deliveries failed for {days:g} days"
    return await _switch(uow, endpoint, False, reason)


async def _emit(uow: UnitOfWork, type_: str, endpoint: WebhookEndpoint) -> None:
    data = WebhookEndpointChanged(
        id=endpoint.id,
        owner_id=endpoint.owner_id,
        url=endpoint.url,
        enabled=endpoint.enabled,
        disabled_reason=endpoint.disabled_reason,
    )
    await uow.emit(type_, endpoint.id, data)


def wants(endpoint: WebhookEndpoint, event_type: str) -> bool:
    """The endpoint subscribed to this type, and its owner may see it."""
    return (
        endpoint.enabled
        and scopes.matches(endpoint.event_types, event_type)
        and scopes.matches(endpoint.scopes, event_type)
    )


async def fan_out(uow: UnitOfWork, event: LoggedEvent) -> list[Delivery]:
    """One delivery per enabled endpoint that wants ``event``."""
    created = []
    for endpoint in await repo.enabled_endpoints(uow.conn):
        if wants(endpoint, event.type):
            delivery = await delivery_service.create(
                uow, event.event_id, event.type, TargetKind.WEBHOOK, endpoint.id, event.envelope
            )
            if delivery is not None:
                created.append(delivery)
    return created


async def replay(
    runtime: ServiceRuntime, principal: Principal, endpoint_id: str, start: datetime, end: datetime
) -> int:
    """Send again (or for the first time) every wanted event of ``[start, end)``."""
    if end <= start:
        raise DomainError.single("INVALID", "`to` must be after `from`", "to")
    days = runtime.settings.notify_retention_days
    if start < delivery_service.now() - timedelta(days=days):
        raise DomainError.single(
            "BEFORE_RETENTION", f"events are kept for {days} days: `from` is earlier", "from"
        )
    async with unit_of_work(runtime) as uow:
        endpoint = await _own_endpoint(uow, principal, endpoint_id)
        if not endpoint.enabled:
            raise DomainError.single("ENDPOINT_DISABLED", "enable the endpoint first", "id")
        events = await event_log.in_time_range(uow.conn, start, end, MAX_REPLAY_EVENTS + 1)
        if len(events) > MAX_REPLAY_EVENTS:
            raise DomainError.single(
                "TOO_MANY_EVENTS", f"more than {MAX_REPLAY_EVENTS} events: narrow the range", "to"
            )
        count = 0
        for event in events:
            if wants(endpoint, event.type) and await _send_again(uow, endpoint, event):
                count += 1
    return count


async def _send_again(uow: UnitOfWork, endpoint: WebhookEndpoint, event: LoggedEvent) -> bool:
    existing = await deliveries.get_delivery_for(
        uow.conn, event.event_id, TargetKind.WEBHOOK, endpoint.id
    )
    if existing is None:
        created = await delivery_service.create(
            uow, event.event_id, event.type, TargetKind.WEBHOOK, endpoint.id, event.envelope
        )
        return created is not None
    if existing.lease_expires_at is not None or existing.status is DeliveryStatus.PENDING:
        return False  # already on its way
    again = await deliveries.set_state(
        uow.conn, existing.id, status=DeliveryStatus.PENDING, next_attempt_at=delivery_service.now()
    )
    await delivery_service.schedule(uow, again)
    return True
