"""SLA deadlines for calendar feeds (shared/calendar_items.py): the running response and plan
clocks of the open issues a person owns, or of every open issue of a request. A paused or
settled clock has no deadline to show (a pause moves it out; the feed shows it again when
the clock runs)."""

from __future__ import annotations

from services.issues.models import CLOSED_STATUSES
from shared.calendar_items import CalendarItem, Scope, calendar_item_routes, item_uid, sequence_of
from shared.db import Connection

_RUNNING = """
SELECT i.id, i.code, i.title, i.updated_at, c.metric, c.due_at
FROM issues i JOIN sla_clocks c ON c.issue_id = i.id
WHERE c.state = 'RUNNING' AND NOT (i.status = ANY($2::text[])) AND {column} = $1
ORDER BY c.due_at, i.id, c.metric
"""
_OF_PERSON = _RUNNING.format(column="i.owner_id")
_OF_REQUEST = _RUNNING.format(column="i.request_id")
_CLOSED = sorted(CLOSED_STATUSES)


async def issue_items(conn: Connection, scope: Scope) -> list[CalendarItem]:
    if scope.person_id is not None:
        rows = await conn.fetch(_OF_PERSON, scope.person_id, _CLOSED)
    else:
        rows = await conn.fetch(_OF_REQUEST, scope.request_id, _CLOSED)
    return [
        CalendarItem(
            uid=item_uid("issue", row["id"], f"sla-{row['metric'].lower()}"),
            # clocks pause and resume with status moves of the issue, which bump its updated_at
            sequence=sequence_of(row["updated_at"]),
            summary=f"SLA {row['metric'].lower()} due: {row['code']} {row['title']}",
            description=f"{row['code']}: the {row['metric'].lower()} SLA deadline",
            due=row["due_at"],
            updated=row["updated_at"],
        )
        for row in rows
    ]


ROUTES = calendar_item_routes(issue_items)
