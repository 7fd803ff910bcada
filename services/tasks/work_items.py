"""The work the tasks service asks of people, for notify's ``myWork`` (shared/projections.py).

**Tasks** (source ``TASK:<task id>``): while a task is open (TODO, IN_PROGRESS or BLOCKED)
and its request has not ended, each of its R holders must do it (DO_TASK, RESPONSIBLE): an
entry naming a person is that person's item, even when it also names the person's
department; an entry naming only a department is the department's item (its members and its
head). The item is due when the task is, and at risk from the task's first reminder (the
largest of its reminder offsets, else the service's defaults, counted in working minutes on
the first R's calendar, as the reminders are), or 24 hours before the due time when the task
has no offsets. Tasks have no priority, so the urgency is normal. The lifecycle has no
acceptance step (DONE is set by R or A and needs no sign-off), so the A holder has no items;
C and I are never asked to act.

A task's set is derived again whenever a unit emits ``tasks.task.created`` (a plan task,
an action item of published minutes, a recurring occurrence, a new row of a RACI sheet),
``tasks.task.updated`` (status, due time, title, reminder offsets) or ``tasks.raci.set``
(``setRaci`` and RACI sheet imports); and for every open task of a request whose end
(CLOSED, CANCELLED, REJECTED) the tasks service learns of, since the end stops its tasks
(:mod:`services.tasks.request_end`) while leaving their status as it was. A later change of
the R's region or its calendar moves ``at_risk_at`` only with the task's next change, as it
moves the reminder timers.

**Progress reports** (source ``REPORTING:<request id>``): for a request with a communication
plan that has not ended, each executing department (a participant other than the lead) must
submit its report of each period (SUBMIT_REPORT, EXECUTING_DEPARTMENT, a department item
targeting the request): visible from the period's first day (midnight in the plan's time
zone), due at its deadline, at risk from the deadline's reminder
(``tasks_report_reminder_minutes`` before it). A late report is accepted
(``submitProgressReport`` takes any period of the cadence), so a missed report stays, as an
overdue item, until the department submits it; the chase starts with the first deadline
after the plan was (last) set, the periods whose ``tasks.report.missing`` the deadline timer
announces: a new plan starts it afresh, as it may change the cadence, and a period off the new
cadence can no longer be submitted. The request copy does not say when a department joined,
so a department that joins later owes the periods since the plan too (as ``reportingStatus``
shows them).

The set names every owed period up to and including the first one, from the current period
on, that some department still owes. The deadline timer emits ``tasks.report.missing`` exactly
when a period passes with a report owed, and the set is derived again then; a deadline
passing with every report in emits nothing, so the set already holds what follows it,
waiting for its period to start. It is derived again on ``tasks.report.submitted``,
``tasks.report.missing``, ``requests.communication_plan.set`` and every request event (the
departments taking part, and the end of the request, which settles the set).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from services.tasks import work_repository as repo
from services.tasks.models import CLOSED_STATUSES, RaciAssignment
from services.tasks.reminders.schedule import instant_before
from services.tasks.reports.periods import Period, next_deadline
from services.tasks.reports.timers import reporting_departments
from services.tasks.rules import FINISHED_REQUEST_STATUSES
from services.tasks.work_repository import ReportingState, TaskState
from shared.events.contracts.work import WorkItem, WorkKind, WorkRole, WorkTarget
from shared.events.envelope import EventEnvelope
from shared.projections import publish_records, publish_work, subjects
from shared.unit_of_work import UnitOfWork

TASK_EVENTS = frozenset({"tasks.task.created", "tasks.task.updated", "tasks.raci.set"})
"""Events whose subject is a task whose RACI, status or timing may have changed."""

REQUEST_EVENTS = frozenset({"requests.request.created", "requests.request.updated"})
"""Consumed request events (subject: the request): departments and status."""

REPORTING_EVENTS = frozenset(
    {"requests.communication_plan.set", "tasks.report.missing", *REQUEST_EVENTS}
)
"""Events whose subject is a request whose reporting may have changed."""

REPORT_SUBMITTED = "tasks.report.submitted"
"""Its subject is the report; its data names the request."""

DEFAULT_AT_RISK = timedelta(hours=24)

# --- tasks ---------------------------------------------------------------------------------------


def task_items(task: TaskState) -> list[WorkItem]:
    """The DO_TASK items of one task: one per R holder while it is open and its request runs."""
    if task.status in CLOSED_STATUSES or task.request_finished:
        return []
    at_risk_at = _task_at_risk_at(task)
    items: dict[str, WorkItem] = {}
    for holder in task.responsible:
        item = _responsible_item(task, holder, at_risk_at)
        items.setdefault(item.key, item)  # a person named twice (with two departments) acts once
    return list(items.values())


def _task_at_risk_at(task: TaskState) -> datetime | None:
    """The first reminder's instant, else a day before the due time."""
    if task.due_at is None:
        return None
    offsets = [m for m in task.reminder_offsets if m > 0]
    if not offsets:
        return task.due_at - DEFAULT_AT_RISK
    return instant_before(task.calendar, task.due_at, max(offsets))


def _responsible_item(
    task: TaskState, holder: RaciAssignment, at_risk_at: datetime | None
) -> WorkItem:
    if holder.person_id is not None:
        key, person, department = f"R:person:{holder.person_id}", holder.person_id, None
    else:
        key, person, department = f"R:department:{holder.department_id}", None, holder.department_id
    return WorkItem(
        key=key,
        kind=WorkKind.DO_TASK,
        role=WorkRole.RESPONSIBLE,
        title=task.title,
        target=WorkTarget.TASK,
        target_id=task.id,
        request_id=task.request_id,
        person_id=person,
        department_id=department,
        due_at=task.due_at,
        at_risk_at=at_risk_at,
    )


# --- progress reports ----------------------------------------------------------------------------


def report_items(state: ReportingState, now: datetime, reminder_minutes: int) -> list[WorkItem]:
    """The SUBMIT_REPORT items of one request's reporting (see the module's docstring)."""
    if not state.known or state.finished:
        return []
    departments = reporting_departments(state.lead_department_id, state.participant_department_ids)
    if not departments:
        return []
    items: list[WorkItem] = []
    deadline, period = next_deadline(state.plan, state.plan_set_at)
    while True:
        owed = [d for d in departments if (d, period[0], period[1]) not in state.submitted]
        items.extend(_report_item(state, d, period, deadline, reminder_minutes) for d in owed)
        if owed and deadline > now:
            return items  # the timer speaks at this deadline: derived again then
        deadline, period = next_deadline(state.plan, deadline)


def _report_item(
    state: ReportingState, department: str, period: Period, deadline: datetime, reminder: int
) -> WorkItem:
    first, last = period
    return WorkItem(
        key=f"{department}:{first.isoformat()}",
        kind=WorkKind.SUBMIT_REPORT,
        role=WorkRole.EXECUTING_DEPARTMENT,
        title=f"{state.code} {state.title}: progress report for {first} to {last}",
        target=WorkTarget.REQUEST,
        target_id=state.plan.request_id,
        request_id=state.plan.request_id,
        department_id=department,
        due_at=deadline,
        visible_from=_local_midnight(first, state.plan.time_zone),
        at_risk_at=deadline - timedelta(minutes=reminder),
    )


def _local_midnight(day: date, time_zone: str) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(time_zone)).astimezone(UTC)


# --- the projector -------------------------------------------------------------------------------


async def project(uow: UnitOfWork, events: Sequence[EventEnvelope]) -> None:
    """Publish the whole current set of every task and reporting the events touched."""
    await _project_tasks(uow, events)
    await _project_reporting(uow, events)


def _ended_requests(events: Sequence[EventEnvelope]) -> list[str]:
    """Requests that the events move into an end status (not edits of ended ones)."""
    return subjects(
        [
            e
            for e in events
            if e.data.get("status") in FINISHED_REQUEST_STATUSES
            and e.data.get("previous_status") not in FINISHED_REQUEST_STATUSES
        ],
        REQUEST_EVENTS,
    )


async def _project_tasks(uow: UnitOfWork, events: Sequence[EventEnvelope]) -> None:
    task_ids = subjects(events, TASK_EVENTS)
    ended = _ended_requests(events)
    if ended:
        task_ids.extend(await repo.open_tasks_of_ended_requests(uow.conn, ended))
    defaults = uow.runtime.settings.tasks_reminder_offsets_minutes
    load = partial(repo.load_tasks, default_offsets=defaults)
    await publish_records(uow, "TASK", list(dict.fromkeys(task_ids)), load, task_items)


async def _project_reporting(uow: UnitOfWork, events: Sequence[EventEnvelope]) -> None:
    request_ids = subjects(events, REPORTING_EVENTS)
    request_ids += [str(e.data["request_id"]) for e in events if e.type == REPORT_SUBMITTED]
    if not request_ids:
        return
    now = datetime.now(UTC)
    reminder = uow.runtime.settings.tasks_report_reminder_minutes
    # Only a request with a plan has a reporting record: the others get no set, not an empty
    # one (publish_records would settle each id it is given).
    for state in await repo.load_reporting(uow.conn, list(dict.fromkeys(request_ids))):
        items = report_items(state, now, reminder)
        await publish_work(uow, f"REPORTING:{state.plan.request_id}", items)
