"""GraphQL inputs of the tasks subgraph's mutations, each with its conversion to a command."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import strawberry

from services.tasks import models
from services.tasks.recurring.service import NewRecurringTask
from services.tasks.reports import models as rm
from shared.graphql.errors import PublicError


def _given(value: Any) -> Any:
    """Strawberry's UNSET (field left out) becomes the domain's UNSET."""
    return models.UNSET if value is strawberry.UNSET else value


@strawberry.input(description="One RACI assignment: a role for a person, a department or both.")
class RaciInput:
    role: models.RaciRole = strawberry.field(description="R, A, C or I.")
    person_id: strawberry.ID | None = strawberry.field(
        default=None, description="Person holding the role (required for A)."
    )
    department_id: strawberry.ID | None = strawberry.field(
        default=None, description="Department holding the role."
    )

    def to_model(self) -> models.RaciAssignment:
        return models.RaciAssignment(self.role, self.person_id, self.department_id)


@strawberry.input(
    description="Which tasks the `tasks` list keeps: every field given must hold; fields left"
    " out (or null) do not filter."
)
class TaskFilter:
    request_id: strawberry.ID | None = strawberry.field(
        default=None, description="Tasks of this request."
    )
    assignee_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Tasks on whose RACI this person holds `role` (any role if `role` is"
        " null); an entry naming only a department counts for its head, as in"
        " `Person.assignments`.",
    )
    role: models.RaciRole | None = strawberry.field(
        default=None,
        description="With `assigneeId` (refused without it): the role the person holds.",
    )
    department_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Tasks on whose RACI this department holds a role (alone or with a person"
        " of it).",
    )
    statuses: list[models.TaskStatus] | None = strawberry.field(
        default=None, description="Tasks in any of these statuses (empty: every status)."
    )
    due_after: datetime | None = strawberry.field(
        default=None,
        description="Tasks due at or after this instant (inclusive); tasks without a due time"
        " are in no range.",
    )
    due_before: datetime | None = strawberry.field(
        default=None,
        description="Tasks due before this instant (exclusive); not before `dueAfter`.",
    )
    overdue: bool | None = strawberry.field(
        default=None,
        description="true: due before now and neither DONE nor CANCELLED (`isOverdue`);"
        " false: every other task.",
    )
    source: models.TaskSource | None = strawberry.field(
        default=None, description="Tasks that came from this source."
    )
    text: str | None = strawberry.field(
        default=None,
        description="Words that must all occur in the title or description, Chinese or"
        " English (parts of words too: 复盘 finds 项目复盘会; case and width do not matter).",
    )

    def to_filter(self) -> models.TaskFilter:
        """The filter as plain values; an inverted due range, or a role without the person
        holding it, is refused."""
        if self.due_after and self.due_before and self.due_after > self.due_before:
            raise PublicError("`filter.dueAfter` must not be later than `filter.dueBefore`")
        if self.role is not None and self.assignee_id is None:
            raise PublicError("`filter.role` needs `filter.assigneeId`: whose role it is")
        return models.TaskFilter(
            request_id=self.request_id,
            assignee_id=self.assignee_id,
            role=self.role,
            department_id=self.department_id,
            statuses=tuple(self.statuses or ()),
            due_after=self.due_after,
            due_before=self.due_before,
            overdue=self.overdue,
            source=self.source,
            text=self.text,
        )


@strawberry.input(description="A new task of a request; it starts as TODO.")
class CreateTaskInput:
    request_id: strawberry.ID = strawberry.field(description="The request the task belongs to.")
    title: str = strawberry.field(description="Short title (1-200 characters).")
    raci: list[RaciInput] = strawberry.field(
        description="RACI assignments: exactly one A (a person) and at least one R."
    )
    description: str = strawberry.field(default="", description="What is to be done.")
    due_at: datetime | None = strawberry.field(
        default=None, description="When it is due, with a UTC offset."
    )
    planned_start: datetime | None = strawberry.field(
        default=None, description="When work is planned to start, with a UTC offset."
    )
    parent_id: strawberry.ID | None = strawberry.field(
        default=None, description="The task this one is part of (same request)."
    )
    depends_on: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="Tasks that must be DONE before this one starts."
    )
    is_milestone: bool = strawberry.field(default=False, description="Mark as a milestone.")
    phase: str | None = strawberry.field(default=None, description="Request phase, if any.")
    reminder_offsets_minutes: list[int] | None = strawberry.field(
        default=None,
        description="Reminders, in working minutes before due (default 1440 and 120).",
    )

    def to_command(self) -> models.NewTask:
        offsets = self.reminder_offsets_minutes
        return models.NewTask(
            request_id=self.request_id,
            title=self.title,
            raci=tuple(r.to_model() for r in self.raci),
            description=self.description,
            due_at=self.due_at,
            planned_start=self.planned_start,
            parent_id=self.parent_id,
            depends_on=tuple(self.depends_on),
            is_milestone=self.is_milestone,
            phase=self.phase,
            reminder_offsets=tuple(offsets) if offsets is not None else None,
        )


@strawberry.input(description="Changes to a task; fields left out stay as they are.")
class UpdateTaskInput:
    task_id: strawberry.ID = strawberry.field(description="The task to change.")
    title: str | None = strawberry.field(default=strawberry.UNSET, description="New title.")
    description: str | None = strawberry.field(
        default=strawberry.UNSET, description="New description."
    )
    phase: str | None = strawberry.field(default=strawberry.UNSET, description="New phase.")
    due_at: datetime | None = strawberry.field(
        default=strawberry.UNSET, description="New due time (null clears it); moves reminders."
    )
    planned_start: datetime | None = strawberry.field(
        default=strawberry.UNSET, description="New planned start (null clears it)."
    )
    parent_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="New parent task (null makes it top-level)."
    )
    depends_on: list[strawberry.ID] | None = strawberry.field(
        default=strawberry.UNSET, description="Replaces the finish-to-start dependencies."
    )
    is_milestone: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Mark or unmark as a milestone."
    )
    status: models.TaskStatus | None = strawberry.field(
        default=strawberry.UNSET, description="Move the status (DONE sets progress to 100)."
    )
    progress: int | None = strawberry.field(
        default=strawberry.UNSET, description="Percent complete, 0 to 100."
    )
    reminder_offsets_minutes: list[int] | None = strawberry.field(
        default=strawberry.UNSET, description="Reminder offsets (null restores the defaults)."
    )

    def to_changes(self) -> models.TaskChanges:
        values: dict[str, Any] = {
            "title": _given(self.title),
            "description": _given(self.description),
            "phase": _given(self.phase),
            "due_at": _given(self.due_at),
            "planned_start": _given(self.planned_start),
            "parent_id": _given(self.parent_id),
            "is_milestone": _given(self.is_milestone),
            "status": _given(self.status),
            "progress": _given(self.progress),
        }
        # Null is no value for these: left as they are rather than guessed.
        for name in ("title", "description", "is_milestone", "status", "progress"):
            if values[name] is None:
                values[name] = models.UNSET
        depends_on = _given(self.depends_on)
        values["depends_on"] = (
            depends_on if isinstance(depends_on, models.Unset) else tuple(depends_on or ())
        )
        offsets = _given(self.reminder_offsets_minutes)
        values["reminder_offsets"] = (
            offsets if isinstance(offsets, models.Unset) or offsets is None else tuple(offsets)
        )
        return models.TaskChanges(task_id=self.task_id, **values)


@strawberry.input(description="Replace a task's RACI assignments.")
class SetRaciInput:
    task_id: strawberry.ID = strawberry.field(description="The task.")
    assignments: list[RaciInput] = strawberry.field(
        description="The new assignments: exactly one A (a person) and at least one R."
    )


@strawberry.input(description="Plan versus actual for one task.")
class ReportItemInput:
    task_id: strawberry.ID = strawberry.field(description="A task of the request.")
    planned_progress: int = strawberry.field(description="Percent the plan expected by now.")
    actual_progress: int = strawberry.field(description="Percent actually done.")
    status: models.TaskStatus = strawberry.field(description="Status as of the report.")
    delay_reason: str | None = strawberry.field(
        default=None, description="Required when behind plan or blocked."
    )


@strawberry.input(description="A problem: what, its impact, and what was tried.")
class ReportProblemInput:
    description: str = strawberry.field(description="What the problem is.")
    impact: str = strawberry.field(description="What it affects.")
    attempted_measures: str = strawberry.field(description="What was already tried.")
    task_id: strawberry.ID | None = strawberry.field(
        default=None, description="The task it concerns, if one."
    )


@strawberry.input(description="A resource to be coordinated.")
class ResourceRequestInput:
    description: str = strawberry.field(description="What is needed.")
    provider_department_id: strawberry.ID | None = strawberry.field(
        default=None, description="The department asked to provide it."
    )


@strawberry.input(description="A department's progress report (template 3) for one period.")
class SubmitProgressReportInput:
    request_id: strawberry.ID = strawberry.field(description="The request.")
    department_id: strawberry.ID = strawberry.field(description="The reporting department.")
    period_start: date = strawberry.field(
        description="First day of one period of the communication plan's cadence: a Monday"
        " (WEEKLY), the 1st (MONTHLY); either while the request has no plan."
    )
    period_end: date = strawberry.field(
        description="Last day of that period: the Sunday, or the month's last day."
    )
    items: list[ReportItemInput] = strawberry.field(
        default_factory=list, description="Plan versus actual per task."
    )
    problems: list[ReportProblemInput] = strawberry.field(
        default_factory=list, description="Problems met."
    )
    resource_requests: list[ResourceRequestInput] = strawberry.field(
        default_factory=list, description="Resources to coordinate."
    )

    def to_command(self) -> rm.NewProgressReport:
        return rm.NewProgressReport(
            request_id=self.request_id,
            department_id=self.department_id,
            period_start=self.period_start,
            period_end=self.period_end,
            items=tuple(
                rm.ReportItem(
                    i.task_id, i.planned_progress, i.actual_progress, i.status, i.delay_reason
                )
                for i in self.items
            ),
            problems=tuple(
                rm.NewProblem(p.description, p.impact, p.attempted_measures, p.task_id)
                for p in self.problems
            ),
            resource_requests=tuple(
                rm.ResourceRequest(r.description, r.provider_department_id)
                for r in self.resource_requests
            ),
        )


@strawberry.input(description="Raise a reported problem as an issue in the issue log.")
class RaiseProblemAsIssueInput:
    problem_id: strawberry.ID = strawberry.field(description="The problem of a progress report.")
    severity: str = strawberry.field(default="MEDIUM", description="CRITICAL, HIGH, MEDIUM or LOW.")
    urgent: bool = strawberry.field(
        default=False, description="Green channel: a plan is due within 2 hours."
    )


@strawberry.input(description="A recurring operation, e.g. the monthly finance close.")
class CreateRecurringTaskInput:
    request_id: strawberry.ID = strawberry.field(description="The request.")
    title: str = strawberry.field(description="Title of each regional instance.")
    rrule: str = strawberry.field(
        description="RFC 5545 RRULE in local time, e.g."
        " `FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=3;BYHOUR=18;BYMINUTE=0` (3rd business"
        " day at 18:00; MO-FR with BYSETPOS counts the region's business days)."
    )
    region_id: strawberry.ID = strawberry.field(description="Region whose time zone anchors it.")
    accountable_person_id: strawberry.ID = strawberry.field(description="A of every task.")
    consolidation_title: str = strawberry.field(description="Title of the consolidation task.")
    description: str = strawberry.field(default="", description="What is to be done each time.")
    starts_at: datetime | None = strawberry.field(
        default=None, description="DTSTART (default: now); its offset is read in the region."
    )
    consolidation_department_id: strawberry.ID | None = strawberry.field(
        default=None, description="R of the consolidation (default: the lead department)."
    )
    consolidation_business_days: int = strawberry.field(
        default=2, description="Business days after the last regional due time."
    )

    def to_command(self) -> NewRecurringTask:
        return NewRecurringTask(
            request_id=self.request_id,
            title=self.title,
            rrule=self.rrule,
            region_id=self.region_id,
            accountable_id=self.accountable_person_id,
            consolidation_title=self.consolidation_title,
            description=self.description,
            dtstart=self.starts_at,
            consolidation_department_id=self.consolidation_department_id,
            consolidation_business_days=self.consolidation_business_days,
        )
