"""SQL of the event log: every event notify consumed, for the partner stream and replays."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from services.notify import scopes
from services.notify.models import LoggedEvent
from shared.auth import Principal
from shared.db import Connection, Pool, delete_in_batches
from shared.events.envelope import EventEnvelope
from shared.graphql.compiled.sql import Log, Source


def payload_json(qualifier: str = "") -> str:
    """SQL of an event's payload as JSON text, as PostgreSQL writes jsonb (``qualifier``
    names the row, e.g. ``"{row}."``): what both read paths answer for ``Event.data``, so
    they write the same bytes (numbers as they were logged)."""
    return f"({qualifier}envelope->'data')::text"


_COLUMNS = (
    "seq, tx::text::bigint AS tx, event_id, type, time, departments, envelope,"
    f" {payload_json()} AS data_json"
)

Position = tuple[int, int]
"""A place in the log, (tx, seq): the log is ordered by the logging transaction's id, then
by ``seq`` (see migration 0005)."""

ORDER = Log(key="{row}.tx, {row}.seq", cursor="{row}.event_id")
"""How both read paths page the log: in log order, after the event whose id is ``after``."""

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


_READABLE = "e.tx < pg_snapshot_xmin(pg_current_snapshot())"
"""The log's readable part: events of transactions older than every transaction still
running. Any event logged later belongs to a newer transaction, so it sorts after all of
these, and a reader moving on never skips one."""


def _matches(patterns: str) -> str:
    """SQL of :func:`scopes.matches` of the ``text[]`` ``patterns`` and the event's type."""
    return (
        f"EXISTS (SELECT FROM unnest({patterns}::text[]) AS p(pattern)"
        f" WHERE p.pattern IN ('{scopes.ALL}', e.type)"
        " OR (right(p.pattern, 2) = '.*' AND starts_with(e.type, left(p.pattern, -1))))"
    )


_VISIBLE = (
    f"{_READABLE} AND ($1::text[] IS NULL OR {_matches('$1')})"
    " AND CASE WHEN $2::text[] IS NULL THEN e.departments && $3::text[]"
    f" ELSE {_matches('$2')} END"
)
"""Readable events of the types $1 (any if null) that the caller may see: those of the
types $2, or if $2 is null those concerning one of the departments $3."""


def visible_to(principal: Principal, types: Sequence[str] | None) -> Source:
    """The events of the ``events`` stream ``principal`` may see, only of ``types`` if any:
    the rows both read paths page, in the :data:`ORDER` of the log."""
    params = [list(types) if types else None, scopes.visible_types(principal)]
    return Source("event_log", "e", _VISIBLE, [*params, list(principal.departments)])


def events_source(principal: Principal, arguments: Mapping[str, Any]) -> Source:
    """The rows of the ``events`` query (its ``types`` argument) for the compiled read path."""
    return visible_to(principal, arguments.get("types"))


async def page(conn: Connection, rows: Source, position: Position, limit: int) -> list[LoggedEvent]:
    """Up to ``limit`` of ``rows`` logged after ``position``, in log order."""
    n, row = len(rows.params), rows.alias
    order = ORDER.key.format(row=row)
    found = await conn.fetch(
        f"""
        SELECT {_COLUMNS} FROM {rows.table} {row}
         WHERE ({rows.where}) AND ({order}) > (${n + 1}::text::xid8, ${n + 2})
         ORDER BY {order} LIMIT ${n + 3}
        """,
        *rows.params,
        str(position[0]),
        position[1],
        limit,
    )
    return [_logged(r) for r in found]


async def read_on(
    conn: Connection, rows: Source, position: Position, limit: int
) -> tuple[list[LoggedEvent], Position]:
    """:func:`page`, and the position read up to: the last event's if there are ``limit``,
    else the end of the readable log, so a follower does not read again the events it was
    not shown."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        # One snapshot for both statements: an event that became readable in between would
        # sort before the end and never be shown.
        events = await page(conn, rows, position, limit)
        if len(events) == limit:
            return events, events[-1].position
        return events, await _readable_end(conn, position)


async def _readable_end(conn: Connection, position: Position) -> Position:
    """The last readable event's position, or ``position`` if none is after it."""
    row = await conn.fetchrow(
        f"""
        SELECT e.tx::text::bigint AS tx, e.seq FROM event_log e
         WHERE {_READABLE} AND (e.tx, e.seq) > ($1::text::xid8, $2)
         ORDER BY e.tx DESC, e.seq DESC LIMIT 1
        """,
        str(position[0]),
        position[1],
    )
    return (row["tx"], row["seq"]) if row else position


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
