"""The tasks service's domain objects and commands (plain data, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class TaskStatus(StrEnum):
    TODO = "TODO"
    IN_PROGRESS = "IN_PROGRESS"
    BLOCKED = "BLOCKED"
    DONE = "DONE"
    CANCELLED = "CANCELLED"


CLOSED_STATUSES = frozenset({TaskStatus.DONE, TaskStatus.CANCELLED})


class RaciRole(StrEnum):
    R = "R"
    A = "A"
    C = "C"
    I = "I"  # noqa: E741 - the RACI letter is the domain's name


@dataclass(frozen=True)
class RaciAssignment:
    """One cell of the RACI matrix: a role held by a person, a department or both."""

    role: RaciRole
    person_id: str | None = None
    department_id: str | None = None


@dataclass(frozen=True)
class Task:
    id: str
    request_id: str
    title: str
    description: str
    status: TaskStatus
    due_at: datetime | None
    created_by: str
    created_at: datetime
    updated_at: datetime

    def is_overdue(self, now: datetime) -> bool:
        """Past its due time and still open."""
        return self.due_at is not None and self.due_at < now and self.status not in CLOSED_STATUSES


@dataclass(frozen=True)
class NewTask:
    request_id: str
    title: str
    raci: tuple[RaciAssignment, ...]
    description: str = ""
    due_at: datetime | None = None
