"""Meeting slot suggestions across regions, time zones, holidays and daylight-saving changes.

Each attendee's working time comes from their region's :class:`WorkCalendar` (weekly hours,
public holidays, extra holidays, make-up workdays) read in the attendee's own time zone, so
someone working remotely from another zone keeps their region's days but their local hours.
All arithmetic is on UTC instants produced by :class:`BusinessHours`, which converts each local
working period separately: a DST change moves the UTC windows, never the local hours.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.requests.directory import repository as directory
from services.requests.models import Person, Region
from shared.calendars import BusinessHours, NoWorkingTime
from shared.db import Connection
from shared.settings import Settings

Window = tuple[datetime, datetime]


@dataclass(frozen=True)
class Slot:
    starts_at: datetime
    ends_at: datetime
    optional_ids: tuple[str, ...]
    """Optional attendees who are also inside their working hours for the whole slot."""


@dataclass(frozen=True)
class Suggestion:
    slots: list[Slot]
    reason_code: str | None = None
    reason: str | None = None


def person_hours(person: Person, region: Region) -> BusinessHours:
    calendar = region.calendar.model_copy(update={"time_zone": person.time_zone})
    return BusinessHours(calendar)


def working_windows(hours: BusinessHours, start: datetime, end: datetime) -> list[Window]:
    """Working windows inside ``[start, end)``, touching ones merged."""
    merged: list[Window] = []
    try:
        for window_start, window_end in hours.windows_from(start):
            if window_start >= end:
                break
            clipped = (window_start, min(window_end, end))
            if merged and merged[-1][1] >= clipped[0]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], clipped[1]))
            else:
                merged.append(clipped)
    except NoWorkingTime:
        pass  # the calendar has no working time at all from ``start`` on
    return merged


def intersect(a: Sequence[Window], b: Sequence[Window]) -> list[Window]:
    """Overlaps of two sorted, disjoint window lists."""
    result: list[Window] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if start < end:
            result.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return result


def _aligned(moment: datetime, step: timedelta) -> datetime:
    """The first multiple of ``step`` (counted from midnight UTC) at or after ``moment``."""
    midnight = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    steps = -(-(moment - midnight) // step)  # ceiling division
    return midnight + steps * step


def candidate_starts(
    windows: Iterable[Window], duration: timedelta, step: timedelta
) -> Iterable[datetime]:
    for start, end in windows:
        moment = _aligned(start, step)
        while moment + duration <= end:
            yield moment
            moment += step


def _covers(windows: Sequence[Window], start: datetime, end: datetime) -> bool:
    return any(ws <= start and end <= we for ws, we in windows)


def suggest(
    required: dict[str, BusinessHours],
    optional: dict[str, BusinessHours],
    start: datetime,
    end: datetime,
    duration: timedelta,
    step: timedelta,
    limit: int,
) -> Suggestion:
    """Slots where every required attendee works, most optional attendees first, then earliest."""
    per_person = {pid: working_windows(h, start, end) for pid, h in required.items()}
    idle = sorted(pid for pid, windows in per_person.items() if not windows)
    if idle:
        return Suggestion(
            [], "NO_WORKING_TIME", f"no working time in the range for: {', '.join(idle)}"
        )
    common: list[Window] | None = None
    for windows in per_person.values():
        common = windows if common is None else intersect(common, windows)
    optional_windows = {pid: working_windows(h, start, end) for pid, h in optional.items()}
    slots = [
        Slot(
            moment,
            moment + duration,
            tuple(
                sorted(
                    pid
                    for pid, windows in optional_windows.items()
                    if _covers(windows, moment, moment + duration)
                )
            ),
        )
        for moment in candidate_starts(common or [], duration, step)
    ]
    if not slots:
        minutes = int(duration.total_seconds() // 60)
        return Suggestion(
            [],
            "NO_COMMON_SLOT",
            f"the required attendees share no {minutes}-minute working window in the range",
        )
    slots.sort(key=lambda s: (-len(s.optional_ids), s.starts_at))
    return Suggestion(slots[:limit])


@dataclass(frozen=True)
class SlotQuery:
    required_ids: tuple[str, ...]
    optional_ids: tuple[str, ...]
    duration_minutes: int
    start: datetime
    end: datetime
    limit: int


def _range_problem(query: SlotQuery, max_days: int) -> str | None:
    if not query.required_ids:
        return "give at least one required attendee"
    if not 0 < query.duration_minutes <= 12 * 60:
        return "the duration must be between 1 and 720 minutes"
    if query.start.tzinfo is None or query.end.tzinfo is None:
        return "`from` and `to` need a UTC offset"
    if query.end <= query.start:
        return "`to` must be after `from`"
    if query.end - query.start > timedelta(days=max_days):
        return f"search at most {max_days} days at a time"
    return None


async def suggest_meeting_slots(
    conn: Connection, settings: Settings, query: SlotQuery
) -> Suggestion:
    """Validate the question, load the attendees' calendars and answer it."""
    problem = _range_problem(query, settings.requests_slot_max_days)
    if problem:
        return Suggestion([], "INVALID_QUESTION", problem)
    ids = set(query.required_ids) | set(query.optional_ids)
    people = await directory.people_by_ids(conn, list(ids))
    unknown = sorted(ids - set(people))
    if unknown:
        return Suggestion([], "UNKNOWN_PERSON", f"no such person: {', '.join(unknown)}")
    regions = await directory.regions_by_ids(conn, list({p.region_id for p in people.values()}))
    hours = {pid: person_hours(p, regions[p.region_id]) for pid, p in people.items()}
    return suggest(
        {pid: hours[pid] for pid in query.required_ids},
        {pid: hours[pid] for pid in query.optional_ids if pid not in query.required_ids},
        query.start.astimezone(UTC),
        query.end.astimezone(UTC),
        timedelta(minutes=query.duration_minutes),
        timedelta(minutes=settings.requests_slot_step_minutes),
        query.limit,
    )
