"""SQL of the notify service, in one place. Functions take a connection and return models."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.notify.models import Notification, NotificationDraft, Urgency
from shared.db import Connection
from shared.ids import new_id

_COLUMNS = """id, recipient_id, type, title, body, link, urgency, source_event_id,
    created_at, read_at"""


def _notification(row: Any) -> Notification:
    return Notification(**{**dict(row), "urgency": Urgency(row["urgency"])})


async def insert_notification(conn: Connection, draft: NotificationDraft) -> Notification | None:
    """Store ``draft``; None if this event already notified this person."""
    row = await conn.fetchrow(
        f"""
        INSERT INTO notifications
            (id, recipient_id, type, title, body, link, urgency, source_event_id)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        ON CONFLICT (source_event_id, recipient_id) DO NOTHING
        RETURNING {_COLUMNS}
        """,
        new_id(),
        draft.recipient_id,
        draft.type,
        draft.title,
        draft.body,
        draft.link,
        draft.urgency.value,
        draft.source_event_id,
    )
    return _notification(row) if row else None


async def notifications_by_ids(conn: Connection, ids: Sequence[str]) -> dict[str, Notification]:
    rows = await conn.fetch(f"SELECT {_COLUMNS} FROM notifications WHERE id = ANY($1)", list(ids))
    return {r["id"]: _notification(r) for r in rows}


async def notifications_of(
    conn: Connection, recipient_id: str, ids: Sequence[str]
) -> dict[str, Notification]:
    """Those of ``ids`` that belong to ``recipient_id``."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM notifications WHERE recipient_id = $1 AND id = ANY($2)",
        recipient_id,
        list(ids),
    )
    return {r["id"]: _notification(r) for r in rows}


async def list_notifications(
    conn: Connection, recipient_id: str, *, unread_only: bool, after_id: str | None, limit: int
) -> list[Notification]:
    """A person's inbox, newest first."""
    rows = await conn.fetch(
        f"""
        SELECT {_COLUMNS} FROM notifications
         WHERE recipient_id = $1
           AND (NOT $2 OR read_at IS NULL)
           AND ($3::text IS NULL OR id < $3)
         ORDER BY id DESC
         LIMIT $4
        """,
        recipient_id,
        unread_only,
        after_id,
        limit,
    )
    return [_notification(r) for r in rows]


async def count_notifications(conn: Connection, recipient_id: str, *, unread_only: bool) -> int:
    count: int = await conn.fetchval(
        "SELECT count(*) FROM notifications"
        " WHERE recipient_id = $1 AND (NOT $2 OR read_at IS NULL)",
        recipient_id,
        unread_only,
    )
    return count


async def mark_read(conn: Connection, recipient_id: str, ids: Sequence[str]) -> list[Notification]:
    """Mark ``ids`` read (keeping the first read time of those already read)."""
    rows = await conn.fetch(
        f"""
        UPDATE notifications SET read_at = coalesce(read_at, now())
         WHERE recipient_id = $1 AND id = ANY($2)
        RETURNING {_COLUMNS}
        """,
        recipient_id,
        list(ids),
    )
    return [_notification(r) for r in rows]


async def mark_all_read(conn: Connection, recipient_id: str) -> int:
    """Mark every unread notification of a person read; returns how many changed."""
    status: str = await conn.execute(
        "UPDATE notifications SET read_at = now() WHERE recipient_id = $1 AND read_at IS NULL",
        recipient_id,
    )
    return int(status.rsplit(" ", 1)[-1])  # "UPDATE <n>"
