"""Use cases of chat groups: registering a request's channel, announcing events in it.

Channel names follow the handbook's rule ``[request title]-[phase]-[department]``, as
:mod:`shared.channel_names` states it for this service and the requests service alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from services.notify.channels import repository as repo
from services.notify.delivery import service as delivery_service
from services.notify.models import Channel, ChannelKind, Delivery, Phase, TargetKind, Urgency
from services.notify.webhooks.signing import SECRET_PREFIX
from services.notify.webhooks.urls import UrlRefused, check_url
from shared.auth import Principal
from shared.channel_names import channel_name
from shared.events.contracts.notify import ChannelRegistered
from shared.events.envelope import EventEnvelope
from shared.graphql.errors import DomainError, Problems
from shared.replicas import get_request
from shared.runtime import ServiceRuntime
from shared.secrets_box import secrets_box
from shared.unit_of_work import UnitOfWork, unit_of_work


@dataclass(frozen=True)
class Announcement:
    """What a request's chat groups are told about one event."""

    request_id: str
    departments: Sequence[str]
    title: str
    body: str
    link: str | None
    urgency: Urgency = Urgency.NORMAL


async def _department_name(uow: UnitOfWork, department_id: str) -> str | None:
    name: str | None = await uow.conn.fetchval(
        "SELECT name FROM department_replicas WHERE id = $1", department_id
    )
    return name


async def register(
    runtime: ServiceRuntime,
    principal: Principal,
    *,
    request_id: str,
    phase: Phase,
    department_id: str,
    kind: ChannelKind,
    url: str,
    secret: str | None,
) -> Channel:
    """Register the chat group of a request's phase and department (lead department or PMO)."""
    problems = Problems()
    if kind is ChannelKind.EMAIL:
        if not url.startswith("mailto:") or "@" not in url:
            problems.add(
                "INVALID_URL",
                "an EMAIL channel's address is `mailto:list@example.com`",
                "webhookUrl",
            )
    else:
        try:
            await check_url(url, allow_private=runtime.settings.notify_allow_private_urls)
        except UrlRefused as exc:
            problems.add("INVALID_URL", str(exc), "webhookUrl")
    if kind is ChannelKind.WEBHOOK and secret and not secret.startswith(SECRET_PREFIX):
        problems.add(
            "INVALID_SECRET", f"a generic webhook secret starts with {SECRET_PREFIX}", "secret"
        )
    if kind in (ChannelKind.DINGTALK, ChannelKind.FEISHU) and not secret:
        problems.add(
            "SECRET_REQUIRED",
            f"{kind.value} robots are registered with their signing secret",
            "secret",
        )
    problems.raise_if_any()
    async with unit_of_work(runtime) as uow:
        request = await get_request(uow.conn, request_id)
        if request is None:
            raise DomainError.single(
                "REQUEST_NOT_FOUND", f"no such request: {request_id}", "request"
            )
        if not (principal.sees_everything or request.lead_department_id in principal.departments):
            raise DomainError.single(
                "FORBIDDEN", "only the lead department or PMO sets up channels", "request"
            )
        if department_id not in request.departments:
            raise DomainError.single(
                "DEPARTMENT_NOT_PARTICIPATING",
                f"{department_id} does not take part in {request.code}",
                "department",
            )
        department_name = await _department_name(uow, department_id)
        if department_name is None:
            raise DomainError.single(
                "DEPARTMENT_NOT_FOUND", f"no such department: {department_id}", "department"
            )
        channel = await repo.insert_channel(
            uow.conn,
            name=channel_name(request.title, phase, department_name),
            kind=kind,
            request_id=request_id,
            phase=phase,
            department_id=department_id,
            url=url,
            secret=secrets_box(runtime.settings).seal(secret) if secret else None,
            created_by=principal.sub,
        )
        if channel is None:
            raise DomainError.single(
                "CHANNEL_EXISTS", "this request already has a channel of this kind there", "kind"
            )
        data = ChannelRegistered(
            id=channel.id,
            name=channel.name,
            kind=channel.kind.value,
            request_id=channel.request_id,
            phase=channel.phase.value,
            department_id=channel.department_id,
            created_by=principal.sub,
        )
        await uow.emit("notify.channel.registered", channel.id, data)
    return channel


async def announce(
    uow: UnitOfWork, event: EventEnvelope, announcement: Announcement
) -> list[Delivery]:
    """One delivery per channel of the request's current phase for the departments concerned."""
    request = await get_request(uow.conn, announcement.request_id)
    if request is None:
        return []
    departments = list(dict.fromkeys(announcement.departments))
    created = []
    for channel in await repo.channels_for(uow.conn, request.id, request.phase, departments):
        payload = {
            "title": announcement.title,
            "body": announcement.body,
            "link": announcement.link,
            "urgency": announcement.urgency.value,
        }
        delivery = await delivery_service.create(
            uow, event.id, event.type, TargetKind.CHANNEL, channel.id, payload
        )
        if delivery is not None:
            created.append(delivery)
    return created
