"""What every routing rule builds on: the result type, drafts and directory look-ups."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from services.notify.channels.service import Announcement
from services.notify.models import MeetingInfo, NotificationDraft, Urgency
from shared.db import Connection
from shared.events.envelope import EventEnvelope
from shared.replicas import department_heads


@dataclass
class Routed:
    drafts: list[NotificationDraft] = field(default_factory=list)
    announcement: Announcement | None = None


Rule = Callable[[Connection, EventEnvelope], Awaitable[Routed]]


def draft(
    event: EventEnvelope,
    recipient: str,
    title: str,
    body: str,
    link: str | None,
    urgency: Urgency = Urgency.NORMAL,
    *,
    informed_only: bool = False,
    meeting: MeetingInfo | None = None,
) -> NotificationDraft:
    return NotificationDraft(
        recipient_id=recipient,
        type=event.type,
        title=title,
        body=body,
        source_event_id=event.id,
        link=link,
        urgency=urgency,
        informed_only=informed_only,
        meeting=meeting,
    )


async def heads(conn: Connection, departments: Iterable[str | None]) -> list[str]:
    """The heads of ``departments`` (once each, in order); unknown heads are skipped."""
    wanted = [d for d in dict.fromkeys(departments) if d]
    found = await department_heads(conn, wanted)
    return list(dict.fromkeys(found[d] for d in wanted if d in found))


def extra(event: EventEnvelope, name: str) -> Any:
    """An optional field a newer producer may send (event data keeps unknown fields)."""
    return event.data.get(name)


def recipients(event: EventEnvelope) -> list[str]:
    """The people the event names in ``recipient_ids`` (once each, in order)."""
    named = event.data.get("recipient_ids")
    if not isinstance(named, list):
        return []
    return list(dict.fromkeys(p for p in named if isinstance(p, str) and p))
