"""Escalation: level 1 tells the responsible department's head, level 2 the lead
department's head, level 3 the PMO.

Every breach tells level 1 at once (a later breach tells it again, at the level reached);
while the late step is still not done, each further level follows after the policy's step
minutes, counted in the late clock's calendar (timer kind :data:`ESCALATION_TIMER`, one per
issue). For a business-hours clock a message to someone outside their working time waits
for their next working minute (timer kind :data:`NOTICE_TIMER`, one per issue, level and
person); urgent issues go out at once."""

from __future__ import annotations

from datetime import UTC, datetime

from services.issues import repository as issues_repo
from services.issues.models import (
    CLOSED_STATUSES,
    Issue,
    IssueAction,
    SlaCalendar,
    SlaClock,
    SlaClockState,
    SlaPolicy,
)
from services.issues.sla import repository as repo
from services.issues.sla.arithmetic import calendar_of
from shared.calendars import BusinessHours, NoWorkingTime, WorkCalendar
from shared.db import Connection
from shared.events.contracts.issues import IssueEscalated, IssueEscalationNotice
from shared.replicas import department_heads, get_request
from shared.timers import TimerRow
from shared.unit_of_work import UnitOfWork

ESCALATION_TIMER = "issue.escalation"
"""Next automatic level of an issue; subject: issue id, payload: level and late clock."""
NOTICE_TIMER = "issue.escalation_notice"
"""A deferred escalation message; subject ``<issue>:<level>:<person>``."""
MAX_LEVEL = 3


async def recipients(conn: Connection, issue: Issue, level: int) -> list[str]:
    """Who hears of ``level``: a department head (if the directory names one) or the PMO."""
    if level >= MAX_LEVEL:
        return await issues_repo.pmo_members(conn)
    department = issue.responsible_department_id if level == 1 else issue.lead_department_id
    head = (await department_heads(conn, [department])).get(department)
    return [head] if head else []


async def working_now(
    conn: Connection, people: list[str], now: datetime
) -> tuple[list[str], dict[str, datetime]]:
    """Split people into those at work now and those whose next working minute is later.

    A person's working time is their region's calendar in their own time zone (office hours
    if the region's calendar has not arrived); someone the directory does not know yet is
    told at once rather than never.
    """
    known = await issues_repo.people_calendars(conn, people)
    at_work: list[str] = []
    later: dict[str, datetime] = {}
    for person in people:
        if person not in known:
            at_work.append(person)
            continue
        time_zone, stored = known[person]
        base = WorkCalendar.model_validate(stored) if stored else WorkCalendar(time_zone=time_zone)
        try:
            start = BusinessHours(base.model_copy(update={"time_zone": time_zone}))
            next_minute = start.next_working_instant(now)
        except NoWorkingTime:
            next_minute = now
        if next_minute <= now:
            at_work.append(person)
        else:
            later[person] = next_minute
    return at_work, later


async def reachable(
    conn: Connection, issue: Issue, clock: SlaClock | None, people: list[str], now: datetime
) -> tuple[list[str], dict[str, datetime]]:
    """Who is told now, and when each of the others is: for a business-hours clock (with no
    late clock: an issue with one) people off work wait for their next working minute;
    urgent issues and 24x7 clocks reach everyone at once."""
    timed = [clock] if clock is not None else await repo.clocks_of_issue(conn, issue.id)
    if issue.urgent or all(c.calendar is not SlaCalendar.BUSINESS_HOURS for c in timed):
        return people, {}
    return await working_now(conn, people, now)


async def open_breach(conn: Connection, issue_id: str) -> SlaClock | None:
    """A clock of the issue that is late and whose step is still not done."""
    for clock in await repo.clocks_of_issue(conn, issue_id):
        if clock.state is SlaClockState.BREACHED and clock.met_at is None:
            return clock
    return None


async def escalate(
    uow: UnitOfWork,
    issue: Issue,
    level: int,
    *,
    reason: str,
    actor_id: str | None,
    clock: SlaClock | None,
    now: datetime,
) -> Issue:
    """Raise the issue to ``level``, tell that level's people, and plan the next level.

    ``clock`` is the late clock driving automatic escalation (None: nothing is late).
    """
    issue = await issues_repo.update_issue(uow.conn, issue.id, now, escalation_level=level)
    await _tell(uow, issue, level, reason=reason, actor_id=actor_id, clock=clock, now=now)
    await plan_next_level(uow, issue, level, clock, now)
    return issue


async def escalate_breach(uow: UnitOfWork, issue: Issue, clock: SlaClock, now: datetime) -> None:
    """Every breach tells level 1: the responsible department's head as of now (after a
    reassignment, the new department's), even if an earlier breach or a hand escalation
    went higher. The level never goes down; the chain goes on from the level reached."""
    reason = f"{clock.metric.value} deadline missed"
    if issue.escalation_level < 1:
        await escalate(uow, issue, 1, reason=reason, actor_id=None, clock=clock, now=now)
        return
    await _tell(uow, issue, 1, reason=reason, actor_id=None, clock=clock, now=now)
    await plan_next_level(uow, issue, issue.escalation_level, clock, now)


async def _tell(
    uow: UnitOfWork,
    issue: Issue,
    level: int,
    *,
    reason: str,
    actor_id: str | None,
    clock: SlaClock | None,
    now: datetime,
) -> None:
    """Timeline entry and ``issues.issue.escalated`` for ``level``'s people; those off work
    get their message later (timer kind :data:`NOTICE_TIMER`)."""
    stays = f" (the issue stays at level {issue.escalation_level})"
    await issues_repo.add_timeline(
        uow.conn, issue.id, now, IssueAction.ESCALATED, actor_id=actor_id,
        note=f"level {level}: {reason}{stays if issue.escalation_level > level else ''}",
    )  # fmt: skip
    people = await recipients(uow.conn, issue, level)
    at_work, later = await reachable(uow.conn, issue, clock, people, now)
    data = IssueEscalated(
        issue_id=issue.id,
        code=issue.code,
        title=issue.title,
        level=level,
        reason=reason,
        manual=actor_id is not None,
        actor_id=actor_id,
        metric=clock.metric.value if clock else None,
        urgent=issue.urgent,
        urgency="URGENT" if issue.urgent or level >= 2 else "NORMAL",
        escalated_at=now,
        lead_department_id=issue.lead_department_id,
        responsible_department_id=issue.responsible_department_id,
        recipient_ids=at_work,
        deferred=later,
        escalation_level=issue.escalation_level,
    )
    await uow.emit(
        "issues.issue.escalated", issue.id, data, departments=await departments_of(uow, issue)
    )
    for person, at in later.items():
        payload = {"level": level, "reason": reason, "person": person, "at": now.isoformat()}
        await uow.arm_timer(NOTICE_TIMER, f"{issue.id}:{level}:{person}", at, payload)


async def plan_next_level(
    uow: UnitOfWork, issue: Issue, level: int, clock: SlaClock | None, now: datetime
) -> None:
    """Arm the automatic step from ``level`` to the next, counted in the late clock."""
    step = SlaPolicy.from_settings(uow.runtime.settings).escalation_step(level + 1)
    if clock is None or step is None or level >= MAX_LEVEL:
        return
    await _arm_next(uow, issue, level + 1, clock, step, now)


async def _arm_next(
    uow: UnitOfWork, issue: Issue, level: int, clock: SlaClock, minutes: float, now: datetime
) -> None:
    """The step to ``level`` after ``minutes`` of the late clock's working time; while that
    clock is paused (WAITING) the minutes are held on it until the resume."""
    if clock.paused_at is not None:
        await repo.update_clock(uow.conn, clock.id, held_escalation_minutes=minutes)
        return
    calendar = await calendar_of(uow.conn, clock)
    payload = {"level": level, "clock_id": clock.id}
    await uow.arm_timer(ESCALATION_TIMER, issue.id, calendar.add_minutes(now, minutes), payload)


async def hold_next_level(uow: UnitOfWork, issue: Issue, clock: SlaClock, now: datetime) -> None:
    """WAITING pauses the late clock, and with it the way to the next level: the working
    minutes still to go are held on the clock (see :func:`release_next_level`)."""
    pending = await repo.pending_timer(uow.conn, ESCALATION_TIMER, issue.id)
    if pending is None or pending.payload.get("clock_id") != clock.id:
        return
    calendar = await calendar_of(uow.conn, clock)
    await uow.cancel_timer(ESCALATION_TIMER, issue.id)
    left = calendar.minutes_between(now, pending.due_at)
    await repo.update_clock(uow.conn, clock.id, held_escalation_minutes=left)


async def release_next_level(uow: UnitOfWork, issue: Issue, clock: SlaClock, now: datetime) -> None:
    """Back from WAITING: the held way to the next level goes on where it stopped."""
    held = clock.held_escalation_minutes
    if held is None:
        return
    released = await repo.update_clock(uow.conn, clock.id, held_escalation_minutes=None)
    if issue.escalation_level < MAX_LEVEL:
        await _arm_next(uow, issue, issue.escalation_level + 1, released, held, now)


async def departments_of(uow: UnitOfWork, issue: Issue) -> list[str]:
    """Departments an issue's events are visible to: the request's, else the issue's."""
    replica = await get_request(uow.conn, issue.request_id)
    return list(replica.departments) if replica else list(issue.parties)


async def escalation_due(uow: UnitOfWork, timer: TimerRow) -> None:
    """The next level is due, unless someone escalated by hand meanwhile, the late step
    has been done, or the issue was closed."""
    level = int(timer.payload["level"])
    issue = await issues_repo.lock_issue(uow.conn, timer.subject)
    if issue is None or issue.escalation_level != level - 1 or issue.status in CLOSED_STATUSES:
        return
    clock = await repo.lock_clock(uow.conn, str(timer.payload["clock_id"]))
    if clock is None or clock.state is not SlaClockState.BREACHED or clock.met_at is not None:
        return
    await escalate(
        uow, issue, level, reason=f"{clock.metric.value} still late", actor_id=None,
        clock=clock, now=datetime.now(UTC),
    )  # fmt: skip


async def notice_due(uow: UnitOfWork, timer: TimerRow) -> None:
    """A deferred message reaches its recipient's working time; dropped if the issue has
    been closed since (the message would only be noise by then)."""
    issue_id = timer.subject.split(":")[0]
    issue = (await issues_repo.issues_by_ids(uow.conn, [issue_id])).get(issue_id)
    if issue is None or issue.status in CLOSED_STATUSES:
        return
    level = int(timer.payload["level"])
    await uow.emit(
        "issues.issue.escalation_notice",
        issue.id,
        IssueEscalationNotice(
            issue_id=issue.id,
            code=issue.code,
            title=issue.title,
            level=level,
            reason=str(timer.payload["reason"]),
            urgency="URGENT" if level >= 2 else "NORMAL",
            escalated_at=datetime.fromisoformat(str(timer.payload["at"])),
            recipient_ids=[str(timer.payload["person"])],
        ),
        departments=await departments_of(uow, issue),
    )
