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

STATUS_MOVES: dict[TaskStatus, frozenset[TaskStatus]] = {
    TaskStatus.TODO: frozenset({TaskStatus.IN_PROGRESS, TaskStatus.BLOCKED, TaskStatus.CANCELLED}),
    TaskStatus.IN_PROGRESS: frozenset(
        {TaskStatus.TODO, TaskStatus.BLOCKED, TaskStatus.DONE, TaskStatus.CANCELLED}
    ),
    TaskStatus.BLOCKED: frozenset({TaskStatus.TODO, TaskStatus.IN_PROGRESS, TaskStatus.CANCELLED}),
    # Reopening a finished task sends it back to work; a cancelled one back to the plan.
    TaskStatus.DONE: frozenset({TaskStatus.IN_PROGRESS}),
    TaskStatus.CANCELLED: frozenset({TaskStatus.TODO}),
}
"""Allowed status moves; DONE is reached only from IN_PROGRESS (work was started)."""

STARTED_STATUSES = frozenset({TaskStatus.IN_PROGRESS, TaskStatus.DONE})
"""Statuses that mean work has begun: finish-to-start dependencies must be finished first.

A dependency is finished when DONE or CANCELLED: cancelled work will never be done, so
waiting for it would hold the dependent up for good. The link stays (``dependsOn`` shows
it) for the planner to re-plan; reopening the cancelled task later does not stop work that
has already started.
"""


class TaskSource(StrEnum):
    PLAN = "PLAN"
    ACTION_ITEM = "ACTION_ITEM"
    RECURRING = "RECURRING"


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
    parent_id: str | None = None
    phase: str | None = None
    is_milestone: bool = False
    progress: int = 0
    planned_start: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    source: TaskSource = TaskSource.PLAN
    source_ref: str | None = None
    recurring_task_id: str | None = None
    region_id: str | None = None
    reminder_offsets: tuple[int, ...] | None = None

    @property
    def is_open(self) -> bool:
        return self.status not in CLOSED_STATUSES

    def is_overdue(self, now: datetime) -> bool:
        """Past its due time and still open."""
        return self.due_at is not None and self.due_at < now and self.is_open


class TaskSort(StrEnum):
    """The orders of the ``tasks`` list, each ending with the id so that ties keep their place."""

    DUE_SOONEST = "DUE_SOONEST"
    UPDATED_NEWEST = "UPDATED_NEWEST"
    CREATED_OLDEST = "CREATED_OLDEST"


@dataclass(frozen=True)
class TaskFilter:
    """What the ``tasks`` list keeps: every condition set must hold (None: not filtered)."""

    request_id: str | None = None
    assignee_id: str | None = None
    role: RaciRole | None = None
    """With ``assignee_id``: the role the person holds (None: any)."""
    department_id: str | None = None
    statuses: tuple[TaskStatus, ...] = ()
    """Any of these (empty: every status)."""
    due_after: datetime | None = None
    """Due at or after this instant."""
    due_before: datetime | None = None
    """Due before this instant."""
    overdue: bool | None = None
    source: TaskSource | None = None
    text: str | None = None


@dataclass(frozen=True)
class NewTask:
    request_id: str
    title: str
    raci: tuple[RaciAssignment, ...]
    description: str = ""
    due_at: datetime | None = None
    parent_id: str | None = None
    phase: str | None = None
    is_milestone: bool = False
    planned_start: datetime | None = None
    depends_on: tuple[str, ...] = ()
    reminder_offsets: tuple[int, ...] | None = None
    source: TaskSource = TaskSource.PLAN
    source_ref: str | None = None
    recurring_task_id: str | None = None
    region_id: str | None = None


class Unset:
    """Marker of an update field the caller left out (distinct from setting it to null)."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET = Unset()


@dataclass(frozen=True)
class TaskChanges:
    """``updateTask``: only fields that are not :data:`UNSET` change."""

    task_id: str
    title: str | Unset = UNSET
    description: str | Unset = UNSET
    phase: str | Unset | None = UNSET
    due_at: datetime | Unset | None = UNSET
    planned_start: datetime | Unset | None = UNSET
    parent_id: str | Unset | None = UNSET
    is_milestone: bool | Unset = UNSET
    depends_on: tuple[str, ...] | Unset = UNSET
    status: TaskStatus | Unset = UNSET
    progress: int | Unset = UNSET
    reminder_offsets: tuple[int, ...] | Unset | None = UNSET

    def given(self) -> dict[str, object]:
        """The fields set in this update, by name."""
        names = [n for n in self.__dataclass_fields__ if n != "task_id"]
        return {n: getattr(self, n) for n in names if not isinstance(getattr(self, n), Unset)}
