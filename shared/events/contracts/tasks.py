"""Events emitted by the tasks service."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

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
    source: str = "PLAN"
    parent_id: str | None = None
    is_milestone: bool = False


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


# --- task lifecycle, RACI and deadlines ------------------------------------------------------
# Task events carry the whole RACI (``raci``): C entries are the parties to consult and I
# entries the parties to inform, so routing needs no call back to the tasks service.
# ``recipient_ids`` names the people an alert is addressed to (R and/or A, departments
# resolved to their heads); notify delivers any event that names them, using ``title`` as
# the subject where the event has one.


@event_type("tasks.task.updated")
class TaskUpdated(EventData):
    """Any change of a task (fields, status, progress): carries the new state."""

    id: str
    request_id: str
    title: str
    status: str
    previous_status: str
    progress: int
    due_at: datetime | None = None
    changed: list[str]
    """The fields whose value changed (a value sent again unchanged is not listed)."""
    actor_id: str
    raci: list[RaciEntry]


@event_type("tasks.raci.set")
class RaciSet(EventData):
    """``setRaci`` replaced a task's assignments."""

    task_id: str
    request_id: str
    title: str
    raci: list[RaciEntry]
    previous_raci: list[RaciEntry]
    actor_id: str


@event_type("tasks.task.reminder_due")
class TaskReminderDue(EventData):
    """A task is due in ``offset_minutes`` working minutes of its R's region."""

    task_id: str
    request_id: str
    title: str
    due_at: datetime
    offset_minutes: int
    recipient_ids: list[str]
    raci: list[RaciEntry]


@event_type("tasks.task.overdue")
class TaskOverdue(EventData):
    """A task reached its due time while still open; addressed to its R and A."""

    task_id: str
    request_id: str
    title: str
    due_at: datetime
    recipient_ids: list[str]
    raci: list[RaciEntry]


class OverdueTaskLine(EventData):
    task_id: str
    request_id: str
    title: str
    due_at: datetime


@event_type("tasks.overdue.digest")
class OverdueDigest(EventData):
    """The daily list of open overdue tasks one person is accountable (A) for, addressed to
    them (``recipient_ids`` is ``[accountable_id]``)."""

    accountable_id: str
    local_date: date
    tasks: list[OverdueTaskLine]
    title: str = ""
    recipient_ids: list[str] = Field(default_factory=list)


# --- progress reports (handbook template 3) --------------------------------------------------


@event_type("tasks.report.submitted")
class ProgressReportSubmitted(EventData):
    id: str
    request_id: str
    department_id: str
    period_start: date
    period_end: date
    submitted_by: str
    delayed_task_ids: list[str]
    problem_ids: list[str]


@event_type("tasks.report.reminder")
class ReportReminder(EventData):
    """The report deadline is near and these participating departments have not reported;
    addressed to their heads."""

    request_id: str
    period_start: date
    period_end: date
    deadline: datetime
    department_ids: list[str]
    title: str = ""
    recipient_ids: list[str] = Field(default_factory=list)


@event_type("tasks.report.missing")
class ReportMissing(EventData):
    """A participating department let the report deadline pass without reporting; addressed
    to its head and the head of the request's lead department."""

    request_id: str
    department_id: str
    period_start: date
    period_end: date
    deadline: datetime
    title: str = ""
    recipient_ids: list[str] = Field(default_factory=list)


@event_type("tasks.problem.linked")
class ProblemLinked(EventData):
    """A raised problem now has its issue (from ``issues.issue.reported``)."""

    problem_id: str
    report_id: str
    request_id: str
    issue_id: str


# --- recurring operations --------------------------------------------------------------------


@event_type("tasks.recurring.created")
class RecurringTaskCreated(EventData):
    id: str
    request_id: str
    title: str
    rrule: str
    region_id: str
    created_by: str
