"""When reminders and digests fall: pure business-time arithmetic, no I/O.

Reminder offsets are working minutes of the responsible party's region: "24 h before"
means 24 working hours before the due time on that region's calendar, so a reminder never
lands on a holiday or at night and a long weekend does not eat the warning.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from shared.calendars import AroundTheClock, BusinessHours, NoWorkingTime

_MAX_DAYS_SCANNED = 3 * 366

Calendar = BusinessHours | AroundTheClock


def instant_before(calendar: Calendar, end: datetime, minutes: int) -> datetime:
    """The instant ``minutes`` working minutes before ``end`` (UTC)."""
    end = end.astimezone(UTC)
    if isinstance(calendar, AroundTheClock):
        return end - timedelta(minutes=minutes)
    remaining = timedelta(minutes=minutes)
    day = end.astimezone(calendar.zone).date()
    for offset in range(_MAX_DAYS_SCANNED):
        for start, stop in reversed(calendar.periods_on(day - timedelta(days=offset))):
            stop = min(stop, end)
            if stop <= start:
                continue
            if stop - start >= remaining:
                return stop - remaining
            remaining -= stop - start
    raise NoWorkingTime(f"no working time within {_MAX_DAYS_SCANNED} days before {end}")


def reminder_plan(
    calendar: Calendar, due_at: datetime, offsets: Sequence[int]
) -> list[tuple[datetime, int]]:
    """(instant, offset) of every reminder of a task, earliest first."""
    plan = {(instant_before(calendar, due_at, m), m) for m in offsets if m > 0}
    return sorted(plan)


def next_reminder(
    calendar: Calendar, due_at: datetime, offsets: Sequence[int], after: datetime
) -> tuple[datetime, int] | None:
    """The first reminder strictly after ``after`` and before the due time, if any."""
    for instant, offset in reminder_plan(calendar, due_at, offsets):
        if after < instant < due_at:
            return instant, offset
    return None


def next_local_hour(time_zone: str, hour: int, after: datetime) -> tuple[datetime, date]:
    """The next ``hour``:00 local to ``time_zone`` strictly after ``after``, and its date."""
    zone = ZoneInfo(time_zone)
    day = after.astimezone(zone).date()
    while True:
        candidate = datetime.combine(day, time(hour), tzinfo=zone)
        if candidate > after:
            return candidate.astimezone(UTC), day
        day += timedelta(days=1)
