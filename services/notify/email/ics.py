"""iCalendar (RFC 5545) meeting invitations, ``METHOD:REQUEST``, built with ``icalendar``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from icalendar import Calendar, Event, vCalAddress, vText


def meeting_invite(
    *,
    uid: str,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    organizer: tuple[str, str] | None,
    attendees: Sequence[tuple[str, str]],
    description: str = "",
    location: str | None = None,
    join_url: str | None = None,
    sequence: int = 0,
) -> str:
    """The ``.ics`` text of an invitation; people are ``(name, email)`` pairs."""
    calendar = Calendar()
    calendar.add("prodid", "-//Liaison//notify//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "REQUEST")
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", datetime.now(UTC))
    event.add("dtstart", starts_at.astimezone(UTC))
    event.add("dtend", ends_at.astimezone(UTC))
    event.add("summary", title)
    event.add("sequence", sequence)
    if description:
        event.add("description", description)
    if location:
        event.add("location", location)
    if join_url:
        event.add("url", join_url)
    if organizer:
        address = vCalAddress(f"mailto:{organizer[1]}")
        address.params["cn"] = vText(organizer[0])
        event.add("organizer", address)
    for name, email in attendees:
        address = vCalAddress(f"mailto:{email}")
        address.params["cn"] = vText(name)
        address.params["role"] = vText("REQ-PARTICIPANT")
        address.params["partstat"] = vText("NEEDS-ACTION")
        address.params["rsvp"] = vText("TRUE")
        event.add("attendee", address, encode=False)
    calendar.add_component(event)
    text: str = calendar.to_ical().decode()
    return text
