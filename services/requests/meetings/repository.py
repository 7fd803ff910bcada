"""SQL of meetings, agenda items, attendees, minutes and action items."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from services.requests.meetings.models import (
    ActionItem,
    ActionItemDraft,
    AgendaItem,
    Attendee,
    Material,
    Meeting,
    MeetingKind,
    MeetingMode,
    MeetingStatus,
    Minutes,
    NewMeeting,
)
from shared.child_lists import ChildList, SortKey
from shared.db import Connection
from shared.ids import new_id

_COLUMNS = """id, request_id, kind, title, status, starts_at, ends_at, mode, join_url, location,
    organizer_id, minutes_due_at, agenda_sent_at, materials, sequence, created_at, updated_at"""


def _meeting(row: Any) -> Meeting:
    return Meeting(
        **{
            **dict(row),
            "kind": MeetingKind(row["kind"]),
            "status": MeetingStatus(row["status"]),
            "mode": MeetingMode(row["mode"]),
            "materials": tuple(Material(**m) for m in row["materials"]),
        }
    )


async def insert_meeting(
    conn: Connection, command: NewMeeting, *, organizer_id: str, minutes_due_at: datetime
) -> Meeting:
    meeting_id = new_id()
    row = await conn.fetchrow(
        f"""
        INSERT INTO meetings (id, request_id, kind, title, starts_at, ends_at, mode, join_url,
                              location, organizer_id, minutes_due_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
        RETURNING {_COLUMNS}
        """,
        meeting_id,
        command.request_id,
        command.kind.value,
        command.title,
        command.starts_at,
        command.ends_at,
        command.mode.value,
        command.join_url,
        command.location,
        organizer_id,
        minutes_due_at,
    )
    await conn.executemany(
        "INSERT INTO meeting_agenda_items (meeting_id, position, title, presenter_id, minutes)"
        " VALUES ($1, $2, $3, $4, $5)",
        [(meeting_id, i, a.title, a.presenter_id, a.minutes) for i, a in enumerate(command.agenda)],
    )
    await conn.executemany(
        "INSERT INTO meeting_attendees (meeting_id, person_id, required) VALUES ($1, $2, $3)",
        [(meeting_id, a.person_id, a.required) for a in command.attendees],
    )
    return _meeting(row)


async def lock_meeting(conn: Connection, meeting_id: str) -> Meeting | None:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM meetings WHERE id = $1 FOR UPDATE", meeting_id
    )
    return _meeting(row) if row else None


async def reschedule(
    conn: Connection, meeting_id: str, starts_at: datetime, ends_at: datetime, due: datetime
) -> Meeting:
    row = await conn.fetchrow(
        f"""
        UPDATE meetings SET starts_at = $2, ends_at = $3, minutes_due_at = $4,
               sequence = sequence + 1, updated_at = now()
         WHERE id = $1 RETURNING {_COLUMNS}
        """,
        meeting_id,
        starts_at,
        ends_at,
        due,
    )
    return _meeting(row)


async def cancel(conn: Connection, meeting_id: str) -> Meeting:
    row = await conn.fetchrow(
        f"""
        UPDATE meetings SET status = 'CANCELLED', sequence = sequence + 1, updated_at = now()
         WHERE id = $1 RETURNING {_COLUMNS}
        """,
        meeting_id,
    )
    return _meeting(row)


async def mark_agenda_sent(
    conn: Connection, meeting_id: str, sent_by: str, materials: Sequence[Material]
) -> Meeting:
    row = await conn.fetchrow(
        f"""
        UPDATE meetings SET agenda_sent_at = now(), agenda_sent_by = $2, materials = $3,
               updated_at = now()
         WHERE id = $1 RETURNING {_COLUMNS}
        """,
        meeting_id,
        sent_by,
        [{"title": m.title, "url": m.url} for m in materials],
    )
    return _meeting(row)


async def meetings_by_ids(conn: Connection, ids: Sequence[str]) -> dict[str, Meeting]:
    rows = await conn.fetch(f"SELECT {_COLUMNS} FROM meetings WHERE id = ANY($1)", list(ids))
    return {r["id"]: _meeting(r) for r in rows}


MEETINGS_OF_REQUESTS = ChildList(
    source="meetings",
    parent="request_id",
    columns=_COLUMNS,
    order=(SortKey("starts_at", sql_type="timestamptz"), SortKey("id")),
    to_model=_meeting,
)
"""``CollabRequest.meetings``: each request's meetings by start time."""


async def agenda_by_meeting_ids(
    conn: Connection, ids: Sequence[str]
) -> dict[str, list[AgendaItem]]:
    rows = await conn.fetch(
        "SELECT meeting_id, title, presenter_id, minutes FROM meeting_agenda_items"
        " WHERE meeting_id = ANY($1) ORDER BY meeting_id, position",
        list(ids),
    )
    result: dict[str, list[AgendaItem]] = {}
    for row in rows:
        item = AgendaItem(row["title"], row["presenter_id"], row["minutes"])
        result.setdefault(row["meeting_id"], []).append(item)
    return result


async def attendees_by_meeting_ids(
    conn: Connection, ids: Sequence[str]
) -> dict[str, list[Attendee]]:
    rows = await conn.fetch(
        "SELECT meeting_id, person_id, required FROM meeting_attendees"
        " WHERE meeting_id = ANY($1) ORDER BY meeting_id, required DESC, person_id",
        list(ids),
    )
    result: dict[str, list[Attendee]] = {}
    for row in rows:
        result.setdefault(row["meeting_id"], []).append(Attendee(row["person_id"], row["required"]))
    return result


ATTENDEES = ChildList(
    source="meeting_attendees",
    parent="meeting_id",
    columns="meeting_id, person_id, required",
    order=(SortKey("required", sql_type="boolean", descending=True), SortKey("person_id")),
    to_model=lambda row: Attendee(row["person_id"], row["required"]),
)
"""``Meeting.attendees``: required first, then by person id."""


async def insert_minutes(
    conn: Connection,
    meeting: Meeting,
    *,
    summary: str,
    decisions: Sequence[str],
    published_by: str,
    items: Sequence[ActionItemDraft],
) -> tuple[Minutes, list[ActionItem]]:
    row = await conn.fetchrow(
        """
        INSERT INTO meeting_minutes (meeting_id, summary, decisions, published_by, late)
        VALUES ($1, $2, $3, $4, now() > $5)
        RETURNING meeting_id, summary, decisions, published_at, published_by, late
        """,
        meeting.id,
        summary,
        list(decisions),
        published_by,
        meeting.minutes_due_at,
    )
    actions = [
        ActionItem(
            new_id(), meeting.id, meeting.request_id, d.title, d.owner_id, d.department_id, d.due_at
        )
        for d in items
    ]
    await conn.executemany(
        "INSERT INTO action_items (id, meeting_id, request_id, position, title, owner_id,"
        " department_id, due_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        [
            (a.id, a.meeting_id, a.request_id, i, a.title, a.owner_id, a.department_id, a.due_at)
            for i, a in enumerate(actions)
        ],
    )
    return _minutes(row), actions


def _minutes(row: Any) -> Minutes:
    return Minutes(**{**dict(row), "decisions": tuple(row["decisions"])})


async def minutes_by_meeting_ids(conn: Connection, ids: Sequence[str]) -> dict[str, Minutes]:
    rows = await conn.fetch(
        "SELECT meeting_id, summary, decisions, published_at, published_by, late"
        " FROM meeting_minutes WHERE meeting_id = ANY($1)",
        list(ids),
    )
    return {r["meeting_id"]: _minutes(r) for r in rows}


async def action_items_by_meeting_ids(
    conn: Connection, ids: Sequence[str]
) -> dict[str, list[ActionItem]]:
    rows = await conn.fetch(
        "SELECT id, meeting_id, request_id, title, owner_id, department_id, due_at"
        " FROM action_items WHERE meeting_id = ANY($1) ORDER BY meeting_id, position",
        list(ids),
    )
    result: dict[str, list[ActionItem]] = {}
    for row in rows:
        result.setdefault(row["meeting_id"], []).append(ActionItem(**dict(row)))
    return result
