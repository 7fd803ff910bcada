"""Work calendars of regions: weekly working periods, public holidays and make-up workdays.

The requests service owns calendars; other services receive them in
``requests.region.upserted`` events and parse them with :class:`WorkCalendar`.
"""

from __future__ import annotations

from datetime import date, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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
