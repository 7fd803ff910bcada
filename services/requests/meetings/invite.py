"""iCalendar (RFC 5545) invites for meetings, and the HTTP route that serves them.

``GET /meetings/{id}/invite.ics`` is authenticated like ``/graphql`` (gateway secret and
bearer token) and answers 404 to anyone who may not see the meeting. The same text is the
``Meeting.icalendar`` field, so front ends can also fetch it through the gateway.
"""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vCalAddress, vText
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from services.requests.directory import repository as directory
from services.requests.meetings import repository as repo
from services.requests.meetings.models import AgendaItem, Attendee, Meeting, MeetingStatus
from services.requests.models import CollabRequest, Person
from services.requests.repository import is_visible, requests_by_ids
from shared.auth import Principal
from shared.db import Connection
from shared.http_routes import caller, runtime_of

PRODID = "-//Liaison//Collaboration meetings//EN"
UID_DOMAIN = "liaison"


def _address(person: Person, role: str | None = None) -> vCalAddress:
    address = vCalAddress(f"mailto:{person.email}")
    address.params["CN"] = vText(person.name)
    if role:
        address.params["ROLE"] = vText(role)
        address.params["PARTSTAT"] = vText("NEEDS-ACTION")
        address.params["RSVP"] = vText("TRUE")
    return address


def _description(
    request: CollabRequest, agenda: Sequence[AgendaItem], people: dict[str, Person]
) -> str:
    lines = [f"{request.code} {request.title}", "", "Agenda:"]
    for number, item in enumerate(agenda, start=1):
        presenter = people.get(item.presenter_id or "")
        by = f" ({presenter.name})" if presenter else ""
        lines.append(f"{number}. {item.title}{by} - {item.minutes} min")
    return "\n".join(lines)


def meeting_event(
    meeting: Meeting,
    request: CollabRequest,
    agenda: Sequence[AgendaItem],
    attendees: Sequence[Attendee],
    people: dict[str, Person],
    zone: ZoneInfo | None = None,
) -> Event:
    """The meeting's VEVENT (UID and SEQUENCE stable across invites and calendar feeds);
    with ``zone``, its times are local to that zone (the caller adds the VTIMEZONE)."""
    cancelled = meeting.status is MeetingStatus.CANCELLED
    event = Event()
    event.add("uid", f"{meeting.id}@{UID_DOMAIN}")
    # DTSTAMP is the last change, so the same meeting state always gives the same bytes.
    event.add("dtstamp", meeting.updated_at)
    event.add("dtstart", meeting.starts_at.astimezone(zone) if zone else meeting.starts_at)
    event.add("dtend", meeting.ends_at.astimezone(zone) if zone else meeting.ends_at)
    event.add("sequence", meeting.sequence)
    event.add("summary", meeting.title)
    event.add("description", _description(request, agenda, people))
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    if meeting.location:
        event.add("location", meeting.location)
    if meeting.join_url:
        event.add("url", meeting.join_url)
    if meeting.organizer_id in people:
        event.add("organizer", _address(people[meeting.organizer_id]))
    for attendee in attendees:
        if attendee.person_id in people:
            role = "REQ-PARTICIPANT" if attendee.required else "OPT-PARTICIPANT"
            event.add("attendee", _address(people[attendee.person_id], role))
    return event


def build_invite(
    meeting: Meeting,
    request: CollabRequest,
    agenda: Sequence[AgendaItem],
    attendees: Sequence[Attendee],
    people: dict[str, Person],
) -> bytes:
    """One VEVENT; a cancelled meeting is sent with METHOD:CANCEL so clients remove it."""
    event = meeting_event(meeting, request, agenda, attendees, people)
    return _invite_calendar(event, meeting.status is MeetingStatus.CANCELLED)


def _invite_calendar(event: Event, cancelled: bool) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "REQUEST")
    calendar.add_component(event)
    result: bytes = calendar.to_ical()
    return result


async def may_see_meeting(conn: Connection, principal: Principal, meeting: Meeting) -> bool:
    """Those who see the request, and every invitee."""
    if await is_visible(
        conn,
        meeting.request_id,
        sees_all=principal.sees_everything,
        departments=principal.departments,
    ):
        return True
    attendees = (await repo.attendees_by_meeting_ids(conn, [meeting.id])).get(meeting.id, [])
    return any(a.person_id == principal.sub for a in attendees)


async def meeting_events(
    conn: Connection, meetings: Sequence[Meeting], zone: ZoneInfo | None = None
) -> list[Event]:
    """The VEVENTs of ``meetings``, their agenda, attendees and people read in one go each."""
    ids = [m.id for m in meetings]
    agendas = await repo.agenda_by_meeting_ids(conn, ids)
    attendee_lists = await repo.attendees_by_meeting_ids(conn, ids)
    wanted = {a.person_id for group in attendee_lists.values() for a in group}
    wanted |= {m.organizer_id for m in meetings}
    wanted |= {i.presenter_id for group in agendas.values() for i in group if i.presenter_id}
    people = await directory.people_by_ids(conn, list(wanted))
    requests = await requests_by_ids(conn, list({m.request_id for m in meetings}))
    return [
        meeting_event(
            m,
            requests[m.request_id],
            agendas.get(m.id, []),
            attendee_lists.get(m.id, []),
            people,
            zone,
        )
        for m in meetings
    ]


async def invite_for(conn: Connection, meeting: Meeting) -> bytes:
    """The invite of one meeting (the route and ``Meeting.icalendar``)."""
    (event,) = await meeting_events(conn, [meeting])
    return _invite_calendar(event, meeting.status is MeetingStatus.CANCELLED)


async def invite_endpoint(request: Request) -> Response:
    principal = await caller(request)
    runtime = runtime_of(request)
    meeting_id = request.path_params["meeting_id"]
    async with runtime.pool.acquire() as conn:
        meeting = (await repo.meetings_by_ids(conn, [meeting_id])).get(meeting_id)
        if meeting is None or not await may_see_meeting(conn, principal, meeting):
            return PlainTextResponse("no such meeting", status_code=404)
        body = await invite_for(conn, meeting)
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="meeting-{meeting_id}.ics"'},
    )


ROUTES = [Route("/meetings/{meeting_id}/invite.ics", invite_endpoint, methods=["GET"])]
