"""Which calendar a clock counts in, and where its deadline and warnings fall in it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from services.issues.models import SlaCalendar, SlaClock
from services.issues.sla import repository as repo
from shared.calendars import AroundTheClock, BusinessHours, TimeCalendar, WorkCalendar
from shared.db import Connection


def time_calendar(kind: SlaCalendar, stored: Any | None) -> TimeCalendar:
    """The arithmetic for a clock: 24x7, or the region's working hours once they are known.

    Until the region's calendar has reached us, a business-hours clock counts 24x7 (the
    stricter reading); the calendar's arrival recomputes the deadline.
    """
    if kind is SlaCalendar.AROUND_THE_CLOCK or stored is None:
        return AroundTheClock()
    return BusinessHours(WorkCalendar.model_validate(stored))


async def _stored_calendar(conn: Connection, clock: SlaClock) -> Any | None:
    if clock.calendar is not SlaCalendar.BUSINESS_HOURS or clock.region_id is None:
        return None
    return (await repo.region_calendars(conn, [clock.region_id])).get(clock.region_id)


async def calendar_of(conn: Connection, clock: SlaClock) -> TimeCalendar:
    return time_calendar(clock.calendar, await _stored_calendar(conn, clock))


async def counted_calendar(conn: Connection, clock: SlaClock) -> TimeCalendar | None:
    """The calendar the clock is really counting in; None while a business-hours clock
    stands in 24x7 for a region calendar that has not arrived (a stand-in count is
    recounted in full once the calendar is known)."""
    stored = await _stored_calendar(conn, clock)
    if clock.calendar is SlaCalendar.BUSINESS_HOURS and stored is None:
        return None
    return time_calendar(clock.calendar, stored)


def _started(clock: SlaClock) -> datetime:
    return clock.segment_started_at or clock.started_at


def due_at(clock: SlaClock, calendar: TimeCalendar) -> datetime:
    """When the minutes still owed run out, counting from the current segment's start."""
    return calendar.add_minutes(_started(clock), clock.target_minutes - clock.consumed_minutes)


def warning_at(clock: SlaClock, calendar: TimeCalendar, percent: int) -> datetime:
    """When ``percent`` of the target will have elapsed (at once if it already has)."""
    owed = clock.target_minutes * percent / 100 - clock.consumed_minutes
    return calendar.add_minutes(_started(clock), max(0.0, owed))


def first_warning_percent(percents: Sequence[int]) -> int | None:
    """The lowest of ``percents`` that warns (0, 100 and more never do), None if none."""
    return min((p for p in percents if 0 < p < 100), default=None)


def first_warning_at(clock: SlaClock, calendar: TimeCalendar) -> datetime | None:
    """When the clock's first warning threshold is (or was) reached, None if it has none:
    its ``warn_at``, which the list's AT_RISK filter compares with the time, stored with
    every deadline computed (as the warning timers are armed)."""
    percent = first_warning_percent(clock.warn_at_percents)
    return None if percent is None else warning_at(clock, calendar, percent)


def new_clock_warning_at(
    start: datetime, target_minutes: int, percents: Sequence[int], calendar: TimeCalendar
) -> datetime | None:
    """:func:`first_warning_at` of a clock starting at ``start`` with nothing counted yet."""
    first = first_warning_percent(percents)
    return None if first is None else calendar.add_minutes(start, target_minutes * first / 100)
