"""Dated items one service lends another's calendar feeds (task due times, SLA deadlines).

The requests service builds the iCalendar feeds (services/requests/calendar); what lives in
the tasks and issues databases it reads over HTTP from each one's internal routes:

- ``GET /internal/calendar/people/{person_id}``: the items of one person;
- ``GET /internal/calendar/requests/{request_id}``: every item of one request.

Both answer ``{"items": [...]}`` (:meth:`CalendarItem.to_json`) and only to a caller that
carries the gateway's secret. The gateway does not route ``/internal``: only services of the
same deployment reach them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from shared.auth import GATEWAY_SECRET_HEADER, AuthError, check_gateway_secret
from shared.db import Connection
from shared.http_routes import runtime_of

UID_DOMAIN = "liaison"
PEOPLE_PATH = "/internal/calendar/people/{person_id}"
REQUESTS_PATH = "/internal/calendar/requests/{request_id}"


def item_uid(kind: str, item_id: str, moment: str) -> str:
    """A UID that stays the same for the life of the item, e.g. ``task-<id>-due@liaison``."""
    return f"{kind}-{item_id}-{moment}@{UID_DOMAIN}"


def sequence_of(updated_at: datetime) -> int:
    """SEQUENCE of a row without a version counter: its last change, in epoch seconds."""
    return int(updated_at.timestamp())


@dataclass(frozen=True)
class CalendarItem:
    """One deadline: an instant event (DTSTART only) in the feed."""

    uid: str
    sequence: int
    summary: str
    description: str
    due: datetime
    updated: datetime
    """The item's last change (the event's DTSTAMP, as RFC 5545 asks of a feed)."""
    url: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "uid": self.uid,
            "sequence": self.sequence,
            "summary": self.summary,
            "description": self.description,
            "due": self.due.isoformat(),
            "updated": self.updated.isoformat(),
            "url": self.url,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CalendarItem:
        return cls(
            uid=str(data["uid"]),
            sequence=int(data["sequence"]),
            summary=str(data["summary"]),
            description=str(data["description"]),
            due=datetime.fromisoformat(data["due"]),
            updated=datetime.fromisoformat(data["updated"]),
            url=data.get("url"),
        )


@dataclass(frozen=True)
class Scope:
    """Whose items: one person's, or one request's (exactly one of the two is set)."""

    person_id: str | None = None
    request_id: str | None = None


ItemReader = Callable[[Connection, Scope], Awaitable[list[CalendarItem]]]


def calendar_item_routes(read: ItemReader) -> list[Route]:
    """The two internal routes of a service whose items ``read`` finds."""

    async def endpoint(request: Request) -> Response:
        runtime = runtime_of(request)
        try:
            check_gateway_secret(request.headers.get(GATEWAY_SECRET_HEADER), runtime.settings)
        except AuthError as exc:
            return PlainTextResponse(str(exc), status_code=401)
        scope = Scope(
            person_id=request.path_params.get("person_id"),
            request_id=request.path_params.get("request_id"),
        )
        async with runtime.pool.acquire() as conn:
            items = await read(conn, scope)
        return JSONResponse({"items": [item.to_json() for item in items]})

    return [
        Route(PEOPLE_PATH, endpoint, methods=["GET"]),
        Route(REQUESTS_PATH, endpoint, methods=["GET"]),
    ]
