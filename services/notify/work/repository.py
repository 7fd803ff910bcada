"""SQL of myWork: storing each record's latest set, and reading one caller's items."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from services.notify.work.models import KindCount, StoredWorkItem
from shared.db import Connection
from shared.events.contracts.work import WorkItem, WorkKind, WorkRole, WorkTarget

# --- storing --------------------------------------------------------------------------------

_TAKE_SOURCE = """
INSERT INTO work_sources (source, changed_at) VALUES ($1, $2)
ON CONFLICT (source) DO UPDATE SET changed_at = EXCLUDED.changed_at
 WHERE work_sources.changed_at <= EXCLUDED.changed_at
RETURNING true
"""
"""Claim the record for a set of this time; nothing if a newer set was stored already."""

_DROP_SETTLED = "DELETE FROM work_items WHERE source = $1 AND NOT (key = ANY($2::text[]))"

_PUT_ITEMS = """
INSERT INTO work_items AS w (source, key, kind, role, title, target, target_id, request_id,
    person_id, department_id, heads_only, due_at, visible_from, at_risk_at, clock_paused,
    has_clock, urgency, since)
SELECT $1, i.key, i.kind, i.role, i.title, i.target, i.target_id, i.request_id, i.person_id,
       i.department_id, i.heads_only, i.due_at, i.visible_from, i.at_risk_at, i.clock_paused,
       i.has_clock, i.urgency, $3
  FROM jsonb_to_recordset($2::jsonb) AS i(key text, kind text, role text, title text,
       target text, target_id text, request_id text, person_id text, department_id text,
       heads_only boolean, due_at timestamptz, visible_from timestamptz,
       at_risk_at timestamptz, clock_paused boolean, has_clock boolean, urgency smallint)
ON CONFLICT (source, key) DO UPDATE SET kind = EXCLUDED.kind, role = EXCLUDED.role,
    title = EXCLUDED.title, target = EXCLUDED.target, target_id = EXCLUDED.target_id,
    request_id = EXCLUDED.request_id, person_id = EXCLUDED.person_id,
    department_id = EXCLUDED.department_id, heads_only = EXCLUDED.heads_only,
    due_at = EXCLUDED.due_at, visible_from = EXCLUDED.visible_from,
    at_risk_at = EXCLUDED.at_risk_at, clock_paused = EXCLUDED.clock_paused,
    has_clock = EXCLUDED.has_clock, urgency = EXCLUDED.urgency,
    -- the same thing still asked of the same person or department keeps its age
    since = CASE WHEN (w.kind, w.person_id, w.department_id)
                      IS NOT DISTINCT FROM (EXCLUDED.kind, EXCLUDED.person_id,
                                            EXCLUDED.department_id)
                 THEN w.since ELSE EXCLUDED.since END
"""


async def replace_items(
    conn: Connection, source: str, changed_at: datetime, items: Sequence[WorkItem]
) -> bool:
    """Make ``items`` the record's whole set; False (nothing changed) if a newer set is in."""
    if not await conn.fetchval(_TAKE_SOURCE, source, changed_at):
        return False
    await conn.execute(_DROP_SETTLED, source, [item.key for item in items])
    if items:
        rows = [item.model_dump(mode="json") for item in items]
        await conn.execute(_PUT_ITEMS, source, rows, changed_at)
    return True


# --- reading --------------------------------------------------------------------------------

_COLUMNS = """w.source, w.key, w.kind, w.role, w.title, w.target, w.target_id, w.request_id,
    w.due_at, w.at_risk_at, w.clock_paused, w.has_clock, w.urgency, w.since, w.sort_due"""

_ORDER = "w.sort_due, w.urgency, w.source, w.key"

_SHOWN = """(w.visible_from IS NULL OR w.visible_from <= $3)
       AND ($4::text[] IS NULL OR w.kind = ANY($4::text[]))"""
"""Shown now ($3) and of the kinds asked for ($4, null: all)."""

_AFTER = "(w.sort_due, w.urgency, w.source, w.key) > ($5, $6, $7, $8)"
"""After the cursor's key: where each walk starts."""


def _mine(where: str, tail: str = "") -> str:
    """The caller's items that meet ``where`` (each way then ``tail``, e.g. ORDER BY/LIMIT).

    The ways an item is the caller's ($1 the person, $2 their departments) are disjoint: their
    own; each of their departments' (for members); each department they head (approvals,
    heads only; heads are read from the directory copy, so a new head sees them at once).
    Each department is a walk of its own in the list's order (LATERAL), so a page reads
    about as many index entries as it shows."""
    ways = [
        f"SELECT w.* FROM work_items w WHERE w.person_id = $1 AND {where} {tail}",
        "SELECT w.* FROM unnest($2::text[]) AS mine(id) CROSS JOIN LATERAL (SELECT w.*"
        " FROM work_items w WHERE w.person_id IS NULL AND w.department_id = mine.id"
        f" AND NOT w.heads_only AND {where} {tail}) w",
        "SELECT w.* FROM department_replicas d CROSS JOIN LATERAL (SELECT w.*"
        " FROM work_items w WHERE w.person_id IS NULL AND w.department_id = d.id"
        f" AND w.heads_only AND {where} {tail}) w WHERE d.head_id = $1",
    ]
    return " UNION ALL ".join(f"({way})" for way in ways)


def _page(where: str, limit: str) -> str:
    tail = f"ORDER BY {_ORDER} LIMIT {limit}"
    return f"SELECT {_COLUMNS} FROM ({_mine(where, tail)}) w {tail}"


_FIRST_PAGE = _page(_SHOWN, "$5")
_NEXT_PAGE = _page(f"{_SHOWN} AND {_AFTER}", "$9")
_ALL_MINE = _mine(_SHOWN)

_COUNT = f"SELECT count(*) FROM ({_ALL_MINE}) w"

_SUMMARY = f"""
SELECT w.kind, count(*) AS count,
       count(*) FILTER (WHERE NOT w.clock_paused AND w.due_at <= $3) AS overdue,
       count(*) FILTER (WHERE NOT w.clock_paused AND w.at_risk_at <= $3
                          AND (w.due_at IS NULL OR w.due_at > $3)) AS at_risk
  FROM ({_ALL_MINE}) w
 GROUP BY w.kind ORDER BY w.kind
"""


def _item(row: Any) -> StoredWorkItem:
    return StoredWorkItem(
        **{
            **dict(row),
            "kind": WorkKind(row["kind"]),
            "role": WorkRole(row["role"]),
            "target": WorkTarget(row["target"]),
        }
    )


def _kinds(kinds: Sequence[WorkKind] | None) -> list[str] | None:
    return None if kinds is None else [k.value for k in kinds]


async def page_of(
    conn: Connection,
    person_id: str,
    departments: Sequence[str],
    *,
    now: datetime,
    kinds: Sequence[WorkKind] | None,
    after: Sequence[Any] | None,
    limit: int,
) -> list[StoredWorkItem]:
    """The caller's items shown at ``now``, due first, after the key ``after``."""
    shown = (person_id, list(departments), now, _kinds(kinds))
    if after is None:
        rows = await conn.fetch(_FIRST_PAGE, *shown, limit)
    else:
        rows = await conn.fetch(_NEXT_PAGE, *shown, *after, limit)
    return [_item(r) for r in rows]


async def count_of(
    conn: Connection,
    person_id: str,
    departments: Sequence[str],
    *,
    now: datetime,
    kinds: Sequence[WorkKind] | None,
) -> int:
    count: int = await conn.fetchval(_COUNT, person_id, list(departments), now, _kinds(kinds))
    return count


async def summary_of(
    conn: Connection, person_id: str, departments: Sequence[str], *, now: datetime
) -> list[KindCount]:
    """Per kind: how many items the caller has, and how many are overdue or at risk."""
    rows = await conn.fetch(_SUMMARY, person_id, list(departments), now, None)
    return [KindCount(WorkKind(r["kind"]), r["count"], r["overdue"], r["at_risk"]) for r in rows]
