"""SQL of chat groups (channels)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.notify.models import Channel, ChannelKind, Phase
from shared.db import Connection
from shared.ids import new_id

_COLUMNS = "id, name, kind, request_id, phase, department_id, url, secret, created_by, created_at"


def _channel(row: Any) -> Channel:
    return Channel(**{**dict(row), "kind": ChannelKind(row["kind"]), "phase": Phase(row["phase"])})


async def insert_channel(
    conn: Connection,
    *,
    name: str,
    kind: ChannelKind,
    request_id: str,
    phase: Phase,
    department_id: str,
    url: str,
    secret: str | None,
    created_by: str,
) -> Channel | None:
    """A new channel; None if the request already has one of this kind there."""
    row = await conn.fetchrow(
        f"""
        INSERT INTO channels
            (id, name, kind, request_id, phase, department_id, url, secret, created_by)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
        ON CONFLICT (request_id, phase, department_id, kind) DO NOTHING
        RETURNING {_COLUMNS}
        """,
        new_id(),
        name,
        kind.value,
        request_id,
        phase.value,
        department_id,
        url,
        secret,
        created_by,
    )
    return _channel(row) if row else None


async def channels_by_ids(conn: Connection, ids: Sequence[str]) -> dict[str, Channel]:
    rows = await conn.fetch(f"SELECT {_COLUMNS} FROM channels WHERE id = ANY($1)", list(ids))
    return {r["id"]: _channel(r) for r in rows}


async def channels_of_request(conn: Connection, request_id: str) -> list[Channel]:
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM channels WHERE request_id = $1"
        " ORDER BY phase, department_id, kind",
        request_id,
    )
    return [_channel(r) for r in rows]


async def channels_for(
    conn: Connection, request_id: str, phase: str, department_ids: Sequence[str]
) -> list[Channel]:
    """The channels of a request's phase for some departments."""
    rows = await conn.fetch(
        f"""
        SELECT {_COLUMNS} FROM channels
         WHERE request_id = $1 AND phase = $2 AND department_id = ANY($3)
         ORDER BY department_id, kind
        """,
        request_id,
        phase,
        list(department_ids),
    )
    return [_channel(r) for r in rows]
