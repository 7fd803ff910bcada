"""Work calendars of regions and business-time arithmetic on them.

The requests service owns calendars; other services receive them in
``requests.region.upserted`` events and parse them with :class:`WorkCalendar`.
:class:`BusinessHours` answers "when is N working minutes after t" and "how many working
minutes lie between a and b" in the region's own time zone, so daylight-saving changes,
public holidays (``holidays`` package) and make-up workdays on weekends are respected.
:class:`AroundTheClock` is the 24x7 calendar with the same interface.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from pydantic import BaseModel, Field, field_validator, model_validator


class WorkingPeriod(BaseModel):
    """Working time on one ISO weekday (1 = Monday ... 7 = Sunday), local to the region."""

    weekday: int = Field(ge=1, le=7)
    start: time
    end: time

    @model_validator(mode="after")
    def _start_before_end(self) -> WorkingPeriod:
        if self.start >= self.end:
            raise ValueError("a working period must start before it ends")
        return self


_OFFICE_DAY = ((time(9), time(12)), (time(13, 30), time(18)))


def _office_hours() -> list[WorkingPeriod]:
    """Monday to Friday, 09:00-12:00 and 13:30-18:00 (a common Chinese office day)."""
    return [
        WorkingPeriod(weekday=day, start=start, end=end)
        for day in range(1, 6)
        for start, end in _OFFICE_DAY
    ]


class WorkCalendar(BaseModel):
    """A region's working time; ``holiday_country`` selects public holidays (``holidays``)."""

    time_zone: str
    working_hours: list[WorkingPeriod] = Field(default_factory=_office_hours)
    holiday_country: str | None = None
    extra_holidays: list[date] = Field(default_factory=list)
    extra_workdays: list[date] = Field(
        default_factory=list, description="make-up workdays on weekends (common in China)"
    )

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return check_time_zone(value)


def check_time_zone(value: str) -> str:
    """Return ``value`` if it is an IANA time zone name, else raise ValueError."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown IANA time zone {value!r}") from None
    return value


# --- business-time arithmetic ------------------------------------------------------------------

_MAX_DAYS_SCANNED = 3 * 366  # a calendar with no working time at all must not loop forever


class NoWorkingTime(ValueError):
    """The calendar has no working time in the period looked at."""


class TimeCalendar(Protocol):
    """What SLA clocks, reminders and slot suggestions need from a calendar."""

    def add_minutes(self, start: datetime, minutes: float) -> datetime: ...

    def minutes_between(self, start: datetime, end: datetime) -> float: ...

    def next_working_instant(self, moment: datetime) -> datetime: ...

    def is_working(self, moment: datetime) -> bool: ...


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("business-time arithmetic needs timezone-aware datetimes")
    return moment.astimezone(UTC)


class AroundTheClock:
    """24x7: every minute is a working minute (urgent issues, 24x7 SLA policies)."""

    def add_minutes(self, start: datetime, minutes: float) -> datetime:
        return _aware(start) + timedelta(minutes=minutes)

    def minutes_between(self, start: datetime, end: datetime) -> float:
        return max(0.0, (_aware(end) - _aware(start)).total_seconds() / 60)

    def next_working_instant(self, moment: datetime) -> datetime:
        return _aware(moment)

    def is_working(self, moment: datetime) -> bool:
        return True


class BusinessHours:
    """Working time of one :class:`WorkCalendar`; every result is in UTC."""

    def __init__(self, calendar: WorkCalendar) -> None:
        self.calendar = calendar
        self.zone = ZoneInfo(calendar.time_zone)
        self._weekly: dict[int, list[tuple[time, time]]] = {}
        for period in sorted(calendar.working_hours, key=lambda p: (p.weekday, p.start)):
            self._weekly.setdefault(period.weekday, []).append((period.start, period.end))
        self._extra_holidays = set(calendar.extra_holidays)
        self._extra_workdays = set(calendar.extra_workdays)

    @cached_property
    def _public_holidays(self) -> holidays.HolidayBase | None:
        country = self.calendar.holiday_country
        return holidays.country_holidays(country) if country else None

    @cached_property
    def _standard_day(self) -> list[tuple[time, time]]:
        """Hours of a make-up workday: those of the first weekday that has any."""
        return next((self._weekly[d] for d in sorted(self._weekly) if d <= 5), [])

    def is_workday(self, day: date) -> bool:
        """Whether ``day`` (a local calendar day) has working hours."""
        if day in self._extra_workdays or self._is_public_makeup_day(day):
            return True
        if day in self._extra_holidays or self._is_public_holiday(day):
            return False
        return day.isoweekday() in self._weekly

    def _is_public_holiday(self, day: date) -> bool:
        return self._public_holidays is not None and day in self._public_holidays

    def _is_public_makeup_day(self, day: date) -> bool:
        table = self._public_holidays
        if table is None:
            return False
        _ = day in table  # loads the day's year, which also fills weekend_workdays
        return day in getattr(table, "weekend_workdays", ())

    def periods_on(self, day: date) -> list[tuple[datetime, datetime]]:
        """Working periods of a local day, as UTC instants (DST-correct)."""
        if not self.is_workday(day):
            return []
        hours = self._weekly.get(day.isoweekday()) or self._standard_day
        return [
            (
                datetime.combine(day, start, tzinfo=self.zone).astimezone(UTC),
                datetime.combine(day, end, tzinfo=self.zone).astimezone(UTC),
            )
            for start, end in hours
        ]

    def windows_from(self, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working windows from ``moment`` on, the first one clipped to start at ``moment``."""
        moment = _aware(moment)
        day = moment.astimezone(self.zone).date()
        for offset in range(_MAX_DAYS_SCANNED):
            for start, end in self.periods_on(day + timedelta(days=offset)):
                if end > moment:
                    yield max(start, moment), end
        raise NoWorkingTime(f"no working time within {_MAX_DAYS_SCANNED} days of {moment}")

    def add_minutes(self, start: datetime, minutes: float) -> datetime:
        """The instant at which ``minutes`` of working time after ``start`` have elapsed."""
        remaining = timedelta(minutes=minutes)
        for window_start, window_end in self.windows_from(start):
            if window_end - window_start >= remaining:
                return window_start + remaining
            remaining -= window_end - window_start
        raise AssertionError("windows_from ends only by raising NoWorkingTime")

    def minutes_between(self, start: datetime, end: datetime) -> float:
        """Working minutes in ``[start, end)``; 0 when ``end`` is not after ``start``."""
        start, end = _aware(start), _aware(end)
        total = timedelta()
        if end <= start:
            return 0.0
        try:
            for window_start, window_end in self.windows_from(start):
                if window_start >= end:
                    break
                total += min(window_end, end) - window_start
        except NoWorkingTime:
            pass  # no more working time: what was counted is the answer
        return total.total_seconds() / 60

    def next_working_instant(self, moment: datetime) -> datetime:
        """``moment`` itself if it is working time, else the start of the next window."""
        return next(self.windows_from(moment))[0]

    def is_working(self, moment: datetime) -> bool:
        return self.next_working_instant(moment) == _aware(moment)
