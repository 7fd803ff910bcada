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


@event_type("tasks.problem.raised")
class ProblemRaised(EventData):
    """A problem of a progress report raised as an issue (``raiseProblemAsIssue``).

    The issues service creates the issue and answers with ``issues.issue.reported`` whose
    ``source_problem_id`` is ``problem_id``.
    """

    problem_id: str
    report_id: str
    request_id: str
    task_id: str | None = None
    title: str
    description: str
    impact: str
    attempted_measures: str
    severity: str = "MEDIUM"
    urgent: bool = False
    reporter_id: str
    department_id: str
