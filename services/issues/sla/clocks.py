"""Clock lifecycle: start at report, stop at the awaited step, pause while WAITING, resume,
recompute on calendar or responsibility changes; every deadline move re-arms its timers.

A clock has one breach timer (kind :data:`BREACH_TIMER`, subject: clock id) and one timer per
warning percentage (kind :data:`WARNING_TIMER`, subject ``<clock id>:<percent>``). Re-arming
bumps a timer's version, so a job queued for an old deadline finds nothing to fire.
"""

from __future__ import annotations

from datetime import datetime

from services.issues import repository as issues_repo
from services.issues.models import (
    Issue,
    IssueAction,
    SlaClock,
    SlaClockState,
    SlaMetric,
    SlaPolicy,
)
from services.issues.sla import alerts, escalation
from services.issues.sla import repository as repo
from services.issues.sla.arithmetic import (
    calendar_of,
    counted_calendar,
    due_at,
    first_warning_at,
    new_clock_warning_at,
    time_calendar,
    warning_at,
)
from shared.calendars import TimeCalendar
from shared.replicas import department_regions
from shared.unit_of_work import UnitOfWork

BREACH_TIMER = alerts.BREACH_TIMER
WARNING_TIMER = alerts.WARNING_TIMER


async def _responsible_region(uow: UnitOfWork, issue: Issue) -> str | None:
    department = issue.responsible_department_id
    return (await department_regions(uow.conn, [department])).get(department)


async def start_clocks(uow: UnitOfWork, issue: Issue, policy: SlaPolicy, now: datetime) -> None:
    """RESPONSE and PLAN clocks from the moment of reporting, in the policy's calendar."""
    kind = policy.calendar(issue.urgent)
    region_id = await _responsible_region(uow, issue)
    stored = None
    if region_id is not None:
        stored = (await repo.region_calendars(uow.conn, [region_id])).get(region_id)
    calendar = time_calendar(kind, stored)
    for metric, target in policy.targets(issue.urgent).items():
        clock = await repo.insert_clock(
            uow.conn,
            issue_id=issue.id,
            metric=metric,
            target_minutes=target,
            started_at=now,
            due_at=calendar.add_minutes(now, target),
            calendar=kind,
            region_id=region_id,
            warn_at_percents=policy.warn_at_percents,
            warn_at=new_clock_warning_at(now, target, policy.warn_at_percents, calendar),
        )
        await _arm(uow, clock, calendar)


async def _arm(uow: UnitOfWork, clock: SlaClock, calendar: TimeCalendar) -> None:
    """(Re-)arm the breach timer and every warning not yet announced."""
    await uow.arm_timer(BREACH_TIMER, clock.id, clock.due_at)
    warned = await repo.warned_percents(uow.conn, clock.id)
    for percent in clock.warn_at_percents:
        if percent in warned or not 0 < percent < 100:
            continue
        await uow.arm_timer(
            WARNING_TIMER,
            f"{clock.id}:{percent}",
            warning_at(clock, calendar, percent),
            {"clock_id": clock.id, "percent": percent},
        )


async def _disarm(uow: UnitOfWork, clock: SlaClock) -> None:
    await uow.cancel_timer(BREACH_TIMER, clock.id)
    for percent in clock.warn_at_percents:
        await uow.cancel_timer(WARNING_TIMER, f"{clock.id}:{percent}")


async def stop_clock(uow: UnitOfWork, issue: Issue, metric: SlaMetric, now: datetime) -> None:
    """The awaited step happened: freeze the elapsed time; late means breached.

    A deadline that passed moments ago may not have been swept yet; it still counts as
    breached (and is announced once), so a late answer never reads as on time.
    """
    for clock in await repo.clocks_of_issue(uow.conn, issue.id):
        if clock.metric is not metric or clock.met_at is not None:
            continue
        calendar = await calendar_of(uow.conn, clock)
        elapsed = clock.elapsed(calendar, now)
        late = clock.state is SlaClockState.BREACHED or elapsed >= clock.target_minutes
        stopped = await repo.update_clock(
            uow.conn,
            clock.id,
            met_at=now,
            elapsed_minutes=elapsed,
            paused_at=None,
            state=SlaClockState.BREACHED if late else SlaClockState.MET,
            breached_at=clock.breached_at or (clock.due_at if late else None),
        )
        await _disarm(uow, clock)
        if late and clock.state is not SlaClockState.BREACHED:
            await alerts.announce_breach(uow, issue, stopped, now)


async def pause_clocks(uow: UnitOfWork, issue: Issue, now: datetime) -> None:
    """WAITING: every counting clock stops counting. A running one keeps no timers; a
    breached one stays BREACHED, how late it is stops growing, and the way to the next
    escalation level is held until the resume."""
    for clock in await repo.clocks_of_issue(uow.conn, issue.id):
        if not clock.counting:
            continue
        calendar = await calendar_of(uow.conn, clock)
        running = clock.state is SlaClockState.RUNNING
        await repo.update_clock(
            uow.conn,
            clock.id,
            consumed_minutes=clock.elapsed(calendar, now),
            paused_at=now,
            state=SlaClockState.PAUSED if running else clock.state,
        )
        if running:
            await _disarm(uow, clock)
        else:
            await escalation.hold_next_level(uow, issue, clock, now)


async def resume_clocks(uow: UnitOfWork, issue: Issue, now: datetime) -> None:
    """Back from WAITING: a new segment starts now, so the deadline moves by the paused
    working time only (a weekend inside the pause is not working time, so not added)."""
    for clock in await repo.clocks_of_issue(uow.conn, issue.id):
        if clock.paused_at is None or clock.met_at is not None:
            continue
        calendar = await calendar_of(uow.conn, clock)
        paused = calendar.minutes_between(clock.paused_at, now)
        resumed = await repo.update_clock(
            uow.conn,
            clock.id,
            paused_minutes=clock.paused_minutes + round(paused),
            paused_at=None,
            segment_started_at=now,
            state=SlaClockState.RUNNING if clock.state is SlaClockState.PAUSED else clock.state,
        )
        if resumed.state is SlaClockState.RUNNING:
            resumed = await repo.update_clock(
                uow.conn,
                clock.id,
                due_at=due_at(resumed, calendar),
                warn_at=first_warning_at(resumed, calendar),
            )
            await _arm(uow, resumed, calendar)
        else:
            await escalation.release_next_level(uow, issue, resumed, now)


async def _bank(uow: UnitOfWork, clock: SlaClock, now: datetime) -> SlaClock:
    """Close a counting clock's segment: its working minutes, counted in the calendar they
    passed in, join the consumed ones, and a new segment starts now.

    Minutes already counted stay counted when the calendar or region changes afterwards
    (the past is not recounted under rules that did not apply to it). A stand-in 24x7 count
    is left open, so the real calendar recounts it; a segment never starts earlier.
    """
    start = clock.segment_started_at or clock.started_at
    calendar = await counted_calendar(uow.conn, clock) if clock.counting and now > start else None
    if calendar is None:
        return clock
    return await repo.update_clock(
        uow.conn, clock.id, consumed_minutes=clock.elapsed(calendar, now), segment_started_at=now
    )


async def bank_segments(uow: UnitOfWork, issue: Issue, now: datetime) -> None:
    """Before the calendar of the issue's clocks changes: bank what the old one counted."""
    for clock in await repo.clocks_of_issue(uow.conn, issue.id):
        await _bank(uow, clock, now)


async def recompute_clocks(uow: UnitOfWork, issue: Issue, now: datetime) -> list[str]:
    """Move the issue's open clocks to the responsible region and recount the deadlines of
    the running ones in its calendar of today (after a calendar change or a reassignment):
    minutes until now count in the calendar they passed in, the rest in the new one. Notes
    what moved."""
    region_id = await _responsible_region(uow, issue)
    moved: list[str] = []
    for clock in await repo.clocks_of_issue(uow.conn, issue.id):
        if clock.met_at is not None:
            continue
        await _bank(uow, clock, now)
        changed = await repo.update_clock(uow.conn, clock.id, region_id=region_id)
        if changed.state is not SlaClockState.RUNNING:
            continue  # paused: counted at resume; breached: the deadline is history
        calendar = await calendar_of(uow.conn, changed)
        new_due = due_at(changed, calendar)
        changed = await repo.update_clock(
            uow.conn, clock.id, due_at=new_due, warn_at=first_warning_at(changed, calendar)
        )
        await _arm(uow, changed, calendar)
        if new_due != clock.due_at:
            moved.append(
                f"{clock.metric.value} due {clock.due_at.isoformat()} -> {new_due.isoformat()}"
            )
    if moved:
        await issues_repo.add_timeline(
            uow.conn,
            issue.id,
            now,
            IssueAction.SLA_RECALCULATED,
            actor_id=None,
            note="; ".join(moved),
        )
    return moved
