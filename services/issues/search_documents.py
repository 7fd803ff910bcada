"""What the search box finds of the issues service: issues, by code, title and description.

An issue's code, title and description are set when it is reported; its lead and responsible
departments (who may find it even from outside its request, as they may see it here) move
with the lifecycle. So the document is published on ``issues.issue.reported`` and on every
move (:data:`~shared.events.contracts.issues.ISSUE_CHANGE_TYPES`, imports included). Reindex
every issue with ``python -m services.issues.search_documents --reindex``.
"""

from __future__ import annotations

from collections.abc import Sequence

from shared.db import Connection
from shared.events.contracts.issues import ISSUE_CHANGE_TYPES
from shared.events.contracts.search import SearchDocumentChanged, SearchKind
from shared.events.envelope import EventEnvelope
from shared.projections import subjects
from shared.search_documents import Indexed, publish, reindex_command
from shared.unit_of_work import UnitOfWork

_ISSUES = """
SELECT i.id, i.request_id, i.code, i.title, i.description,
       i.lead_department_id, i.responsible_department_id
  FROM issues i
 WHERE i.id = ANY($1::text[])
"""

ISSUE_EVENTS = ("issues.issue.reported", *ISSUE_CHANGE_TYPES)


async def issue_documents(conn: Connection, ids: Sequence[str]) -> list[SearchDocumentChanged]:
    rows = await conn.fetch(_ISSUES, list(ids))
    return [
        SearchDocumentChanged(
            kind=SearchKind.ISSUE,
            id=row["id"],
            request_id=row["request_id"],
            code=row["code"],
            title=row["title"],
            body=row["description"],
            departments=sorted({row["lead_department_id"], row["responsible_department_id"]}),
        )
        for row in rows
    ]


ISSUES = Indexed(
    SearchKind.ISSUE, issue_documents, "SELECT id FROM issues WHERE id > $1 ORDER BY id LIMIT $2"
)


async def project(uow: UnitOfWork, events: Sequence[EventEnvelope]) -> None:
    """Publish the documents of the issues the unit reported or moved."""
    await publish(uow, ISSUES, subjects(events, ISSUE_EVENTS))


if __name__ == "__main__":
    reindex_command("issues", [ISSUES])
