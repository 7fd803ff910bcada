"""The search documents a service published, read from its outbox (shared/search_documents.py)."""

from __future__ import annotations

from typing import Any

from tests.support import SubgraphClient


async def documents(api: SubgraphClient, kind: str, record_id: str) -> list[dict[str, Any]]:
    """Every document ``api``'s service published for the record, oldest first."""
    rows = await api.runtime.pool.fetch(
        "SELECT envelope FROM outbox WHERE event_type = 'search.document.changed'"
        " AND envelope->>'subject' = $1 ORDER BY seq",
        f"{kind}:{record_id}",
    )
    return [row["envelope"]["data"] for row in rows]
