"""Sending e-mail over SMTP with aiosmtplib: text and HTML alternatives, optional ``.ics``.

Connecting is apart from sending the message, so that a delivery can record that sending
began only once the server is ready for it (:mod:`services.notify.delivery.senders`).
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formataddr
from typing import Any

import aiosmtplib

from shared.settings import Settings


def build_message(payload: dict[str, Any], sender: str) -> EmailMessage:
    """The message a stored e-mail delivery payload describes."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = formataddr((payload.get("name") or "", payload["to"]))
    message["Subject"] = payload["subject"]
    # Stable per event and recipient: a mail client shows a resent copy as the same message.
    message["Message-ID"] = payload["message_id"]
    message.set_content(payload["text"])
    message.add_alternative(payload["html"], subtype="html")
    ics = payload.get("ics")
    if ics:
        message.add_attachment(
            ics, subtype="calendar", filename="invite.ics", params={"method": "REQUEST"}
        )
    return message


async def connect(settings: Settings) -> aiosmtplib.SMTP:
    """A session with the configured SMTP server, greeted, upgraded to TLS and logged in
    as configured, ready for a message; raises on refusal or network error."""
    if settings.smtp_host is None:
        raise aiosmtplib.SMTPException("LIAISON_SMTP_HOST is not set")
    client = aiosmtplib.SMTP(
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_username,
        password=settings.smtp_password,
        start_tls=settings.smtp_start_tls,
        timeout=settings.notify_webhook_timeout_seconds,
    )
    try:
        await client.connect()
    except BaseException:
        client.close()  # refused after the socket opened (STARTTLS, login): do not leak it
        raise
    return client
