"""Occurrences of an RRULE on a region's calendar (pure; ``python-dateutil`` parses).

The rule is read in local wall-clock time, then placed in each region's time zone, so
"18:00" stays 18:00 local on both sides of a daylight-saving change. Two refinements make
it follow the region's working calendar:

* ``BYDAY=MO,TU,WE,TH,FR`` with ``BYSETPOS=n`` (the usual way to write "n-th weekday")
  counts the region's *business days* of each period instead: public holidays are skipped
  and make-up workdays on weekends count (``-1`` is the last business day).
* Any other rule's occurrence that falls on a non-working day moves to the next working day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

from shared.calendars import BusinessHours

_WEEKDAYS = {"MO", "TU", "WE", "TH", "FR"}
_ALLOWED_FREQ = {"DAILY", "WEEKLY", "MONTHLY", "YEARLY"}
_MAX_SCAN_DAYS = 366


class RuleError(ValueError):
    """The RRULE is not one Liaison can schedule; the message says why."""


@dataclass(frozen=True)
class Rule:
    text: str
    parts: dict[str, str]
    dtstart: datetime  # naive, local wall-clock time

    @property
    def business_day_position(self) -> int | None:
        """n of "n-th business day of the period", when the rule has that shape."""
        days = set(self.parts.get("BYDAY", "").split(","))
        if (
            days == _WEEKDAYS
            and "BYSETPOS" in self.parts
            and self.parts["FREQ"] in ("WEEKLY", "MONTHLY")
        ):
            return int(self.parts["BYSETPOS"])
        return None

    @property
    def time_of_day(self) -> time:
        hour = int(self.parts.get("BYHOUR", self.dtstart.hour))
        minute = int(self.parts.get("BYMINUTE", self.dtstart.minute))
        return time(hour, minute)


def parse_rule(text: str, dtstart: datetime) -> Rule:
    """Validate ``text`` (with or without the ``RRULE:`` prefix)."""
    body = text.strip().removeprefix("RRULE:")
    try:
        parts = dict(p.split("=", 1) for p in body.upper().split(";") if p)
        rrulestr(body, dtstart=dtstart)
    except (ValueError, TypeError) as exc:
        raise RuleError(f"not an RFC 5545 RRULE: {exc}") from None
    if parts.get("FREQ") not in _ALLOWED_FREQ:
        raise RuleError("FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY")
    for name in ("BYHOUR", "BYMINUTE", "BYSETPOS"):
        if "," in parts.get(name, ""):
            raise RuleError(f"{name} takes one value here")
    if "BYSECOND" in parts:
        raise RuleError("BYSECOND is not supported")
    return Rule(body, parts, dtstart.replace(tzinfo=None))


def nominal_occurrences(rule: Rule, start: datetime, end: datetime) -> list[datetime]:
    """Occurrences (business-day rules: period starts) with local time in [start, end]."""
    if rule.business_day_position is None:
        return list(rrulestr(rule.text, dtstart=rule.dtstart).between(start, end, inc=True))
    parts = {k: v for k, v in rule.parts.items() if k not in ("BYDAY", "BYSETPOS")}
    parts.update({"BYHOUR": "0", "BYMINUTE": "0", "BYSECOND": "0"})
    parts["BYMONTHDAY" if parts["FREQ"] == "MONTHLY" else "BYDAY"] = (
        "1" if parts["FREQ"] == "MONTHLY" else "MO"
    )
    period_rule = ";".join(f"{k}={v}" for k, v in parts.items())
    first = datetime.combine(rule.dtstart.date().replace(day=1), time())
    if parts["FREQ"] == "WEEKLY":
        first = datetime.combine(rule.dtstart.date() - timedelta(rule.dtstart.weekday()), time())
    periods = rrulestr(period_rule, dtstart=first)
    return [p for p in periods.between(start - timedelta(days=31), end, inc=True) if p <= end]


def _period_days(rule: Rule, period_start: date) -> list[date]:
    if rule.parts["FREQ"] == "MONTHLY":
        following = (period_start + timedelta(days=32)).replace(day=1)
    else:
        following = period_start + timedelta(days=7)
    return [period_start + timedelta(days=n) for n in range((following - period_start).days)]


def region_instant(rule: Rule, nominal: datetime, calendar: BusinessHours) -> datetime | None:
    """When the region's instance of ``nominal`` is due (UTC); None if the period has no
    such business day."""
    zone = ZoneInfo(calendar.calendar.time_zone)
    position = rule.business_day_position
    if position is None:
        day = nominal.date()
        for _ in range(_MAX_SCAN_DAYS):
            if calendar.is_workday(day):
                local = datetime.combine(day, nominal.time(), tzinfo=zone)
                return local.astimezone(UTC)
            day += timedelta(days=1)
        return None
    workdays = [d for d in _period_days(rule, nominal.date()) if calendar.is_workday(d)]
    index = position - 1 if position > 0 else position
    if not -len(workdays) <= index < len(workdays):
        return None
    return datetime.combine(workdays[index], rule.time_of_day, tzinfo=zone).astimezone(UTC)


def business_days_after(calendar: BusinessHours, moment: datetime, days: int, at: time) -> datetime:
    """``at`` local time on the ``days``-th business day after ``moment``'s local day."""
    zone = ZoneInfo(calendar.calendar.time_zone)
    day = moment.astimezone(zone).date()
    remaining = days
    for _ in range(_MAX_SCAN_DAYS):
        if remaining == 0:
            return max(moment, datetime.combine(day, at, tzinfo=zone).astimezone(UTC))
        day += timedelta(days=1)
        if calendar.is_workday(day):
            remaining -= 1
    return moment
