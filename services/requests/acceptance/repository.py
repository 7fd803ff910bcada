"""SQL of acceptance results (on goals) and lessons."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from shared.child_lists import ChildList, SortKey
from shared.db import Connection
from shared.ids import new_id
from shared.search_text import document


@dataclass(frozen=True)
class Lesson:
    id: str
    request_id: str
    title: str
    body: str
    tags: tuple[str, ...]
    author_id: str
    created_at: datetime


_LESSON = "l.id, l.request_id, l.title, l.body, l.tags, l.author_id, l.created_at"


def _lesson(row: Any) -> Lesson:
    return Lesson(**{**dict(row), "tags": tuple(row["tags"])})


async def set_tolerance(conn: Connection, request_id: str, percent: Decimal) -> None:
    await conn.execute(
        "UPDATE collab_requests SET acceptance_tolerance_percent = $2, updated_at = now(),"
        " version = version + 1 WHERE id = $1",
        request_id,
        percent,
    )


async def record_actual(
    conn: Connection, goal_id: str, actual: Decimal, met: bool, recorded_by: str
) -> None:
    await conn.execute(
        "UPDATE goals SET actual = $2, met = $3, recorded_at = now(), recorded_by = $4"
        " WHERE id = $1",
        goal_id,
        actual,
        met,
        recorded_by,
    )


async def set_met(conn: Connection, goal_id: str, met: bool) -> None:
    await conn.execute("UPDATE goals SET met = $2 WHERE id = $1", goal_id, met)


async def insert_lesson(
    conn: Connection, request_id: str, title: str, body: str, tags: Sequence[str], author: str
) -> Lesson:
    text, grams = document(title, body, tags)
    row = await conn.fetchrow(
        f"""
        INSERT INTO lessons AS l (id, request_id, title, body, tags, author_id, search_text,
                                  search_grams)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {_LESSON}
        """,
        new_id(),
        request_id,
        title,
        body,
        list(tags),
        author,
        text,
        grams,
    )
    return _lesson(row)


_LESSON_FILTER = """($1 OR r.lead_department_id = ANY($2) OR EXISTS (
                  SELECT 1 FROM request_participants p
                   WHERE p.request_id = r.id AND p.department_id = ANY($2)))
           AND l.search_grams @> $3::text[]
           AND NOT EXISTS (SELECT 1 FROM unnest($4::text[]) t
                            WHERE strpos(l.search_text, t) = 0)"""
"""Lessons of requests the caller may see ($1, $2) holding every n-gram ($3) and term ($4)."""


async def search_lessons(
    conn: Connection,
    *,
    sees_all: bool,
    departments: Sequence[str],
    terms: Sequence[str],
    grams: Sequence[str],
    after_id: str | None,
    limit: int,
) -> list[Lesson]:
    """Visible lessons containing every term, newest first."""
    rows = await conn.fetch(
        f"""
        SELECT {_LESSON} FROM lessons l JOIN collab_requests r ON r.id = l.request_id
         WHERE {_LESSON_FILTER}
           AND ($5::text IS NULL OR l.id < $5)
         ORDER BY l.id DESC
         LIMIT $6
        """,
        sees_all,
        list(departments),
        list(grams),
        list(terms),
        after_id,
        limit,
    )
    return [_lesson(r) for r in rows]


async def count_lessons(
    conn: Connection,
    *,
    sees_all: bool,
    departments: Sequence[str],
    terms: Sequence[str],
    grams: Sequence[str],
) -> int:
    """How many lessons :func:`search_lessons` pages through with the same search."""
    count: int = await conn.fetchval(
        "SELECT count(*) FROM lessons l JOIN collab_requests r ON r.id = l.request_id"
        f" WHERE {_LESSON_FILTER}",
        sees_all,
        list(departments),
        list(grams),
        list(terms),
    )
    return count


LESSONS_OF_REQUESTS = ChildList(
    source="lessons l",
    parent="l.request_id",
    columns=_LESSON,
    order=(SortKey("l.id", name="id"),),
    to_model=_lesson,
)
"""``CollabRequest.lessons``: each request's lessons, oldest first (ids are UUIDv7)."""
