"""SQL of the search box: storing each record's latest document, and finding documents."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.notify.search.models import Search, SearchHit
from shared.auth import Principal
from shared.db import Connection
from shared.events.contracts.search import SearchDocumentChanged, SearchKind
from shared.search_text import document, matching, normalise

# --- storing --------------------------------------------------------------------------------

_STORE = """
INSERT INTO search_documents AS d (kind, id, request_id, code, title, body, departments,
    removed, code_key, title_text, search_text, search_grams, changed_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
ON CONFLICT (kind, id) DO UPDATE SET request_id = EXCLUDED.request_id, code = EXCLUDED.code,
    title = EXCLUDED.title, body = EXCLUDED.body, departments = EXCLUDED.departments,
    removed = EXCLUDED.removed, code_key = EXCLUDED.code_key, title_text = EXCLUDED.title_text,
    search_text = EXCLUDED.search_text, search_grams = EXCLUDED.search_grams,
    changed_at = EXCLUDED.changed_at, updated_at = now()
 WHERE d.changed_at <= EXCLUDED.changed_at
"""
"""Keep the document of the latest event: an older one arriving late changes nothing."""


async def store(conn: Connection, doc: SearchDocumentChanged, changed_at: datetime) -> None:
    """Store ``doc`` as the record's document of ``changed_at``, with its search keys."""
    code = doc.code or ""
    search_text, search_grams = document(code, doc.title, doc.body)
    await conn.execute(
        _STORE,
        doc.kind.value,
        doc.id,
        doc.request_id,
        doc.code,
        doc.title,
        doc.body,
        doc.departments,
        doc.removed,
        normalise(code) if doc.code else None,
        normalise(doc.title),
        search_text,
        search_grams,
        changed_at,
    )


# --- finding --------------------------------------------------------------------------------

# $1 sees everything (PMO, ADMIN), $2 the caller's departments. People are found by everyone;
# anything else only by who may see its request (one of their departments leads it or takes
# part, on notify's copy of it, the rule of the owning services), or by a department the
# document names (an issue's lead and responsible departments).
_VISIBLE = """(d.kind = 'PERSON' OR $1 OR d.departments && $2::text[] OR EXISTS (
    SELECT 1 FROM request_replicas r
     WHERE r.id = d.request_id
       AND (r.lead_department_id = ANY($2::text[])
            OR r.participant_department_ids && $2::text[])))"""

# $3 the n-grams the terms need (through the GIN index), $4 the terms, each a substring of
# the document's text, $5 the kinds asked for (null: all).
_MATCHES = f"""NOT d.removed AND {matching("d", "$3", "$4")}
   AND ($5::text[] IS NULL OR d.kind = ANY($5::text[]))"""

# 0 CODE: the whole query is the record's code ($6); 1 TITLE: every term is in the title;
# 2 TEXT: the rest (models.SearchMatch).
_RANK = """CASE WHEN d.code_key = $6 THEN 0
            WHEN NOT EXISTS (SELECT 1 FROM unnest($4::text[]) t
                              WHERE strpos(d.title_text, t) = 0) THEN 1
            ELSE 2 END"""

# Best rank first, then newest, then kind and id: a total order, so the keyset
# (-rank, changed_at, kind, id) after the cursor ($7: given; $8 .. $11) is stable.
_PAGE = f"""
SELECT * FROM (
    SELECT d.kind, d.id, d.request_id, d.code, d.title, d.body, d.changed_at, {_RANK} AS rank
      FROM search_documents d
     WHERE {_MATCHES} AND {_VISIBLE}
) h
 WHERE $7::boolean IS NOT TRUE
    OR (-h.rank, h.changed_at, h.kind, h.id) < (-$8::int, $9::timestamptz, $10::text, $11::text)
 ORDER BY h.rank, h.changed_at DESC, h.kind DESC, h.id DESC
 LIMIT $12
"""

_COUNT = f"SELECT count(*) FROM search_documents d WHERE {_MATCHES} AND {_VISIBLE}"


def _hit(row: Any) -> SearchHit:
    return SearchHit(**{**dict(row), "kind": SearchKind(row["kind"])})


def _caller_args(search: Search, caller: Principal) -> list[Any]:
    """``$1`` .. ``$5`` of :data:`_PAGE` and :data:`_COUNT`."""
    kinds = [k.value for k in search.kinds] if search.kinds is not None else None
    return [caller.sees_everything, list(caller.departments), search.grams, search.terms, kinds]


async def find(
    conn: Connection,
    search: Search,
    caller: Principal,
    *,
    after: tuple[int, datetime, str, str] | None,
    limit: int,
) -> list[SearchHit]:
    """Up to ``limit`` hits of ``search`` the caller may see, best first, after ``after``."""
    rows = await conn.fetch(
        _PAGE,
        *_caller_args(search, caller),
        search.code_key,
        after is not None,
        *(after or (None, None, None, None)),
        limit,
    )
    return [_hit(row) for row in rows]


async def count(conn: Connection, search: Search, caller: Principal) -> int:
    """How many documents :func:`find` pages through for the same search and caller."""
    found: int = await conn.fetchval(_COUNT, *_caller_args(search, caller))
    return found
