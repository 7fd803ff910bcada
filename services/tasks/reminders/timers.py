"""Arming and firing a task's reminder, overdue and digest timers.

Each task has at most one ``task.reminder`` timer (the next reminder; when it fires it arms
the following one) and one ``task.overdue`` timer at its due time; each accountable person
has one ``task.overdue_digest`` timer while they own overdue tasks. :func:`schedule_task`
is idempotent: it leaves a timer alone when its deadline is unchanged, so a fired alert is
not re-armed (and sent again) by an unrelated edit. Firing itself is exactly once per
timer version (:mod:`shared.timer_firing`), and handlers re-check the task and its request,
so a timer that outlived a change, or the end of the request, does nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.tasks import repository as repo
from services.tasks.models import RaciRole, Task
from services.tasks.parties import (
    people_in_roles,
    person_time_zone,
    raci_entries,
    responsible_calendar,
)
from services.tasks.reminders.schedule import next_local_hour, next_reminder
from services.tasks.rules import FINISHED_REQUEST_STATUSES, request_finished
from shared.db import Connection
from shared.events.contracts.tasks import (
    OverdueDigest,
    OverdueTaskLine,
    TaskOverdue,
    TaskReminderDue,
)
from shared.replicas import get_request
from shared.timers import TimerRow
from shared.unit_of_work import UnitOfWork

REMINDER_TIMER = "task.reminder"
OVERDUE_TIMER = "task.overdue"
DIGEST_TIMER = "task.overdue_digest"


async def _timer(conn: Connection, kind: str, subject: str) -> Any:
    return await conn.fetchrow(
        "SELECT due_at, payload, fired_at FROM timers WHERE kind = $1 AND subject = $2",
        kind,
        subject,
    )


async def _ensure(
    uow: UnitOfWork, kind: str, subject: str, due_at: datetime, payload: dict[str, object]
) -> None:
    """Arm unless a timer for the same alert exists (fired or not): none is sent twice.

    The payload names the alert (due time, offset, instant); the row's own ``due_at`` is not
    compared, so an operator moving a row does not count as a new alert.
    """
    existing = await _timer(uow.conn, kind, subject)
    if existing is not None and existing["payload"] == payload:
        return
    await uow.arm_timer(kind, subject, due_at, payload)


def offsets_of(uow: UnitOfWork, task: Task) -> tuple[int, ...]:
    if task.reminder_offsets is not None:
        return task.reminder_offsets
    return tuple(uow.runtime.settings.tasks_reminder_offsets_minutes)


async def schedule_task(uow: UnitOfWork, task: Task) -> None:
    """Bring a task's reminder and overdue timers in line with its due time and status."""
    if task.due_at is None or not task.is_open:
        await uow.cancel_timer(REMINDER_TIMER, task.id)
        await uow.cancel_timer(OVERDUE_TIMER, task.id)
        return
    due_iso = task.due_at.isoformat()
    await _ensure(uow, OVERDUE_TIMER, task.id, task.due_at, {"due_at": due_iso})
    raci = (await repo.raci_by_task_ids(uow.conn, [task.id])).get(task.id, [])
    calendar = await responsible_calendar(uow.conn, raci)
    upcoming = next_reminder(calendar, task.due_at, offsets_of(uow, task), datetime.now(UTC))
    if upcoming is None:
        await uow.cancel_timer(REMINDER_TIMER, task.id)
        return
    instant, offset = upcoming
    payload: dict[str, object] = {"due_at": due_iso, "offset": offset, "at": instant.isoformat()}
    await _ensure(uow, REMINDER_TIMER, task.id, instant, payload)


async def _live_task(uow: UnitOfWork, timer: TimerRow) -> tuple[Task, list[str]] | None:
    """The timer's task and its request's departments, if the task is still open and due
    when the timer was armed for, and its request has not ended."""
    task = (await repo.tasks_by_ids(uow.conn, [timer.subject])).get(timer.subject)
    if task is None or not task.is_open or task.due_at is None:
        return None
    if task.due_at.isoformat() != timer.payload.get("due_at"):
        return None
    request = await get_request(uow.conn, task.request_id)
    if request_finished(request):
        return None
    return task, list(request.departments) if request else []


async def reminder_due(uow: UnitOfWork, timer: TimerRow) -> None:
    """Remind the R people, then arm the next (smaller) offset's reminder."""
    live = await _live_task(uow, timer)
    if live is None:
        return
    task, departments = live
    assert task.due_at is not None  # _live_task checked it
    if datetime.now(UTC) >= task.due_at:
        return  # already due: the overdue alert speaks from here on
    raci = (await repo.raci_by_task_ids(uow.conn, [task.id])).get(task.id, [])
    data = TaskReminderDue(
        task_id=task.id,
        request_id=task.request_id,
        title=task.title,
        due_at=task.due_at,
        offset_minutes=int(timer.payload["offset"]),
        recipient_ids=await people_in_roles(uow.conn, raci, {RaciRole.R}),
        raci=raci_entries(raci),
    )
    await uow.emit("tasks.task.reminder_due", task.id, data, departments=departments)
    calendar = await responsible_calendar(uow.conn, raci)
    # Only smaller offsets follow: the reminder just sent is never chosen again.
    smaller = [m for m in offsets_of(uow, task) if m < data.offset_minutes]
    following = next_reminder(calendar, task.due_at, smaller, timer.due_at)
    if following is not None:
        instant, offset = following
        payload: dict[str, object] = {
            "due_at": task.due_at.isoformat(),
            "offset": offset,
            "at": instant.isoformat(),
        }
        await uow.arm_timer(REMINDER_TIMER, task.id, instant, payload)


async def task_overdue(uow: UnitOfWork, timer: TimerRow) -> None:
    """Tell R and A the task is overdue; make sure A's daily digest is running."""
    live = await _live_task(uow, timer)
    if live is None:
        return
    task, departments = live
    assert task.due_at is not None  # _live_task checked it
    raci = (await repo.raci_by_task_ids(uow.conn, [task.id])).get(task.id, [])
    data = TaskOverdue(
        task_id=task.id,
        request_id=task.request_id,
        title=task.title,
        due_at=task.due_at,
        recipient_ids=await people_in_roles(uow.conn, raci, {RaciRole.R, RaciRole.A}),
        raci=raci_entries(raci),
    )
    await uow.emit("tasks.task.overdue", task.id, data, departments=departments)
    accountable = next((a.person_id for a in raci if a.role is RaciRole.A and a.person_id), None)
    if accountable is not None:
        await _ensure_digest(uow, accountable)


async def _ensure_digest(uow: UnitOfWork, person_id: str) -> None:
    existing = await _timer(uow.conn, DIGEST_TIMER, person_id)
    if existing is not None and existing["fired_at"] is None:
        return  # already running
    await _arm_digest(uow, person_id, datetime.now(UTC))


async def _arm_digest(uow: UnitOfWork, person_id: str, after: datetime) -> None:
    zone = await person_time_zone(uow.conn, person_id)
    hour = uow.runtime.settings.tasks_overdue_digest_hour
    instant, local_day = next_local_hour(zone, hour, after)
    await uow.arm_timer(DIGEST_TIMER, person_id, instant, {"local_date": local_day.isoformat()})


async def overdue_digest(uow: UnitOfWork, timer: TimerRow) -> None:
    """Send an A the day's list of their open overdue tasks of requests that have not ended;
    stop when there are none."""
    rows = await uow.conn.fetch(
        """
        SELECT t.id, t.request_id, t.title, t.due_at
          FROM tasks t JOIN raci_assignments a ON a.task_id = t.id
         WHERE a.role = 'A' AND a.person_id = $1 AND t.due_at < now()
           AND t.status NOT IN ('DONE', 'CANCELLED')
           AND NOT EXISTS (SELECT 1 FROM request_replicas r
                            WHERE r.id = t.request_id AND r.status = ANY($2))
         ORDER BY t.due_at, t.id
        """,
        timer.subject,
        list(FINISHED_REQUEST_STATUSES),
    )
    if not rows:
        return  # nothing overdue any more: the digest stops until the next overdue task
    lines = [
        OverdueTaskLine(
            task_id=r["id"], request_id=r["request_id"], title=r["title"], due_at=r["due_at"]
        )
        for r in rows
    ]
    data = OverdueDigest(
        accountable_id=timer.subject,
        local_date=timer.payload["local_date"],
        tasks=lines,
        title=f"{len(lines)} overdue task(s) you are accountable for",
        recipient_ids=[timer.subject],
    )
    await uow.emit("tasks.overdue.digest", timer.subject, data)
    # From now, not from the missed deadline: a worker back after days sends one digest.
    await _arm_digest(uow, timer.subject, max(timer.due_at, datetime.now(UTC)))


TIMER_HANDLERS = {
    REMINDER_TIMER: reminder_due,
    OVERDUE_TIMER: task_overdue,
    DIGEST_TIMER: overdue_digest,
}
