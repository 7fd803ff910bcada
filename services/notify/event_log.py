"""SQL of the event log: every event notify consumed, for the partner stream and replays."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from services.notify.models import LoggedEvent
from shared.db import Connection, Pool, delete_in_batches
from shared.events.envelope import EventEnvelope

_COLUMNS = "seq, event_id, type, time, departments, envelope"


def _logged(row: Any) -> LoggedEvent:
    return LoggedEvent(**dict(row))


async def append(conn: Connection, event: EventEnvelope) -> LoggedEvent | None:
    """Log ``event``; None if it is already there."""
    row = await conn.fetchrow(
        f"""
        INSERT INTO event_log (event_id, type, time, departments, envelope)
        VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (event_id) DO NOTHING
        RETURNING {_COLUMNS}
        """,
        event.id,
        event.type,
        event.time,
        event.departments,
        event.model_dump(mode="json"),
    )
    return _logged(row) if row else None


async def seq_of(conn: Connection, event_id: str) -> int | None:
    seq: int | None = await conn.fetchval("SELECT seq FROM event_log WHERE event_id = $1", event_id)
    return seq


async def after(
    conn: Connection, after_seq: int, types: Sequence[str] | None, limit: int
) -> list[LoggedEvent]:
    """Events logged after ``after_seq``, oldest first, of ``types`` (exact) if given."""
    rows = await conn.fetch(
        f"""
        SELECT {_COLUMNS} FROM event_log
         WHERE seq > $1 AND ($2::text[] IS NULL OR type = ANY($2))
         ORDER BY seq LIMIT $3
        """,
        after_seq,
        list(types) if types else None,
        limit,
    )
    return [_logged(r) for r in rows]


async def in_time_range(
    conn: Connection, start: datetime, end: datetime, limit: int
) -> list[LoggedEvent]:
    """Events that happened in ``[start, end)``, oldest first."""
    rows = await conn.fetch(
        f"""
        SELECT {_COLUMNS} FROM event_log WHERE time >= $1 AND time < $2
         ORDER BY time, seq LIMIT $3
        """,
        start,
        end,
        limit,
    )
    return [_logged(r) for r in rows]


async def by_ids(conn: Connection, event_ids: Sequence[str]) -> dict[str, LoggedEvent]:
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM event_log WHERE event_id = ANY($1)", list(event_ids)
    )
    return {r["event_id"]: _logged(r) for r in rows}


async def prune(pool: Pool, before: datetime) -> int:
    """Forget events that happened before ``before``: they can no longer be replayed."""
    return await delete_in_batches(
        pool,
        """
        DELETE FROM event_log WHERE seq IN (
            SELECT seq FROM event_log WHERE time < $1 ORDER BY seq LIMIT $2)
        """,
        before,
    )
