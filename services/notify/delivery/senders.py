"""Sending one attempt of a delivery: partner webhooks, chat robots and e-mail.

:func:`prepare` runs inside the claiming transaction and reads what the target needs
(endpoint secrets, decrypted only here, and channel URL); :func:`send` then talks to the
outside world with no transaction open and reports an :class:`Outcome`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import orjson

from services.notify.channels import repository as channels
from services.notify.channels.formats import ChatMessage, build_request, response_error
from services.notify.email import smtp
from services.notify.email.render import EmailContent
from services.notify.models import ChannelKind, Delivery, TargetKind, Urgency, WebhookEndpoint
from services.notify.people import email_payload, link_url
from services.notify.webhooks import repository as endpoints
from services.notify.webhooks.signing import webhook_headers
from services.notify.webhooks.urls import Address, UrlRefused, check_url, pinned
from shared.db import Connection
from shared.secrets_box import SecretsBox, secrets_box
from shared.settings import Settings

_MAX_ERROR_CHARS = 500


class Blocked(Exception):
    """The target cannot take deliveries (disabled or gone); no attempt is made."""


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None = None
    error: str | None = None


@dataclass(frozen=True)
class HttpSend:
    url: str
    headers: dict[str, str]
    body: bytes
    kind: ChannelKind | None  # None: a partner webhook


@dataclass(frozen=True)
class EmailSend:
    payload: dict[str, Any]


Prepared = HttpSend | EmailSend

Start = Callable[[], Awaitable[None]]
"""Records that sending begins; raises (and then nothing is sent) if it may not."""


def _active_secrets(box: SecretsBox, endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """The plain secrets that sign now; an expired previous secret is not even decrypted
    (its key may be gone after a key rotation)."""
    secrets = [box.open(endpoint.secret)]
    previous, expires = endpoint.previous_secret, endpoint.previous_secret_expires_at
    if previous and expires and expires > now:
        secrets.append(box.open(previous))
    return secrets


async def prepare(
    conn: Connection, settings: Settings, delivery: Delivery, now: datetime
) -> Prepared:
    box = secrets_box(settings)
    if delivery.target_kind is TargetKind.WEBHOOK:
        endpoint = await endpoints.get_endpoint(conn, delivery.target_id)
        if endpoint is None or not endpoint.enabled:
            raise Blocked("endpoint disabled")
        body = orjson.dumps(delivery.payload)
        secrets = _active_secrets(box, endpoint, now)
        # webhook-id is the event id: the same for every retry, replay and endpoint.
        headers = webhook_headers(secrets, delivery.event_id, int(now.timestamp()), body)
        return HttpSend(endpoint.url, headers, body, None)
    if delivery.target_kind is TargetKind.CHANNEL:
        found = (await channels.channels_by_ids(conn, [delivery.target_id])).get(delivery.target_id)
        if found is None:
            raise Blocked("channel removed")
        payload = delivery.payload
        message = ChatMessage(
            channel_name=found.name,
            title=payload["title"],
            body=payload["body"],
            link=link_url(settings, payload.get("link")),
            urgency=Urgency(payload["urgency"]),
            event_id=delivery.event_id,
            event_type=delivery.event_type,
        )
        if found.kind is ChannelKind.EMAIL:
            content = EmailContent(
                name=found.name,
                title=message.title,
                body=message.body,
                link=message.link,
                urgent=message.urgency is Urgency.URGENT,
            )
            return EmailSend(
                email_payload(
                    settings,
                    to=found.url.removeprefix("mailto:"),
                    name=found.name,
                    language="zh",
                    content=content,
                    message_id=f"<{delivery.event_id}.{found.id}@liaison>",
                )
            )
        request = build_request(
            found.kind,
            found.url,
            box.open_optional(found.secret),
            message,
            int(now.timestamp() * 1000),
        )
        return HttpSend(request.url, request.headers, request.body, found.kind)
    return EmailSend(delivery.payload)


def _short(text: str) -> str:
    return text if len(text) <= _MAX_ERROR_CHARS else text[: _MAX_ERROR_CHARS - 1] + "…"


async def send(settings: Settings, prepared: Prepared, start: Start) -> Outcome:
    """One attempt; never raises for the target's failures, only reports them. ``start``'s
    exceptions propagate: the message was not sent. A failure before the wire returns
    without ``start`` having been awaited."""
    if isinstance(prepared, EmailSend):
        return await _send_email(settings, prepared, start)
    try:
        address = await check_url(prepared.url, allow_private=settings.notify_allow_private_urls)
    except UrlRefused as exc:
        return Outcome(False, None, str(exc))
    await start()
    return await post(settings, prepared, address)


def _failure(exc: Exception) -> Outcome:
    return Outcome(False, None, _short(f"{type(exc).__name__}: {exc}"))


async def _send_email(settings: Settings, prepared: EmailSend, start: Start) -> Outcome:
    try:
        message = smtp.build_message(prepared.payload, settings.smtp_sender)
        client = await smtp.connect(settings)
    except Exception as exc:  # any SMTP or network failure is this attempt's outcome
        return _failure(exc)
    try:
        await start()  # outside the except below: a refusal to start is not the server's
        try:
            await client.send_message(message)
        except Exception as exc:
            return _failure(exc)
        return Outcome(True)
    finally:
        with contextlib.suppress(Exception):  # the message is handed over (or not) already
            await client.quit()


async def post(settings: Settings, prepared: HttpSend, address: Address | None) -> Outcome:
    """POST to the target, connecting to ``address`` (the one checked) if given."""
    timeout = settings.notify_webhook_timeout_seconds
    url, headers = prepared.url, prepared.headers
    extensions: dict[str, str] = {}
    if address is not None:
        url, host, extensions = pinned(prepared.url, address)
        headers = {**prepared.headers, **host}
    try:
        # httpx's timeout bounds each read; the deadline bounds the whole exchange, so a
        # target trickling its answer cannot hold the attempt past the timeout.
        async with (
            asyncio.timeout(timeout),
            httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client,
        ):
            response = await client.post(
                url, content=prepared.body, headers=headers, extensions=extensions
            )
    except (TimeoutError, httpx.TimeoutException):
        return Outcome(False, None, f"no answer within {timeout:g} s")
    except httpx.HTTPError as exc:
        return _failure(exc)
    if prepared.kind is None:
        ok = 200 <= response.status_code < 300
        error = None if ok else _short(f"HTTP {response.status_code}: {response.text}")
        return Outcome(ok, response.status_code, error)
    problem = response_error(prepared.kind, response.status_code, response.content)
    return Outcome(problem is None, response.status_code, problem and _short(problem))
