"""SQL of partner clients."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.requests.partners.models import PartnerClient
from shared.db import Connection


def _client(row: Any) -> PartnerClient:
    return PartnerClient(**{**dict(row), "scopes": tuple(row["scopes"])})


async def upsert(conn: Connection, client: PartnerClient) -> PartnerClient:
    row = await conn.fetchrow(
        """
        INSERT INTO partner_clients (id, name, owner_id, scopes, enabled)
        VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, owner_id = EXCLUDED.owner_id,
            scopes = EXCLUDED.scopes, enabled = EXCLUDED.enabled, updated_at = now()
        RETURNING id, name, owner_id, scopes, enabled, created_at
        """,
        client.id,
        client.name,
        client.owner_id,
        list(client.scopes),
        client.enabled,
    )
    return _client(row)


async def list_all(conn: Connection) -> list[PartnerClient]:
    rows = await conn.fetch(
        "SELECT id, name, owner_id, scopes, enabled, created_at FROM partner_clients ORDER BY id"
    )
    return [_client(r) for r in rows]


async def existing(conn: Connection, ids: Sequence[str]) -> set[str]:
    """Which of ``ids`` are partner clients' (people and partners share one namespace)."""
    rows = await conn.fetch("SELECT id FROM partner_clients WHERE id = ANY($1::text[])", list(ids))
    return {r["id"] for r in rows}


async def exists(conn: Connection, client_id: str) -> bool:
    found: bool = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM partner_clients WHERE id = $1)", client_id
    )
    return found
