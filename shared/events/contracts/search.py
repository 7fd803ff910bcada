"""What the search box finds, as each owning service derives it (internal: notify's ``search``).

One event carries the whole searchable document of one record (a request, a task, an issue,
a lesson, a person). The consumer keeps, per record, the document of the latest event (by
event time) and drops older ones; a ``removed`` document is no longer found.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from shared.events.contracts.base import EventData, event_type


class SearchKind(StrEnum):
    """The kinds of record the search box finds."""

    REQUEST = "REQUEST"
    TASK = "TASK"
    ISSUE = "ISSUE"
    LESSON = "LESSON"
    PERSON = "PERSON"


@event_type("search.document.changed", internal=True)
class SearchDocumentChanged(EventData):
    """The whole current searchable text of one record, after any change to it."""

    kind: SearchKind
    id: str
    """The record's id: ``request(id)``, ``task(id)``, ``issue(id)``, a lesson's or a person's."""
    request_id: str | None = None
    """The request the record belongs to (a request's own id); null for a person. Who may
    see that request may find the record."""
    code: str | None = None
    """The record's readable code (``CR-2026-0001``, ``ISS-2026-0001``); null where none."""
    title: str = ""
    """What the result list shows: a title, or a person's name."""
    body: str = ""
    """The other text the record is found by: a request's background and goals, a task's or
    an issue's description, a lesson's body and tags, a person's e-mail and department."""
    departments: list[str] = Field(default_factory=list)
    """Departments that may find the record even when they do not take part in its request
    (an issue's lead and responsible departments, as the issues service lets them see it)."""
    removed: bool = False
    """The record must no longer be found (a person who left, a record that is gone)."""
