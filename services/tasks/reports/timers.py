"""The report deadline of each request on the shared timer: a reminder before it, and
``tasks.report.missing`` for each participating department that let it pass.

Both timers carry the period they are for; the deadline handler arms the next period's
pair, so the rhythm continues without a cron. A new communication plan moves both.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from services.tasks.reports import repository as repo
from services.tasks.reports.models import ReportPlan
from services.tasks.reports.periods import next_deadline
from shared.events.contracts.tasks import ReportMissing, ReportReminder
from shared.replicas import get_request
from shared.timers import TimerRow
from shared.unit_of_work import UnitOfWork

REMINDER_TIMER = "report.reminder"
DEADLINE_TIMER = "report.deadline"


def reporting_departments(lead: str, participants: tuple[str, ...]) -> list[str]:
    """The executing departments report (template 3); the lead runs the meeting."""
    return [d for d in dict.fromkeys(participants) if d != lead]


async def arm_report_timers(uow: UnitOfWork, plan: ReportPlan, after: datetime) -> None:
    deadline, (start, end) = next_deadline(plan, after)
    payload: dict[str, object] = {
        "period_start": start.isoformat(),
        "period_end": end.isoformat(),
        "deadline": deadline.isoformat(),
    }
    await uow.arm_timer(DEADLINE_TIMER, plan.request_id, deadline, payload)
    remind_at = deadline - timedelta(minutes=uow.runtime.settings.tasks_report_reminder_minutes)
    if remind_at > datetime.now(UTC):
        await uow.arm_timer(REMINDER_TIMER, plan.request_id, remind_at, payload)
    else:
        await uow.cancel_timer(REMINDER_TIMER, plan.request_id)


async def _missing(uow: UnitOfWork, timer: TimerRow) -> tuple[list[str], list[str]]:
    """(departments that have not reported for the timer's period, all request departments)."""
    request = await get_request(uow.conn, timer.subject)
    if request is None:
        return [], []
    start = date.fromisoformat(timer.payload["period_start"])
    end = date.fromisoformat(timer.payload["period_end"])
    done = await repo.submitted_departments(uow.conn, request.id, start, end)
    expected = reporting_departments(request.lead_department_id, request.participant_department_ids)
    return [d for d in expected if d not in done], list(request.departments)


async def report_reminder_due(uow: UnitOfWork, timer: TimerRow) -> None:
    missing, departments = await _missing(uow, timer)
    if not missing:
        return
    data = ReportReminder(
        request_id=timer.subject,
        period_start=timer.payload["period_start"],
        period_end=timer.payload["period_end"],
        deadline=timer.payload["deadline"],
        department_ids=missing,
    )
    await uow.emit("tasks.report.reminder", timer.subject, data, departments=departments)


async def report_deadline_due(uow: UnitOfWork, timer: TimerRow) -> None:
    missing, departments = await _missing(uow, timer)
    for department in missing:
        data = ReportMissing(
            request_id=timer.subject,
            department_id=department,
            period_start=timer.payload["period_start"],
            period_end=timer.payload["period_end"],
            deadline=timer.payload["deadline"],
        )
        await uow.emit("tasks.report.missing", timer.subject, data, departments=departments)
    plans = await repo.plans_by_request_ids(uow.conn, [timer.subject])
    if timer.subject in plans:
        # From the deadline just passed, not from now: no period is skipped after downtime.
        passed = datetime.fromisoformat(timer.payload["deadline"])
        await arm_report_timers(uow, plans[timer.subject], passed)


TIMER_HANDLERS = {REMINDER_TIMER: report_reminder_due, DEADLINE_TIMER: report_deadline_due}
