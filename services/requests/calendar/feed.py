"""The feeds themselves (RFC 5545) and their HTTP routes.

``GET /calendar/{token}.ics`` is a person's feed; ``GET /calendar/{token}/requests/{id}.ics``
a request's, for a person who may see the request. The token is the only credential (a
calendar client sends no bearer token), so an unknown token, a person who left and a request
the person may not see all answer the same 404. Every event keeps its UID and raises its
SEQUENCE on each change, so subscribed calendars update entries instead of adding copies.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from services.requests.calendar import sources, tokens
from services.requests.directory import repository as directory
from services.requests.meetings.invite import meeting_events
from services.requests.models import Person
from services.requests.repository import is_visible, requests_by_ids
from shared.auth import AuthError, Identity
from shared.calendar_items import CalendarItem, Scope
from shared.db import Connection
from shared.http_routes import runtime_of
from shared.runtime import ServiceRuntime

log = logging.getLogger(__name__)

PRODID = "-//Liaison//Calendar feed//EN"
RETRY_AFTER_SECONDS = 300
"""What a 503 asks clients to wait; they keep their last copy of the feed meanwhile."""


def _deadline_event(item: CalendarItem, zone: ZoneInfo) -> Event:
    """An instant (DTSTART, no DTEND: RFC 5545 makes it end where it starts)."""
    event = Event()
    event.add("uid", item.uid)
    event.add("dtstamp", item.updated.astimezone(UTC))
    event.add("dtstart", item.due.astimezone(zone))
    event.add("sequence", item.sequence)
    event.add("summary", item.summary)
    event.add("description", item.description)
    if item.url:
        event.add("url", item.url)
    return event


def _secondment_event(end: sources.SecondmentEnd) -> Event:
    """An all-day event on the last day (a DATE has no time zone)."""
    event = Event()
    event.add("uid", end.uid)
    event.add("dtstamp", end.updated.astimezone(UTC))
    event.add("dtstart", end.ends_on)
    event.add("dtend", end.ends_on + timedelta(days=1))
    event.add("sequence", end.sequence)
    event.add("summary", end.summary)
    event.add("transp", "TRANSPARENT")
    return event


@dataclass(frozen=True)
class FeedSpec:
    """Which feed, named how, in whose time zone."""

    scope: Scope
    name: str
    zone: ZoneInfo
    filename: str


async def build_feed(conn: Connection, spec: FeedSpec, remote: list[CalendarItem]) -> bytes:
    """The whole feed: local meetings and secondment ends, and the ``remote`` deadlines."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", spec.name)
    calendar.add("x-wr-timezone", spec.zone.key)
    meetings = await sources.meetings_of(conn, spec.scope)
    for event in await meeting_events(conn, meetings, spec.zone):
        calendar.add_component(event)
    for end in await sources.secondment_ends(conn, spec.scope):
        calendar.add_component(_secondment_event(end))
    for item in remote:
        calendar.add_component(_deadline_event(item, spec.zone))
    calendar.add_missing_timezones()  # a VTIMEZONE for the person's zone, from tzdata
    body: bytes = calendar.to_ical()
    return body


async def _serve(runtime: ServiceRuntime, spec: FeedSpec) -> Response:
    # The other services first, holding no database connection while they answer.
    try:
        remote = await sources.remote_items(runtime.settings, spec.scope)
    except sources.SourceUnavailable as exc:
        return _unavailable(exc)
    async with runtime.pool.acquire() as conn:
        body = await build_feed(conn, spec, remote)
    return _ics(body, spec.filename)


async def _owner(conn: Connection, token: str) -> Person | None:
    """The person whose token this is, while they are with the company."""
    person_id = await tokens.person_of(conn, token)
    if person_id is None:
        return None
    person = (await directory.people_by_ids(conn, [person_id])).get(person_id)
    return person if person is not None and person.active else None


async def _may_see(
    runtime: ServiceRuntime, conn: Connection, person: Person, request_id: str
) -> bool:
    """Whether the person sees the request, by the directory's rule for ``request(id:)``."""
    try:
        principal = await runtime.directory.principal(Identity(person.id, datetime.now(UTC)))
    except AuthError:
        return False  # left the company, or no longer in the directory
    return await is_visible(
        conn, request_id, sees_all=principal.sees_everything, departments=principal.departments
    )


def _ics(body: bytes, filename: str) -> Response:
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={
            "content-disposition": f'inline; filename="{filename}"',
            "cache-control": "private, no-cache",
        },
    )


def _not_found() -> Response:
    return PlainTextResponse("no such calendar feed", status_code=404)


def _unavailable(exc: sources.SourceUnavailable) -> Response:
    log.warning("calendar feed not served: %s", exc)
    return PlainTextResponse(
        "calendar feed temporarily unavailable",
        status_code=503,
        headers={"retry-after": str(RETRY_AFTER_SECONDS)},
    )


async def personal_feed(request: Request) -> Response:
    runtime = runtime_of(request)
    async with runtime.pool.acquire() as conn:
        person = await _owner(conn, request.path_params["token"])
    if person is None:
        return _not_found()
    spec = FeedSpec(
        Scope(person_id=person.id),
        f"Liaison: {person.name}",
        ZoneInfo(person.time_zone),
        "liaison.ics",
    )
    return await _serve(runtime, spec)


async def request_feed(request: Request) -> Response:
    runtime = runtime_of(request)
    request_id = request.path_params["request_id"]
    async with runtime.pool.acquire() as conn:
        person = await _owner(conn, request.path_params["token"])
        visible = person is not None and await _may_see(runtime, conn, person, request_id)
        collab = (await requests_by_ids(conn, [request_id])).get(request_id) if visible else None
    if person is None or collab is None:
        return _not_found()
    spec = FeedSpec(
        Scope(request_id=request_id),
        f"Liaison: {collab.code} {collab.title}",
        ZoneInfo(person.time_zone),
        f"{collab.code}.ics",
    )
    return await _serve(runtime, spec)


ROUTES = [
    Route(tokens.FEED_PATH, personal_feed, methods=["GET"]),
    Route(tokens.REQUEST_FEED_PATH, request_feed, methods=["GET"]),
]
