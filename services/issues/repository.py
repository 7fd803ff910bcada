"""SQL of issues and their timelines. Functions take a connection and return models.

SLA clocks have their own SQL in :mod:`services.issues.sla.repository`; the report's in
:mod:`services.issues.reports`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from services.issues.models import (
    Issue,
    IssueAction,
    IssueStatus,
    NewIssue,
    Severity,
    TimelineEntry,
)
from shared.db import Connection
from shared.ids import new_id

# --- issues ---------------------------------------------------------------------------------

_ISSUE_COLUMNS = """i.id, i.code, i.request_id, i.task_id, i.title, i.description, i.impact,
    i.severity, i.urgent, i.status, i.reporter_id, i.lead_department_id, i.attempted_measures,
    i.created_at, i.updated_at, i.responsible_department_id, i.reporting_department_id,
    i.reporting_region_id, i.owner_id, i.plan, i.resolution, i.status_before_waiting,
    i.escalation_level, i.source_problem_id"""


def _issue(row: Any) -> Issue:
    before = row["status_before_waiting"]
    return Issue(
        **{
            **dict(row),
            "severity": Severity(row["severity"]),
            "status": IssueStatus(row["status"]),
            "status_before_waiting": IssueStatus(before) if before else None,
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
    reporting_region_id: str | None,
    created_at: datetime,
) -> Issue:
    row = await conn.fetchrow(
        f"""
        INSERT INTO issues AS i (id, code, request_id, task_id, title, description, impact,
                                 severity, urgent, status, reporter_id, lead_department_id,
                                 attempted_measures, responsible_department_id,
                                 reporting_department_id, reporting_region_id,
                                 source_problem_id, created_at, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $12, $14, $15, $16,
                $17, $17)
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
        command.reporting_department_id,
        reporting_region_id,
        command.source_problem_id,
        created_at,
    )
    return _issue(row)


async def lock_issue(conn: Connection, issue_id: str) -> Issue | None:
    """The issue, locked until the transaction ends: concurrent moves queue up behind it."""
    row = await conn.fetchrow(
        f"SELECT {_ISSUE_COLUMNS} FROM issues i WHERE i.id = $1 FOR UPDATE", issue_id
    )
    return _issue(row) if row else None


_UPDATABLE = frozenset(
    {
        "status",
        "status_before_waiting",
        "responsible_department_id",
        "owner_id",
        "plan",
        "resolution",
        "escalation_level",
    }
)


async def update_issue(conn: Connection, issue_id: str, at: datetime, **changes: Any) -> Issue:
    """Set the given columns (a fixed allow-list) and ``updated_at``."""
    unknown = set(changes) - _UPDATABLE
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    values = [v.value if isinstance(v, IssueStatus) else v for v in changes.values()]
    assignments = ", ".join(f"{name} = ${n}" for n, name in enumerate(changes, start=3))
    row = await conn.fetchrow(
        f"UPDATE issues i SET updated_at = $2, {assignments} WHERE i.id = $1"
        f" RETURNING {_ISSUE_COLUMNS}",
        issue_id,
        at,
        *values,
    )
    return _issue(row)


async def issue_by_problem(conn: Connection, problem_id: str) -> Issue | None:
    row = await conn.fetchrow(
        f"SELECT {_ISSUE_COLUMNS} FROM issues i WHERE i.source_problem_id = $1", problem_id
    )
    return _issue(row) if row else None


async def issues_by_ids(conn: Connection, ids: Sequence[str]) -> dict[str, Issue]:
    rows = await conn.fetch(
        f"SELECT {_ISSUE_COLUMNS} FROM issues i WHERE i.id = ANY($1)", list(ids)
    )
    return {r["id"]: _issue(r) for r in rows}


async def _grouped(conn: Connection, column: str, ids: Sequence[str]) -> dict[str, list[Issue]]:
    rows = await conn.fetch(
        f"SELECT {_ISSUE_COLUMNS} FROM issues i WHERE i.{column} = ANY($1) ORDER BY i.id DESC",
        list(ids),
    )
    result: dict[str, list[Issue]] = {}
    for row in rows:
        result.setdefault(row[column], []).append(_issue(row))
    return result


async def issues_by_request_ids(conn: Connection, ids: Sequence[str]) -> dict[str, list[Issue]]:
    """Each request's issues, newest first."""
    return await _grouped(conn, "request_id", ids)


async def issues_by_task_ids(conn: Connection, ids: Sequence[str]) -> dict[str, list[Issue]]:
    """Each task's issues, newest first."""
    return await _grouped(conn, "task_id", ids)


# Visible: PMO/ADMIN ($1), or one of the caller's departments ($2) works on the issue (lead or
# responsible, which may come from outside the request) or takes part in the request, as our
# replica of the request says now (so a department added later sees older issues).
VISIBLE = """($1 OR i.lead_department_id = ANY($2) OR i.responsible_department_id = ANY($2)
    OR EXISTS (
    SELECT 1 FROM request_replicas r
     WHERE r.id = i.request_id
       AND (r.lead_department_id = ANY($2) OR r.participant_department_ids && $2)))"""


_ISSUE_FILTER = f"""{VISIBLE}
           AND ($3::text[] IS NULL OR i.status = ANY($3))
           AND ($4::text IS NULL OR i.request_id = $4)
           AND ($5::text IS NULL OR i.responsible_department_id = $5)
           AND ($6::boolean IS NULL OR i.urgent = $6)"""
"""The filter of ``issues``: visibility ($1, $2), statuses, request, responsible, urgent."""


def _issue_filter_args(
    sees_all: bool,
    departments: Sequence[str],
    statuses: Sequence[IssueStatus] | None,
    request_id: str | None,
    responsible_department_id: str | None,
    urgent: bool | None,
) -> list[object]:
    return [
        sees_all,
        list(departments),
        [s.value for s in statuses] if statuses else None,
        request_id,
        responsible_department_id,
        urgent,
    ]


async def list_issues(
    conn: Connection,
    *,
    sees_all: bool,
    departments: Sequence[str],
    after_id: str | None,
    limit: int,
    statuses: Sequence[IssueStatus] | None = None,
    request_id: str | None = None,
    responsible_department_id: str | None = None,
    urgent: bool | None = None,
) -> list[Issue]:
    """Visible issues matching the filter, newest first (UUIDv7 ids sort by creation)."""
    rows = await conn.fetch(
        f"""
        SELECT {_ISSUE_COLUMNS} FROM issues i
         WHERE {_ISSUE_FILTER}
           AND ($7::text IS NULL OR i.id < $7)
         ORDER BY i.id DESC
         LIMIT $8
        """,
        *_issue_filter_args(
            sees_all, departments, statuses, request_id, responsible_department_id, urgent
        ),
        after_id,
        limit,
    )
    return [_issue(r) for r in rows]


async def count_issues(
    conn: Connection,
    *,
    sees_all: bool,
    departments: Sequence[str],
    statuses: Sequence[IssueStatus] | None = None,
    request_id: str | None = None,
    responsible_department_id: str | None = None,
    urgent: bool | None = None,
) -> int:
    """How many issues :func:`list_issues` pages through with the same filter."""
    count: int = await conn.fetchval(
        f"SELECT count(*) FROM issues i WHERE {_ISSUE_FILTER}",
        *_issue_filter_args(
            sees_all, departments, statuses, request_id, responsible_department_id, urgent
        ),
    )
    return count


# --- timeline -------------------------------------------------------------------------------


async def add_timeline(
    conn: Connection,
    issue_id: str,
    at: datetime,
    action: IssueAction,
    *,
    actor_id: str | None,
    from_status: IssueStatus | None = None,
    to_status: IssueStatus | None = None,
    note: str = "",
) -> None:
    await conn.execute(
        """
        INSERT INTO issue_timeline (issue_id, at, actor_id, action, from_status, to_status, note)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        """,
        issue_id,
        at,
        actor_id,
        action.value,
        from_status.value if from_status else None,
        to_status.value if to_status else None,
        note,
    )


async def timelines_by_issue_ids(
    conn: Connection, ids: Sequence[str]
) -> dict[str, list[TimelineEntry]]:
    """Each issue's timeline, oldest first."""
    rows = await conn.fetch(
        "SELECT seq, issue_id, at, actor_id, action, from_status, to_status, note"
        " FROM issue_timeline WHERE issue_id = ANY($1) ORDER BY issue_id, seq",
        list(ids),
    )
    result: dict[str, list[TimelineEntry]] = {}
    for row in rows:
        entry = TimelineEntry(
            **{
                **dict(row),
                "action": IssueAction(row["action"]),
                "from_status": IssueStatus(row["from_status"]) if row["from_status"] else None,
                "to_status": IssueStatus(row["to_status"]) if row["to_status"] else None,
            }
        )
        result.setdefault(row["issue_id"], []).append(entry)
    return result


# --- directory replicas ---------------------------------------------------------------------


async def person_department(conn: Connection, person_id: str) -> str | None:
    """The department of a person our directory copy knows, else None."""
    value: str | None = await conn.fetchval(
        "SELECT department_id FROM person_replicas WHERE id = $1", person_id
    )
    return value


async def pmo_members(conn: Connection) -> list[str]:
    """Everyone holding the PMO role, by id."""
    rows = await conn.fetch("SELECT id FROM person_replicas WHERE 'PMO' = ANY(roles) ORDER BY id")
    return [r["id"] for r in rows]


async def people_calendars(conn: Connection, ids: Sequence[str]) -> dict[str, tuple[str, Any]]:
    """Each known person's time zone and their region's calendar (None if not arrived)."""
    rows = await conn.fetch(
        """
        SELECT p.id, p.time_zone, r.calendar FROM person_replicas p
          LEFT JOIN region_replicas r ON r.id = p.region_id
         WHERE p.id = ANY($1)
        """,
        list(ids),
    )
    return {r["id"]: (r["time_zone"], r["calendar"]) for r in rows}
