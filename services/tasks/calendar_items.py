"""Task due times for calendar feeds (shared/calendar_items.py): those of the tasks a person
is responsible (R) or accountable (A) for, or every task of a request; open tasks only, as a
done or cancelled task has no deadline left to keep."""

from __future__ import annotations

from shared.calendar_items import CalendarItem, Scope, calendar_item_routes, item_uid, sequence_of
from shared.db import Connection

_OPEN_WITH_DUE = "t.due_at IS NOT NULL AND t.status NOT IN ('DONE', 'CANCELLED')"
_OF_PERSON = f"""
SELECT t.id, t.title, t.description, t.due_at, t.updated_at,
       (SELECT string_agg(DISTINCT ra.role, '/' ORDER BY ra.role) FROM raci_assignments ra
        WHERE ra.task_id = t.id AND ra.person_id = $1 AND ra.role IN ('R', 'A')) AS roles
FROM tasks t
WHERE {_OPEN_WITH_DUE} AND EXISTS (
    SELECT 1 FROM raci_assignments ra
    WHERE ra.task_id = t.id AND ra.person_id = $1 AND ra.role IN ('R', 'A'))
ORDER BY t.due_at, t.id
"""
_OF_REQUEST = f"""
SELECT t.id, t.title, t.description, t.due_at, t.updated_at, NULL AS roles
FROM tasks t WHERE {_OPEN_WITH_DUE} AND t.request_id = $1
ORDER BY t.due_at, t.id
"""


async def task_items(conn: Connection, scope: Scope) -> list[CalendarItem]:
    if scope.person_id is not None:
        rows = await conn.fetch(_OF_PERSON, scope.person_id)
    else:
        rows = await conn.fetch(_OF_REQUEST, scope.request_id)
    return [
        CalendarItem(
            uid=item_uid("task", row["id"], "due"),
            # tasks have no version counter: every change bumps updated_at
            sequence=sequence_of(row["updated_at"]),
            summary=f"Due: {row['title']}" + (f" ({row['roles']})" if row["roles"] else ""),
            description=row["description"],
            due=row["due_at"],
            updated=row["updated_at"],
        )
        for row in rows
    ]


ROUTES = calendar_item_routes(task_items)
