"""What the search box finds of the requests service: requests, lessons and people.

A request's document is its code, title, background and goals (their metrics), published on
every request event (each carries the whole state, and every edit of those fields is one);
a lesson's is its title, body and tags, published when it is added (lessons are not edited);
a person's is their name, e-mail and department's name, published on every directory
change of the person or of their department (a renamed department renames it in each of
its people's documents), and removed once they have left. Reindex every record with
``python -m services.requests.search_documents --reindex``.
"""

from __future__ import annotations

from collections.abc import Sequence

from shared.db import Connection
from shared.events.contracts.search import SearchDocumentChanged, SearchKind
from shared.events.envelope import EventEnvelope
from shared.projections import subjects
from shared.search_documents import Indexed, publish, reindex_command
from shared.unit_of_work import UnitOfWork

_REQUESTS = """
SELECT r.id, r.code, r.title, r.background,
       ARRAY(SELECT g.metric FROM goals g WHERE g.request_id = r.id ORDER BY g.position)
           AS goals
  FROM collab_requests r
 WHERE r.id = ANY($1::text[])
"""

_LESSONS = """
SELECT l.id, l.request_id, l.title, l.body, l.tags
  FROM lessons l
 WHERE l.id = ANY($1::text[])
"""

_PEOPLE = """
SELECT p.id, p.name, p.email, p.active, d.name AS department
  FROM people p
  JOIN departments d ON d.id = p.department_id
 WHERE p.id = ANY($1::text[])
"""

_MEMBERS = "SELECT id FROM people WHERE department_id = ANY($1::text[]) ORDER BY id"

REQUEST_EVENTS = ("requests.request.created", "requests.request.updated")
LESSON_EVENTS = ("requests.lesson.added",)
PERSON_EVENTS = ("requests.person.upserted",)
DEPARTMENT_EVENTS = ("requests.department.upserted",)


async def request_documents(conn: Connection, ids: Sequence[str]) -> list[SearchDocumentChanged]:
    rows = await conn.fetch(_REQUESTS, list(ids))
    return [
        SearchDocumentChanged(
            kind=SearchKind.REQUEST,
            id=row["id"],
            request_id=row["id"],
            code=row["code"],
            title=row["title"],
            body="\n".join([row["background"], *row["goals"]]),
        )
        for row in rows
    ]


async def lesson_documents(conn: Connection, ids: Sequence[str]) -> list[SearchDocumentChanged]:
    rows = await conn.fetch(_LESSONS, list(ids))
    return [
        SearchDocumentChanged(
            kind=SearchKind.LESSON,
            id=row["id"],
            request_id=row["request_id"],
            title=row["title"],
            body="\n".join([row["body"], " ".join(row["tags"])]),
        )
        for row in rows
    ]


async def people_documents(conn: Connection, ids: Sequence[str]) -> list[SearchDocumentChanged]:
    rows = await conn.fetch(_PEOPLE, list(ids))
    return [
        SearchDocumentChanged(
            kind=SearchKind.PERSON,
            id=row["id"],
            title=row["name"],
            body="\n".join([row["email"], row["department"]]),
            removed=not row["active"],
        )
        for row in rows
    ]


REQUESTS = Indexed(
    SearchKind.REQUEST,
    request_documents,
    "SELECT id FROM collab_requests WHERE id > $1 ORDER BY id LIMIT $2",
)
LESSONS = Indexed(
    SearchKind.LESSON, lesson_documents, "SELECT id FROM lessons WHERE id > $1 ORDER BY id LIMIT $2"
)
PEOPLE = Indexed(
    SearchKind.PERSON, people_documents, "SELECT id FROM people WHERE id > $1 ORDER BY id LIMIT $2"
)


async def project(uow: UnitOfWork, events: Sequence[EventEnvelope]) -> None:
    """Publish the documents of the requests, lessons and people the unit changed."""
    await publish(uow, REQUESTS, subjects(events, REQUEST_EVENTS))
    await publish(uow, LESSONS, subjects(events, LESSON_EVENTS))
    people = subjects(events, PERSON_EVENTS)
    departments = subjects(events, DEPARTMENT_EVENTS)
    if departments:  # its name is in each of its members' documents
        members = await uow.conn.fetch(_MEMBERS, departments)
        people = list(dict.fromkeys([*people, *(row["id"] for row in members)]))
    await publish(uow, PEOPLE, people)


if __name__ == "__main__":
    reindex_command("requests", [REQUESTS, LESSONS, PEOPLE])
