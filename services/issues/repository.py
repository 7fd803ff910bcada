"""SQL of the issues service, in one place. Functions take a connection and return models."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from services.issues.models import (
    Issue,
    IssueStatus,
    NewIssue,
    Severity,
    SlaClock,
    SlaClockState,
    SlaMetric,
)
from shared.db import Connection
from shared.ids import new_id

# --- issues ---------------------------------------------------------------------------------

_ISSUE_COLUMNS = """i.id, i.code, i.request_id, i.task_id, i.title, i.description, i.impact,
    i.severity, i.urgent, i.status, i.reporter_id, i.lead_department_id, i.attempted_measures,
    i.created_at, i.updated_at"""


def _issue(row: Any) -> Issue:
    return Issue(
        **{
            **dict(row),
            "severity": Severity(row["severity"]),
            "status": IssueStatus(row["status"]),
        }
    )


async def next_issue_code(conn: Connection, year: int) -> str:
    """``ISS-<year>-<n>``; the counter row lock serialises concurrent reports."""
    number = await conn.fetchval(
        """
        INSERT INTO issue_code_counters (year, last) VALUES ($1, 1)
        ON CONFLICT (year) DO UPDATE SET last = issue_code_counters.last + 1
        RETURNING last
        """,
        year,
    )
    return f"ISS-{year}-{number:04d}"


async def insert_issue(
    conn: Connection,
    command: NewIssue,
    *,
    code: str,
    reporter_id: str,
    lead_department_id: str,
) -> Issue:
    row = await conn.fetchrow(
        f"""
        INSERT INTO issues AS i (id, code, request_id, task_id, title, description, impact,
                                 severity, urgent, status, reporter_id, lead_department_id,
                                 attempted_measures)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
        RETURNING {_ISSUE_COLUMNS}
        """,
        new_id(),
        code,
        command.request_id,
        command.task_id,
        command.title,
        command.description,
        command.impact,
        command.severity.value,
        command.urgent,
        IssueStatus.REPORTED.value,
        reporter_id,
        lead_department_id,
        command.attempted_measures,
    )
    return _issue(row)


async def issues_by_ids(conn: Connection, ids: Sequence[str]) -> dict[str, Issue]:
    rows = await conn.fetch(
        f"SELECT {_ISSUE_COLUMNS} FROM issues i WHERE i.id = ANY($1)", list(ids)
    )
    return {r["id"]: _issue(r) for r in rows}


async def issues_by_request_ids(conn: Connection, ids: Sequence[str]) -> dict[str, list[Issue]]:
    """Each request's issues, newest first."""
    rows = await conn.fetch(
        f"SELECT {_ISSUE_COLUMNS} FROM issues i WHERE i.request_id = ANY($1) ORDER BY i.id DESC",
        list(ids),
    )
    result: dict[str, list[Issue]] = {}
    for row in rows:
        result.setdefault(row["request_id"], []).append(_issue(row))
    return result


# Visible: PMO/ADMIN ($1), or one of the caller's departments ($2) takes part in the request,
# as our replica of the request says now (so a department added later sees older issues).
_VISIBLE = """($1 OR EXISTS (
    SELECT 1 FROM request_replicas r
     WHERE r.id = i.request_id
       AND (r.lead_department_id = ANY($2) OR r.participant_department_ids && $2)))"""


async def list_issues(
    conn: Connection,
    *,
    sees_all: bool,
    departments: Sequence[str],
    after_id: str | None,
    limit: int,
) -> list[Issue]:
    """Visible issues, newest first (ids are UUIDv7, so they sort by creation time)."""
    rows = await conn.fetch(
        f"""
        SELECT {_ISSUE_COLUMNS} FROM issues i
         WHERE {_VISIBLE}
           AND ($3::text IS NULL OR i.id < $3)
         ORDER BY i.id DESC
         LIMIT $4
        """,
        sees_all,
        list(departments),
        after_id,
        limit,
    )
    return [_issue(r) for r in rows]


# --- SLA clocks -----------------------------------------------------------------------------

_CLOCK_COLUMNS = """id, issue_id, metric, target_minutes, started_at, due_at, paused_minutes,
    paused_at, met_at, breached_at, state"""


def _clock(row: Any) -> SlaClock:
    return SlaClock(
        **{
            **dict(row),
            "metric": SlaMetric(row["metric"]),
            "state": SlaClockState(row["state"]),
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
) -> SlaClock:
    row = await conn.fetchrow(
        f"""
        INSERT INTO sla_clocks (id, issue_id, metric, target_minutes, started_at, due_at, state)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        RETURNING {_CLOCK_COLUMNS}
        """,
        new_id(),
        issue_id,
        metric.value,
        target_minutes,
        started_at,
        due_at,
        SlaClockState.RUNNING.value,
    )
    return _clock(row)


async def breach_clock(conn: Connection, clock_id: str) -> SlaClock | None:
    """Mark a RUNNING clock BREACHED; None if it is not running (met, paused, breached)."""
    row = await conn.fetchrow(
        f"""
        UPDATE sla_clocks SET state = $2, breached_at = now()
         WHERE id = $1 AND state = $3
        RETURNING {_CLOCK_COLUMNS}
        """,
        clock_id,
        SlaClockState.BREACHED.value,
        SlaClockState.RUNNING.value,
    )
    return _clock(row) if row else None


async def clocks_by_issue_ids(conn: Connection, ids: Sequence[str]) -> dict[str, list[SlaClock]]:
    """Each issue's clocks, RESPONSE before PLAN."""
    rows = await conn.fetch(
        f"SELECT {_CLOCK_COLUMNS} FROM sla_clocks WHERE issue_id = ANY($1)"
        " ORDER BY issue_id, started_at, metric DESC",
        list(ids),
    )
    result: dict[str, list[SlaClock]] = {}
    for row in rows:
        result.setdefault(row["issue_id"], []).append(_clock(row))
    return result


# --- request replicas -----------------------------------------------------------------------
