"""SLA clocks of an imported issue, counted from its recorded times: a step that happened is
met or breached as history, a deadline already past is breached without a word (nobody can
act on a warning about last year), and only a clock still running gets timers, for the
moments still ahead."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from services.issues.models import Issue, SlaClock, SlaClockState, SlaMetric, SlaPolicy
from services.issues.sla import repository as sla_repo
from services.issues.sla.alerts import BREACH_TIMER, WARNING_TIMER
from services.issues.sla.arithmetic import new_clock_warning_at, time_calendar, warning_at
from shared.calendars import TimeCalendar
from shared.replicas import department_regions
from shared.unit_of_work import UnitOfWork


async def _calendar(
    uow: UnitOfWork, issue: Issue, policy: SlaPolicy
) -> tuple[str | None, TimeCalendar]:
    """The responsible department's region and the calendar its clocks count in (as
    ``clocks.start_clocks`` chooses them)."""
    department = issue.responsible_department_id
    region_id = (await department_regions(uow.conn, [department])).get(department)
    stored = None
    if region_id is not None:
        stored = (await sla_repo.region_calendars(uow.conn, [region_id])).get(region_id)
    return region_id, time_calendar(policy.calendar(issue.urgent), stored)


async def start_historical_clocks(
    uow: UnitOfWork, issue: Issue, policy: SlaPolicy, steps: Mapping[SlaMetric, datetime | None]
) -> None:
    """RESPONSE and PLAN clocks from ``issue.created_at``; ``steps`` says when each one's
    awaited step happened (None: not yet)."""
    now = datetime.now(UTC)
    region_id, calendar = await _calendar(uow, issue, policy)
    for metric, target in policy.targets(issue.urgent).items():
        clock = await sla_repo.insert_clock(
            uow.conn,
            issue_id=issue.id,
            metric=metric,
            target_minutes=target,
            started_at=issue.created_at,
            due_at=calendar.add_minutes(issue.created_at, target),
            calendar=policy.calendar(issue.urgent),
            region_id=region_id,
            warn_at_percents=policy.warn_at_percents,
            warn_at=new_clock_warning_at(
                issue.created_at, target, policy.warn_at_percents, calendar
            ),
        )
        step = steps.get(metric)
        if step is not None:
            await _stopped(uow, clock, calendar, step)
        elif clock.due_at <= now:
            await sla_repo.update_clock(
                uow.conn, clock.id, state=SlaClockState.BREACHED, breached_at=clock.due_at
            )
        else:
            await _arm_ahead(uow, clock, calendar, now)


async def _stopped(uow: UnitOfWork, clock: SlaClock, calendar: TimeCalendar, at: datetime) -> None:
    elapsed = calendar.minutes_between(clock.started_at, at)
    late = elapsed >= clock.target_minutes
    await sla_repo.update_clock(
        uow.conn,
        clock.id,
        met_at=at,
        elapsed_minutes=elapsed,
        state=SlaClockState.BREACHED if late else SlaClockState.MET,
        breached_at=clock.due_at if late else None,
    )


async def _arm_ahead(
    uow: UnitOfWork, clock: SlaClock, calendar: TimeCalendar, now: datetime
) -> None:
    """The breach timer, and the warnings still ahead; one whose moment passed is recorded as
    given, so no re-arming (after a pause) ever sends it."""
    await uow.arm_timer(BREACH_TIMER, clock.id, clock.due_at)
    for percent in clock.warn_at_percents:
        if not 0 < percent < 100:
            continue
        at = warning_at(clock, calendar, percent)
        if at <= now:
            await sla_repo.record_warning(uow.conn, clock.id, percent)
            continue
        payload = {"clock_id": clock.id, "percent": percent}
        await uow.arm_timer(WARNING_TIMER, f"{clock.id}:{percent}", at, payload)
