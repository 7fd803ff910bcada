"""Telling one person: inbox, daily digest for the only-Informed, e-mail by preference.

* A draft for someone only Informed goes to their next daily digest unless it is urgent or
  they turned digests off.
* Everything else lands in the inbox (the record of what a person was told) and, if their
  channels for that urgency include EMAIL, as an e-mail.
* Quiet hours hold back non-urgent e-mail until they end, in the person's own time zone;
  urgent messages go through.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.notify import repository as repo
from services.notify import service
from services.notify.delivery import service as delivery_service
from services.notify.email.ics import meeting_invite
from services.notify.email.render import EmailContent, MeetingDetails, render
from services.notify.models import (
    MeetingInfo,
    NotificationDraft,
    PersonalChannel,
    Preferences,
    QuietHours,
    TargetKind,
    Urgency,
)
from shared.settings import Settings
from shared.unit_of_work import UnitOfWork

DIGEST_TIMER = "notify.digest"


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def quiet_until(now: datetime, quiet: QuietHours | None, tz: ZoneInfo) -> datetime | None:
    """When the quiet hours that contain ``now`` end, or None if ``now`` is not quiet."""
    if quiet is None:
        return None
    local = now.astimezone(tz)
    if not quiet.contains(local.time().replace(tzinfo=None)):
        return None
    end = datetime.combine(local.date(), quiet.end, tzinfo=tz)
    if end <= local:
        end = datetime.combine(local.date() + timedelta(days=1), quiet.end, tzinfo=tz)
    return end


def next_digest_at(now: datetime, tz: ZoneInfo, hour: int) -> datetime:
    """The next ``hour`` o'clock in ``tz`` after ``now``."""
    local = now.astimezone(tz)
    due = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if due <= local:
        due = (local + timedelta(days=1)).replace(hour=hour, minute=0, second=0, microsecond=0)
    return due


def link_url(settings: Settings, link: str | None) -> str | None:
    if link is None or "://" in link:
        return link
    return settings.notify_web_base_url.rstrip("/") + link


def email_payload(
    settings: Settings,
    *,
    to: str,
    name: str,
    language: str,
    content: EmailContent,
    message_id: str,
    ics: str | None = None,
) -> dict[str, Any]:
    """What an e-mail delivery stores: rendered once, so every retry sends the same mail."""
    rendered = render(content, language)
    return {
        "to": to,
        "name": name,
        "subject": rendered.subject,
        "text": rendered.text,
        "html": rendered.html,
        "ics": ics,
        "message_id": message_id,
    }


async def tell(uow: UnitOfWork, draft: NotificationDraft) -> None:
    """Route one draft to the person by their preferences (idempotent per event)."""
    prefs, contact = await repo.recipient(uow.conn, draft.recipient_id)
    tz = zone(prefs.time_zone or (contact[2] if contact else None))
    if draft.informed_only and draft.urgency is Urgency.NORMAL and prefs.digest_for_informed:
        if await repo.insert_digest_item(uow.conn, draft):
            await _arm_digest(uow, draft.recipient_id, tz)
        return
    notification = await service.deliver(uow, draft)
    if notification is None:
        return  # this event already told this person
    wants_email = PersonalChannel.EMAIL in prefs.channels_for(draft.urgency)
    if contact is None or uow.runtime.settings.smtp_host is None:
        return
    if not (wants_email or draft.meeting):
        return
    name, address, _ = contact
    settings = uow.runtime.settings
    ics = await _invite(uow, draft.meeting) if draft.meeting else None
    content = EmailContent(
        name=name,
        title=draft.title,
        body=draft.body,
        link=link_url(settings, draft.link),
        urgent=draft.urgency is Urgency.URGENT,
        meeting=_details(draft.meeting, tz) if draft.meeting else None,
    )
    payload = email_payload(
        settings,
        to=address,
        name=name,
        language=prefs.language,
        content=content,
        message_id=f"<{draft.source_event_id}.{draft.recipient_id}@liaison>",
        ics=ics,
    )
    await delivery_service.create(
        uow,
        draft.source_event_id,
        draft.type,
        TargetKind.EMAIL,
        draft.recipient_id,
        payload,
        at=send_at(prefs, draft.urgency, tz),
    )


def send_at(prefs: Preferences, urgency: Urgency, tz: ZoneInfo) -> datetime:
    """When an e-mail of ``urgency`` may go out: now, or when the quiet hours end."""
    now = delivery_service.now()
    if urgency is Urgency.URGENT:
        return now  # urgent messages go through quiet hours
    return quiet_until(now, prefs.quiet_hours, tz) or now


def _details(meeting: MeetingInfo, tz: ZoneInfo) -> MeetingDetails:
    return MeetingDetails(
        starts_at=meeting.starts_at,
        ends_at=meeting.ends_at,
        time_zone=tz.key,
        location=meeting.location,
        join_url=meeting.join_url,
    )


async def _invite(uow: UnitOfWork, meeting: MeetingInfo) -> str:
    people = [*meeting.attendee_ids, *([meeting.organizer_id] if meeting.organizer_id else [])]
    contacts = await repo.person_contacts(uow.conn, people)
    organizer = contacts.get(meeting.organizer_id or "")
    return meeting_invite(
        uid=f"{meeting.id}@liaison",
        title=meeting.title,
        starts_at=meeting.starts_at,
        ends_at=meeting.ends_at,
        organizer=(organizer[0], organizer[1]) if organizer else None,
        attendees=[(contacts[p][0], contacts[p][1]) for p in meeting.attendee_ids if p in contacts],
        description=meeting.description,
        location=meeting.location,
        join_url=meeting.join_url,
        sequence=meeting.sequence,
    )


async def _arm_digest(uow: UnitOfWork, person_id: str, tz: ZoneInfo) -> None:
    if await repo.timer_pending(uow.conn, DIGEST_TIMER, person_id):
        return
    hour = uow.runtime.settings.notify_digest_hour
    await uow.arm_timer(DIGEST_TIMER, person_id, next_digest_at(delivery_service.now(), tz, hour))
