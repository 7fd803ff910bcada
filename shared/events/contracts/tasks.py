"""Events emitted by the tasks service."""

from __future__ import annotations

from datetime import datetime

from shared.events.contracts.base import EventData, event_type


class RaciEntry(EventData):
    role: str
    person_id: str | None = None
    department_id: str | None = None


@event_type("tasks.task.created")
class TaskCreated(EventData):
    id: str
    request_id: str
    title: str
    due_at: datetime | None = None
    raci: list[RaciEntry]
    created_by: str
