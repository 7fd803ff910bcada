"""The report deadline of each request on the shared timer: a reminder before it to the
heads of the executing departments that have not reported, and ``tasks.report.missing`` for
each department that let it pass, to its head and the lead department's head.

Both timers carry the period they are for; the deadline handler arms the next period's
pair, so the rhythm continues without a cron. A new communication plan moves both; the end
of the request stops both (:mod:`services.tasks.request_end`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from services.tasks.parties import department_name, heads_of
from services.tasks.reports import repository as repo
from services.tasks.reports.models import ReportPlan
from services.tasks.reports.periods import next_deadline
from services.tasks.rules import request_finished
from shared.events.contracts.tasks import ReportMissing, ReportReminder
from shared.replicas import RequestReplica, get_request
from shared.timers import TimerRow
from shared.unit_of_work import UnitOfWork

REMINDER_TIMER = "report.reminder"
DEADLINE_TIMER = "report.deadline"


def reporting_departments(lead: str, participants: tuple[str, ...]) -> list[str]:
    """The executing departments report (template 3); the lead runs the meeting."""
    return [d for d in dict.fromkeys(participants) if d != lead]


async def arm_report_timers(
    uow: UnitOfWork, plan: ReportPlan, after: datetime, now: datetime
) -> None:
    """Arm the first deadline after ``after`` and its reminder, unless that is past ``now``."""
    deadline, (start, end) = next_deadline(plan, after)
    payload: dict[str, object] = {
        "period_start": start.isoformat(),
        "period_end": end.isoformat(),
        "deadline": deadline.isoformat(),
    }
    await uow.arm_timer(DEADLINE_TIMER, plan.request_id, deadline, payload)
    remind_at = deadline - timedelta(minutes=uow.runtime.settings.tasks_report_reminder_minutes)
    if remind_at > now:
        await uow.arm_timer(REMINDER_TIMER, plan.request_id, remind_at, payload)
    else:
        await uow.cancel_timer(REMINDER_TIMER, plan.request_id)


def _period(timer: TimerRow) -> tuple[date, date]:
    return (
        date.fromisoformat(timer.payload["period_start"]),
        date.fromisoformat(timer.payload["period_end"]),
    )


async def _missing(uow: UnitOfWork, request: RequestReplica, timer: TimerRow) -> list[str]:
    """The executing departments that have not reported for the timer's period."""
    start, end = _period(timer)
    done = await repo.submitted_departments(uow.conn, request.id, start, end)
    expected = reporting_departments(request.lead_department_id, request.participant_department_ids)
    return [d for d in expected if d not in done]


def _title(request: RequestReplica, timer: TimerRow, what: str) -> str:
    start, end = _period(timer)
    return f"{request.code} {request.title}: {what} for {start} to {end}"


async def report_reminder_due(uow: UnitOfWork, timer: TimerRow) -> None:
    """Remind the heads of the executing departments that have not reported yet."""
    request = await get_request(uow.conn, timer.subject)
    if request is None or request_finished(request):
        return
    missing = await _missing(uow, request, timer)
    if not missing:
        return
    data = ReportReminder(
        request_id=request.id,
        period_start=timer.payload["period_start"],
        period_end=timer.payload["period_end"],
        deadline=timer.payload["deadline"],
        department_ids=missing,
        title=_title(request, timer, "progress report due"),
        recipient_ids=await heads_of(uow.conn, missing),
    )
    await uow.emit("tasks.report.reminder", request.id, data, departments=list(request.departments))


async def _announce_missing(uow: UnitOfWork, request: RequestReplica, timer: TimerRow) -> None:
    """One event per department that let the deadline pass: to its head and the lead's."""
    for department in await _missing(uow, request, timer):
        name = await department_name(uow.conn, department)
        data = ReportMissing(
            request_id=request.id,
            department_id=department,
            period_start=timer.payload["period_start"],
            period_end=timer.payload["period_end"],
            deadline=timer.payload["deadline"],
            title=_title(request, timer, f"no progress report from {name}"),
            recipient_ids=await heads_of(uow.conn, [department, request.lead_department_id]),
        )
        await uow.emit(
            "tasks.report.missing", request.id, data, departments=list(request.departments)
        )


async def report_deadline_due(uow: UnitOfWork, timer: TimerRow) -> None:
    """Announce the departments that did not report, then arm the next period's timers."""
    request = await get_request(uow.conn, timer.subject)
    if request_finished(request):
        return  # the rhythm ends with the request: nothing announced, nothing re-armed
    if request is not None:
        await _announce_missing(uow, request, timer)
    plans = await repo.plans_by_request_ids(uow.conn, [timer.subject])
    if timer.subject in plans:
        # From the deadline just passed, not from now: no period is skipped after downtime.
        passed = datetime.fromisoformat(timer.payload["deadline"])
        await arm_report_timers(uow, plans[timer.subject], passed, datetime.now(UTC))


TIMER_HANDLERS = {REMINDER_TIMER: report_reminder_due, DEADLINE_TIMER: report_deadline_due}
