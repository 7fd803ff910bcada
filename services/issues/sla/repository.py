"""SQL of SLA clocks and of the warnings already announced."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from services.issues.models import SlaCalendar, SlaClock, SlaClockState, SlaMetric
from shared.db import Connection
from shared.ids import new_id
from shared.timers import COLUMNS as TIMER_COLUMNS
from shared.timers import TimerRow

_COLUMNS = """id, issue_id, metric, target_minutes, started_at, due_at, paused_minutes,
    paused_at, met_at, breached_at, state, calendar, region_id, segment_started_at,
    consumed_minutes, elapsed_minutes, warn_at_percents, held_escalation_minutes, warn_at"""


def _clock(row: Any) -> SlaClock:
    return SlaClock(
        **{
            **dict(row),
            "metric": SlaMetric(row["metric"]),
            "state": SlaClockState(row["state"]),
            "calendar": SlaCalendar(row["calendar"]),
            "warn_at_percents": tuple(row["warn_at_percents"]),
        }
    )


async def insert_clock(
    conn: Connection,
    *,
    issue_id: str,
    metric: SlaMetric,
    target_minutes: int,
    started_at: datetime,
    due_at: datetime,
    calendar: SlaCalendar,
    region_id: str | None,
    warn_at_percents: Sequence[int],
    warn_at: datetime | None,
) -> SlaClock:
    row = await conn.fetchrow(
        f"""
        INSERT INTO sla_clocks (id, issue_id, metric, target_minutes, started_at, due_at, state,
                                calendar, region_id, segment_started_at, warn_at_percents,
                                warn_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $5, $10, $11)
        RETURNING {_COLUMNS}
        """,
        new_id(),
        issue_id,
        metric.value,
        target_minutes,
        started_at,
        due_at,
        SlaClockState.RUNNING.value,
        calendar.value,
        region_id,
        list(warn_at_percents),
        warn_at,
    )
    return _clock(row)


_SETTABLE = frozenset(
    {
        "due_at",
        "paused_minutes",
        "paused_at",
        "met_at",
        "breached_at",
        "state",
        "region_id",
        "segment_started_at",
        "consumed_minutes",
        "elapsed_minutes",
        "held_escalation_minutes",
        "warn_at",
    }
)


async def update_clock(conn: Connection, clock_id: str, **changes: Any) -> SlaClock:
    """Set the given columns (a fixed allow-list) of one clock."""
    unknown = set(changes) - _SETTABLE
    if unknown:
        raise ValueError(f"not settable: {sorted(unknown)}")
    values = [v.value if isinstance(v, SlaClockState) else v for v in changes.values()]
    assignments = ", ".join(f"{name} = ${n}" for n, name in enumerate(changes, start=2))
    row = await conn.fetchrow(
        f"UPDATE sla_clocks SET {assignments} WHERE id = $1 RETURNING {_COLUMNS}",
        clock_id,
        *values,
    )
    return _clock(row)


async def lock_clock(conn: Connection, clock_id: str) -> SlaClock | None:
    """One clock, locked; a timer and a move on the same clock take turns."""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM sla_clocks WHERE id = $1 FOR UPDATE", clock_id
    )
    return _clock(row) if row else None


async def clocks_of_issue(conn: Connection, issue_id: str) -> list[SlaClock]:
    """The issue's clocks, locked (the caller holds the issue's lock already)."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM sla_clocks WHERE issue_id = $1 ORDER BY metric DESC FOR UPDATE",
        issue_id,
    )
    return [_clock(r) for r in rows]


CLOCK_ORDER = "{row}.started_at, {row}.metric DESC, {row}.id"
"""The order of an issue's clocks (``{row}``: a clock), RESPONSE before PLAN; both read
paths of ``Issue.slaClocks`` sort by it."""

CLOCK_REGION = "CASE WHEN {row}.calendar = 'BUSINESS_HOURS' THEN nullif({row}.region_id, '') END"
"""Whose working hours clock ``{row}`` counts, as ``SlaClock.region`` shows it: none for a
24x7 clock. Both read paths of that field read this expression."""


async def clocks_by_issue_ids(conn: Connection, ids: Sequence[str]) -> dict[str, list[SlaClock]]:
    """Each issue's clocks, RESPONSE before PLAN."""
    shown = await shown_clocks_by_issue_ids(conn, ids)
    return {issue: [clock for clock, _ in clocks] for issue, clocks in shown.items()}


async def shown_clocks_by_issue_ids(
    conn: Connection, ids: Sequence[str]
) -> dict[str, list[tuple[SlaClock, str | None]]]:
    """Each issue's clocks in CLOCK_ORDER, each with its CLOCK_REGION."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS}, {CLOCK_REGION.format(row='c')} AS shown_region_id"
        f" FROM sla_clocks c WHERE c.issue_id = ANY($1)"
        f" ORDER BY c.issue_id, {CLOCK_ORDER.format(row='c')}",
        list(ids),
    )
    result: dict[str, list[tuple[SlaClock, str | None]]] = {}
    for row in rows:
        values = {k: v for k, v in row.items() if k != "shown_region_id"}
        result.setdefault(row["issue_id"], []).append((_clock(values), row["shown_region_id"]))
    return result


async def open_business_clock_issues(
    conn: Connection,
    *,
    region_id: str | None = None,
    department_id: str | None = None,
    outside_region: str | None = None,
) -> list[str]:
    """Issues with a business-hours clock still counting: in a region, or of a responsible
    department (and then, if given, counting in a region other than ``outside_region``)."""
    rows = await conn.fetch(
        """
        SELECT DISTINCT c.issue_id FROM sla_clocks c JOIN issues i ON i.id = c.issue_id
         WHERE c.met_at IS NULL AND c.calendar = 'BUSINESS_HOURS'
           AND ($1::text IS NULL OR c.region_id = $1)
           AND ($2::text IS NULL OR i.responsible_department_id = $2)
           AND ($3::text IS NULL OR c.region_id IS DISTINCT FROM $3)
         ORDER BY c.issue_id
        """,
        region_id,
        department_id,
        outside_region,
    )
    return [r["issue_id"] for r in rows]


async def record_warning(conn: Connection, clock_id: str, percent: int) -> bool:
    """Remember that a warning went out; False if it already had (so it is not sent twice)."""
    inserted = await conn.fetchval(
        "INSERT INTO sla_warnings (clock_id, percent) VALUES ($1, $2)"
        " ON CONFLICT DO NOTHING RETURNING true",
        clock_id,
        percent,
    )
    return bool(inserted)


async def warned_percents(conn: Connection, clock_id: str) -> set[int]:
    rows = await conn.fetch("SELECT percent FROM sla_warnings WHERE clock_id = $1", clock_id)
    return {r["percent"] for r in rows}


async def region_calendars(conn: Connection, region_ids: Sequence[str]) -> dict[str, Any]:
    """Stored calendar JSON of each region whose event has arrived."""
    rows = await conn.fetch(
        "SELECT id, calendar FROM region_replicas WHERE id = ANY($1)", list(region_ids)
    )
    return {r["id"]: r["calendar"] for r in rows}


async def pending_timer(conn: Connection, kind: str, subject: str) -> TimerRow | None:
    """A timer that is armed and has not fired yet."""
    row = await conn.fetchrow(
        f"SELECT {TIMER_COLUMNS} FROM timers WHERE kind = $1 AND subject = $2 AND fired_at IS NULL",
        kind,
        subject,
    )
    return TimerRow.from_record(row) if row else None
