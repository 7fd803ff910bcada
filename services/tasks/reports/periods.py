"""Reporting periods and their deadlines in the plan's time zone (pure).

A WEEKLY period is an ISO week (Monday to Sunday) and its deadline falls on the plan's
weekday of that week; a MONTHLY period is a calendar month and its deadline falls on the
last such weekday of the month. Deadlines are local times, so they stay put across DST.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from services.tasks.reports.models import ReportPlan

Period = tuple[date, date]

CADENCES = ("WEEKLY", "MONTHLY")


def period_of(cadence: str, day: date) -> Period:
    if cadence == "MONTHLY":
        start = day.replace(day=1)
        following = (start + timedelta(days=32)).replace(day=1)
        return start, following - timedelta(days=1)
    start = day - timedelta(days=day.isoweekday() - 1)
    return start, start + timedelta(days=6)


def deadline_of(plan: ReportPlan, period: Period) -> datetime:
    start, end = period
    if plan.cadence == "MONTHLY":
        day = end - timedelta(days=(end.isoweekday() - plan.deadline_weekday) % 7)
    else:
        day = start + timedelta(days=plan.deadline_weekday - 1)
    local = datetime.combine(day, plan.deadline_time, tzinfo=ZoneInfo(plan.time_zone))
    return local.astimezone(UTC)


def next_deadline(plan: ReportPlan, after: datetime) -> tuple[datetime, Period]:
    """The first deadline strictly after ``after``, with its period."""
    day = after.astimezone(ZoneInfo(plan.time_zone)).date()
    period = period_of(plan.cadence, day)
    while (deadline := deadline_of(plan, period)) <= after:
        period = period_of(plan.cadence, period[1] + timedelta(days=1))
    return deadline, period
