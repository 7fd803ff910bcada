"""What the search box finds of the tasks service: tasks, by title and description.

Every change of a task's title or description is a ``tasks.task.created`` or
``tasks.task.updated`` event (recurring occurrences, action items and imports create tasks
through the same use case), so the document is published on each of them. Who may see the
task's request may find it. Reindex every task with
``python -m services.tasks.search_documents --reindex``.
"""

from __future__ import annotations

from collections.abc import Sequence

from shared.db import Connection
from shared.events.contracts.search import SearchDocumentChanged, SearchKind
from shared.events.envelope import EventEnvelope
from shared.projections import subjects
from shared.search_documents import Indexed, publish, reindex_command
from shared.unit_of_work import UnitOfWork

_TASKS = """
SELECT t.id, t.request_id, t.title, t.description
  FROM tasks t
 WHERE t.id = ANY($1::text[])
"""

TASK_EVENTS = ("tasks.task.created", "tasks.task.updated")


async def task_documents(conn: Connection, ids: Sequence[str]) -> list[SearchDocumentChanged]:
    rows = await conn.fetch(_TASKS, list(ids))
    return [
        SearchDocumentChanged(
            kind=SearchKind.TASK,
            id=row["id"],
            request_id=row["request_id"],
            title=row["title"],
            body=row["description"],
        )
        for row in rows
    ]


TASKS = Indexed(
    SearchKind.TASK, task_documents, "SELECT id FROM tasks WHERE id > $1 ORDER BY id LIMIT $2"
)


async def project(uow: UnitOfWork, events: Sequence[EventEnvelope]) -> None:
    """Publish the documents of the tasks the unit created or changed."""
    await publish(uow, TASKS, subjects(events, TASK_EVENTS))


if __name__ == "__main__":
    reindex_command("tasks", [TASKS])
