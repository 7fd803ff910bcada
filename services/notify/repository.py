"""SQL of the notify service, in one place. Functions take a connection and return models."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from services.notify.models import (
    Notification,
    NotificationDraft,
    PersonalChannel,
    Preferences,
    QuietHours,
    Urgency,
)
from shared.auth import Principal
from shared.db import Connection
from shared.graphql.compiled.sql import Entity, Source
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


_INBOX = "recipient_id = $1 AND (NOT $2 OR read_at IS NULL)"
"""A person's notifications ($1), only the unread ones if $2."""


def inbox_source(principal: Principal, arguments: Mapping[str, Any]) -> Source:
    """The rows of ``myNotifications`` for the compiled read path."""
    return Source("notifications", "n", _INBOX, [principal.sub, arguments["unreadOnly"]])


def notification_entity(principal: Principal) -> Entity:
    """A notification by its id, for its recipient only."""
    return Entity("notifications", "n", "n.id = {key} AND n.recipient_id = $1", [principal.sub])


async def list_notifications(
    conn: Connection, recipient_id: str, *, unread_only: bool, after_id: str | None, limit: int
) -> list[Notification]:
    """A person's inbox, newest first."""
    rows = await conn.fetch(
        f"""
        SELECT {_COLUMNS} FROM notifications
         WHERE {_INBOX}
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
        f"SELECT count(*) FROM notifications WHERE {_INBOX}",
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


async def mark_all_read(conn: Connection, recipient_id: str) -> list[str]:
    """Mark every unread notification of a person read; the ids that changed."""
    rows = await conn.fetch(
        "UPDATE notifications SET read_at = now() WHERE recipient_id = $1 AND read_at IS NULL"
        " RETURNING id",
        recipient_id,
    )
    return [r["id"] for r in rows]


# --- preferences ----------------------------------------------------------------------------


def _preferences(row: Any) -> Preferences:
    quiet = None
    if row["quiet_start"] is not None and row["quiet_end"] is not None:
        quiet = QuietHours(start=row["quiet_start"], end=row["quiet_end"])
    return Preferences(
        person_id=row["person_id"],
        quiet_hours=quiet,
        time_zone=row["time_zone"],
        digest_for_informed=row["digest_for_informed"],
        normal_channels=tuple(PersonalChannel(c) for c in row["normal_channels"]),
        urgent_channels=tuple(PersonalChannel(c) for c in row["urgent_channels"]),
        language=row["language"],
    )


async def get_preferences(conn: Connection, person_id: str) -> Preferences:
    """A person's preferences, or the defaults if they never set any."""
    row = await conn.fetchrow(
        "SELECT * FROM notification_preferences WHERE person_id = $1", person_id
    )
    return _preferences(row) if row else Preferences(person_id=person_id)


async def save_preferences(conn: Connection, prefs: Preferences) -> Preferences:
    row = await conn.fetchrow(
        """
        INSERT INTO notification_preferences (person_id, quiet_start, quiet_end, time_zone,
            digest_for_informed, normal_channels, urgent_channels, language)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        ON CONFLICT (person_id) DO UPDATE SET quiet_start = EXCLUDED.quiet_start,
            quiet_end = EXCLUDED.quiet_end, time_zone = EXCLUDED.time_zone,
            digest_for_informed = EXCLUDED.digest_for_informed,
            normal_channels = EXCLUDED.normal_channels,
            urgent_channels = EXCLUDED.urgent_channels, language = EXCLUDED.language,
            updated_at = now()
        RETURNING *
        """,
        prefs.person_id,
        prefs.quiet_hours.start if prefs.quiet_hours else None,
        prefs.quiet_hours.end if prefs.quiet_hours else None,
        prefs.time_zone,
        prefs.digest_for_informed,
        [c.value for c in prefs.normal_channels],
        [c.value for c in prefs.urgent_channels],
        prefs.language,
    )
    return _preferences(row)


async def person_contact(conn: Connection, person_id: str) -> tuple[str, str, str] | None:
    """(name, e-mail, time zone) of a person from the directory replica."""
    row = await conn.fetchrow(
        "SELECT name, email, time_zone FROM person_replicas WHERE id = $1", person_id
    )
    return (row["name"], row["email"], row["time_zone"]) if row else None


Contact = tuple[str, str, str]
"""(name, e-mail, time zone) of a person, from the directory replica."""


async def recipient(conn: Connection, person_id: str) -> tuple[Preferences, Contact | None]:
    """A person's preferences (or the defaults) and contact, in one round trip."""
    row = await conn.fetchrow(
        """
        SELECT p.*, r.name AS contact_name, r.email AS contact_email,
               r.time_zone AS contact_time_zone
          FROM (SELECT $1::text AS id) AS wanted
          LEFT JOIN notification_preferences p ON p.person_id = wanted.id
          LEFT JOIN person_replicas r ON r.id = wanted.id
        """,
        person_id,
    )
    assert row is not None  # the one-row sub-select always yields a row
    prefs = _preferences(row) if row["person_id"] else Preferences(person_id=person_id)
    if row["contact_name"] is None:
        return prefs, None
    return prefs, (row["contact_name"], row["contact_email"], row["contact_time_zone"])


async def person_contacts(
    conn: Connection, person_ids: Sequence[str]
) -> dict[str, tuple[str, str, str]]:
    rows = await conn.fetch(
        "SELECT id, name, email, time_zone FROM person_replicas WHERE id = ANY($1)",
        list(person_ids),
    )
    return {r["id"]: (r["name"], r["email"], r["time_zone"]) for r in rows}


# --- digests --------------------------------------------------------------------------------


async def insert_digest_item(conn: Connection, draft: NotificationDraft) -> bool:
    """Keep ``draft`` for the person's next digest; False if this event is already kept."""
    inserted = await conn.fetchval(
        """
        INSERT INTO digest_items (id, person_id, source_event_id, type, title, body, link)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        ON CONFLICT (source_event_id, person_id) DO NOTHING
        RETURNING true
        """,
        new_id(),
        draft.recipient_id,
        draft.source_event_id,
        draft.type,
        draft.title,
        draft.body,
        draft.link,
    )
    return bool(inserted)


async def take_digest_items(
    conn: Connection, person_id: str, digest_id: str
) -> list[dict[str, Any]]:
    """Assign every pending item of a person to ``digest_id``; returns them oldest first."""
    rows = await conn.fetch(
        """
        UPDATE digest_items SET digest_id = $2
         WHERE id IN (SELECT id FROM digest_items
                       WHERE person_id = $1 AND digest_id IS NULL FOR UPDATE)
        RETURNING id, type, title, body, link, source_event_id
        """,
        person_id,
        digest_id,
    )
    return sorted((dict(r) for r in rows), key=lambda r: str(r["id"]))


async def timer_pending(conn: Connection, kind: str, subject: str) -> bool:
    """Whether an unfired timer ``kind``/``subject`` exists.

    The row is locked: if the timer is firing right now, this waits for that to commit and
    then sees it fired, so the caller arms the next one. Without the lock, an item added
    while a digest is being sent would find the timer "pending", arm nothing, and miss that
    digest too (it had already taken its items).
    """
    found = await conn.fetchval(
        "SELECT true FROM timers WHERE kind = $1 AND subject = $2 AND fired_at IS NULL FOR UPDATE",
        kind,
        subject,
    )
    return bool(found)


SECRET_COLUMNS: Final = (
    ("webhook_endpoints", "secret"),
    ("webhook_endpoints", "previous_secret"),
    ("channels", "secret"),
)
"""Every column holding a stored secret (shared/secrets_box.py), as (table, column)."""


async def stored_secrets(conn: Connection, table: str, column: str) -> list[tuple[str, str]]:
    """(row id, stored value) of every set secret in one of :data:`SECRET_COLUMNS`."""
    assert (table, column) in SECRET_COLUMNS
    rows = await conn.fetch(f"SELECT id, {column} FROM {table} WHERE {column} IS NOT NULL")
    return [(r["id"], r[column]) for r in rows]


async def replace_stored_secret(
    conn: Connection, table: str, column: str, row_id: str, old: str, new: str
) -> bool:
    """Swap ``old`` for ``new``, unless the secret changed meanwhile (a rotation wins)."""
    assert (table, column) in SECRET_COLUMNS
    result: str = await conn.execute(
        f"UPDATE {table} SET {column} = $3 WHERE id = $1 AND {column} = $2", row_id, old, new
    )
    return result == "UPDATE 1"
