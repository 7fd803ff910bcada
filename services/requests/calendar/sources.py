"""What a feed shows, read from where it lives: meetings and secondments here, task due
times and SLA deadlines from the tasks and issues services (shared/calendar_items.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import httpx

from services.requests.meetings import repository as meetings
from services.requests.meetings.models import Meeting
from shared.auth import GATEWAY_SECRET_HEADER
from shared.calendar_items import (
    PEOPLE_PATH,
    REQUESTS_PATH,
    CalendarItem,
    Scope,
    item_uid,
    sequence_of,
)
from shared.db import Connection
from shared.settings import Settings

REMOTE_TIMEOUT_SECONDS = 5.0
MEETINGS_PAST_DAYS = 90
"""Meetings that ended longer ago than this are left out: a feed stays small for years."""

_MEETINGS = f"""
SELECT m.id FROM meetings m
WHERE m.ends_at > now() - interval '{MEETINGS_PAST_DAYS} days' AND {{scope}}
ORDER BY m.starts_at, m.id
"""
_OF_PERSON = """(m.organizer_id = $1 OR EXISTS (
    SELECT 1 FROM meeting_attendees a WHERE a.meeting_id = m.id AND a.person_id = $1))"""
_SECONDMENT_ENDS = """
SELECT s.id, s.ends_on, s.updated_at, p.name AS person, d.name AS department
FROM secondments s
JOIN people p ON p.id = s.person_id
JOIN departments d ON d.id = s.to_department_id
WHERE s.status = 'APPROVED' AND s.{column} = $1
ORDER BY s.ends_on, s.id
"""


class SourceUnavailable(Exception):
    """The tasks or issues service did not answer: a feed without its items would make
    calendar clients delete those events, so the feed is not served at all."""


@dataclass(frozen=True)
class SecondmentEnd:
    """The last day of an approved secondment (an all-day event)."""

    uid: str
    sequence: int
    summary: str
    ends_on: date
    updated: datetime


async def meetings_of(conn: Connection, scope: Scope) -> list[Meeting]:
    """Recent and coming meetings the person organizes or attends, or of the request."""
    if scope.person_id is not None:
        ids = await conn.fetch(_MEETINGS.format(scope=_OF_PERSON), scope.person_id)
    else:
        ids = await conn.fetch(_MEETINGS.format(scope="m.request_id = $1"), scope.request_id)
    found = await meetings.meetings_by_ids(conn, [row["id"] for row in ids])
    return [found[row["id"]] for row in ids]


async def secondment_ends(conn: Connection, scope: Scope) -> list[SecondmentEnd]:
    """Approved secondments of the person (or of the request) by their last day."""
    column, key = (
        ("person_id", scope.person_id) if scope.person_id else ("request_id", scope.request_id)
    )
    rows = await conn.fetch(_SECONDMENT_ENDS.format(column=column), key)
    return [
        SecondmentEnd(
            uid=item_uid("secondment", row["id"], "end"),
            sequence=sequence_of(row["updated_at"]),
            summary=f"Secondment ends: {row['person']} ({row['department']})",
            ends_on=row["ends_on"],
            updated=row["updated_at"],
        )
        for row in rows
    ]


def _base_url(subgraph_url: str) -> str:
    """A subgraph's origin from its GraphQL URL (``LIAISON_TASKS_URL`` names ``/graphql``)."""
    return subgraph_url.rstrip("/").removesuffix("/graphql")


def _path(scope: Scope) -> str:
    if scope.person_id is not None:
        return PEOPLE_PATH.format(person_id=scope.person_id)
    return REQUESTS_PATH.format(request_id=scope.request_id)


async def _items_from(client: httpx.AsyncClient, base_url: str, scope: Scope) -> list[CalendarItem]:
    try:
        response = await client.get(base_url + _path(scope))
        response.raise_for_status()
        return [CalendarItem.from_json(item) for item in response.json()["items"]]
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        raise SourceUnavailable(f"{base_url} gave no calendar items: {exc}") from exc


async def remote_items(settings: Settings, scope: Scope) -> list[CalendarItem]:
    """Task due times and SLA deadlines, from both services at once; SourceUnavailable if
    either fails."""
    headers = {GATEWAY_SECRET_HEADER: settings.gateway_secret}
    async with httpx.AsyncClient(headers=headers, timeout=REMOTE_TIMEOUT_SECONDS) as client:
        parts: Sequence[list[CalendarItem]] = await asyncio.gather(
            _items_from(client, _base_url(settings.tasks_url), scope),
            _items_from(client, _base_url(settings.issues_url), scope),
        )
    return [item for part in parts for item in part]
