"""SQL of the event log: every event notify consumed, for the partner stream and replays."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from services.notify.models import LoggedEvent
from shared.db import Connection, Pool, delete_in_batches
from shared.events.envelope import EventEnvelope

_COLUMNS = "seq, tx::text::bigint AS tx, event_id, type, time, departments, envelope"

Position = tuple[int, int]
"""A place in the log, (tx, seq): the log is ordered by the logging transaction's id, then
by ``seq`` (see migration 0005)."""

START: Position = (0, 0)


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


async def position_of(conn: Connection, event_id: str) -> Position | None:
    row = await conn.fetchrow(
        "SELECT tx::text::bigint AS tx, seq FROM event_log WHERE event_id = $1", event_id
    )
    return (row["tx"], row["seq"]) if row else None


async def after(conn: Connection, position: Position, limit: int) -> list[LoggedEvent]:
    """Events logged after ``position``, in log order, up to ``limit``.

    Only events of transactions older than every transaction still running are read: any
    event logged later belongs to a newer transaction, so it sorts after all of these and
    a reader moving on never skips one.
    """
    rows = await conn.fetch(
        f"""
        SELECT {_COLUMNS} FROM event_log
         WHERE (tx, seq) > ($1::text::xid8, $2)
           AND tx < pg_snapshot_xmin(pg_current_snapshot())
         ORDER BY tx, seq LIMIT $3
        """,
        str(position[0]),
        position[1],
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
