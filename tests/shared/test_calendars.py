"""Business-time arithmetic: office hours, holidays, make-up workdays, time zones, DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from shared.calendars import AroundTheClock, BusinessHours, NoWorkingTime, WorkCalendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")


def china(**changes: list[date]) -> BusinessHours:
    calendar = WorkCalendar(time_zone="Asia/Shanghai", holiday_country="CN")
    return BusinessHours(calendar.model_copy(update=changes))


def local(zone: ZoneInfo, year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=zone)


def test_office_day_has_a_lunch_break() -> None:
    hours = china()
    start = local(SHANGHAI, 2026, 11, 25, 11, 30)  # Wednesday
    assert hours.add_minutes(start, 60) == local(SHANGHAI, 2026, 11, 25, 14, 0)
    assert hours.minutes_between(start, local(SHANGHAI, 2026, 11, 25, 14, 0)) == 60


def test_friday_evening_continues_on_monday() -> None:
    hours = china()
    friday = local(SHANGHAI, 2026, 11, 27, 17, 0)
    assert hours.add_minutes(friday, 120) == local(SHANGHAI, 2026, 11, 30, 10, 0)


def test_a_holiday_is_judged_in_local_time_not_utc() -> None:
    """01:00 on 1 October in Shanghai is still 30 September in UTC: it is the holiday."""
    hours = china()
    moment = datetime(2026, 9, 30, 17, 0, tzinfo=UTC)  # 2026-10-01 01:00 local
    assert not hours.is_workday(date(2026, 10, 1))
    assert hours.next_working_instant(moment).astimezone(SHANGHAI).date() > date(2026, 10, 1)
    # The evening of 30 September (local) is an ordinary working day until 18:00.
    assert hours.is_working(local(SHANGHAI, 2026, 9, 30, 17, 59))


def test_public_makeup_workday_on_a_weekend_is_worked() -> None:
    hours = china()
    saturday = date(2026, 2, 14)  # worked in lieu of a Spring Festival day off
    assert saturday.isoweekday() == 6
    assert hours.is_workday(saturday)
    assert hours.is_working(local(SHANGHAI, 2026, 2, 14, 10, 0))


def test_configured_extra_holidays_and_workdays() -> None:
    hours = china(extra_holidays=[date(2026, 11, 25)], extra_workdays=[date(2026, 11, 28)])
    assert not hours.is_workday(date(2026, 11, 25))
    assert hours.periods_on(date(2026, 11, 28))[0][0] == local(SHANGHAI, 2026, 11, 28, 9, 0)


def test_clock_across_the_berlin_spring_dst_change() -> None:
    hours = BusinessHours(WorkCalendar(time_zone="Europe/Berlin", holiday_country="DE"))
    friday = local(BERLIN, 2026, 3, 27, 17, 0)  # 16:00 UTC (CET)
    due = hours.add_minutes(friday, 120)
    assert due == local(BERLIN, 2026, 3, 30, 10, 0)
    assert due == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)  # CEST is UTC+2
    assert hours.minutes_between(friday, due) == 120


def test_custom_weekly_hours() -> None:
    calendar = WorkCalendar.model_validate(
        {
            "time_zone": "America/Los_Angeles",
            "working_hours": [
                {"weekday": d, "start": "08:00", "end": "16:00"} for d in range(1, 6)
            ],
        }
    )
    hours = BusinessHours(calendar)
    morning = local(ZoneInfo("America/Los_Angeles"), 2026, 11, 30, 7, 0)
    assert hours.next_working_instant(morning).time() == time(16, 0)  # 08:00 PST in UTC


def test_minutes_between_is_zero_backwards() -> None:
    hours = china()
    a = local(SHANGHAI, 2026, 11, 25, 10, 0)
    assert hours.minutes_between(a, a) == 0
    assert hours.minutes_between(a, local(SHANGHAI, 2026, 11, 25, 9, 0)) == 0


def test_calendar_without_working_time_refuses_to_add() -> None:
    hours = BusinessHours(WorkCalendar(time_zone="UTC", working_hours=[]))
    with pytest.raises(NoWorkingTime):
        hours.add_minutes(datetime(2026, 1, 1, tzinfo=UTC), 1)
    assert (
        hours.minutes_between(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC))
        == 0
    )


def test_around_the_clock() -> None:
    clock = AroundTheClock()
    start = local(SHANGHAI, 2026, 11, 28, 23, 0)  # a Saturday night
    assert clock.add_minutes(start, 120) == local(SHANGHAI, 2026, 11, 29, 1, 0)
    assert clock.is_working(start)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        china().add_minutes(datetime(2026, 1, 5, 10, 0), 5)
