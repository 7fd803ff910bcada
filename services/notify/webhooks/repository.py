"""SQL of partner webhook endpoints."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from services.notify.models import WebhookEndpoint
from shared.db import Connection
from shared.ids import new_id

_COLUMNS = """id, owner_id, url, description, event_types, scopes, secret, previous_secret,
    previous_secret_expires_at, enabled, disabled_reason, failing_since, created_at, updated_at"""


def _endpoint(row: Any) -> WebhookEndpoint:
    return WebhookEndpoint(**dict(row))


async def insert_endpoint(
    conn: Connection,
    owner_id: str,
    url: str,
    description: str,
    event_types: Sequence[str],
    scopes: Sequence[str],
    secret: str,
) -> WebhookEndpoint:
    row = await conn.fetchrow(
        f"""
        INSERT INTO webhook_endpoints (id, owner_id, url, description, event_types, scopes, secret)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        RETURNING {_COLUMNS}
        """,
        new_id(),
        owner_id,
        url,
        description,
        list(event_types),
        list(scopes),
        secret,
    )
    return _endpoint(row)


async def get_endpoint(
    conn: Connection, endpoint_id: str, *, lock: bool = False
) -> WebhookEndpoint | None:
    suffix = " FOR UPDATE" if lock else ""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM webhook_endpoints WHERE id = $1{suffix}", endpoint_id
    )
    return _endpoint(row) if row else None


async def endpoints_by_ids(conn: Connection, ids: Sequence[str]) -> dict[str, WebhookEndpoint]:
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM webhook_endpoints WHERE id = ANY($1)", list(ids)
    )
    return {r["id"]: _endpoint(r) for r in rows}


async def list_endpoints(
    conn: Connection, owner_id: str | None, *, after_id: str | None, limit: int
) -> list[WebhookEndpoint]:
    """Endpoints of one owner (or of everyone for ``None``), newest first."""
    rows = await conn.fetch(
        f"""
        SELECT {_COLUMNS} FROM webhook_endpoints
         WHERE ($1::text IS NULL OR owner_id = $1) AND ($2::text IS NULL OR id < $2)
         ORDER BY id DESC LIMIT $3
        """,
        owner_id,
        after_id,
        limit,
    )
    return [_endpoint(r) for r in rows]


async def count_endpoints(conn: Connection, owner_id: str | None) -> int:
    count: int = await conn.fetchval(
        "SELECT count(*) FROM webhook_endpoints WHERE $1::text IS NULL OR owner_id = $1",
        owner_id,
    )
    return count


async def enabled_endpoints(conn: Connection) -> list[WebhookEndpoint]:
    rows = await conn.fetch(f"SELECT {_COLUMNS} FROM webhook_endpoints WHERE enabled")
    return [_endpoint(r) for r in rows]


async def rotate_secret(
    conn: Connection, endpoint_id: str, secret: str, previous_expires_at: datetime
) -> WebhookEndpoint:
    row = await conn.fetchrow(
        f"""
        UPDATE webhook_endpoints
           SET previous_secret = secret, previous_secret_expires_at = $3, secret = $2,
               updated_at = now()
         WHERE id = $1
        RETURNING {_COLUMNS}
        """,
        endpoint_id,
        secret,
        previous_expires_at,
    )
    return _endpoint(row)


async def set_enabled(
    conn: Connection, endpoint_id: str, enabled: bool, reason: str | None
) -> WebhookEndpoint:
    row = await conn.fetchrow(
        f"""
        UPDATE webhook_endpoints
           SET enabled = $2, disabled_reason = $3, failing_since = NULL, updated_at = now()
         WHERE id = $1
        RETURNING {_COLUMNS}
        """,
        endpoint_id,
        enabled,
        reason,
    )
    return _endpoint(row)


async def note_failure(conn: Connection, endpoint_id: str) -> WebhookEndpoint | None:
    """Start the failure clock at the first failure since the last success."""
    row = await conn.fetchrow(
        f"""
        UPDATE webhook_endpoints SET failing_since = coalesce(failing_since, now())
         WHERE id = $1
        RETURNING {_COLUMNS}
        """,
        endpoint_id,
    )
    return _endpoint(row) if row else None


async def note_success(conn: Connection, endpoint_id: str) -> None:
    await conn.execute(
        "UPDATE webhook_endpoints SET failing_since = NULL"
        " WHERE id = $1 AND failing_since IS NOT NULL",
        endpoint_id,
    )
