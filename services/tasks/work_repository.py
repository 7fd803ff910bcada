"""SQL of the work items the tasks service derives (:mod:`services.tasks.work_items`).

Each loader reads the current state of a whole batch of records in one statement (an import
can touch tens of thousands of tasks in one unit of work), on the unit's own connection, so
it sees the change being committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from services.tasks.models import RaciAssignment, RaciRole, TaskStatus
from services.tasks.reminders.schedule import Calendar
from services.tasks.reports.models import ReportPlan
from services.tasks.rules import FINISHED_REQUEST_STATUSES
from shared.calendars import AroundTheClock, BusinessHours, WorkCalendar
from shared.db import Connection


@dataclass(frozen=True)
class TaskState:
    """What a task's work items follow from."""

    id: str
    request_id: str
    title: str
    status: TaskStatus
    due_at: datetime | None
    reminder_offsets: tuple[int, ...]
    """The task's own offsets (working minutes before due), else the service's defaults."""
    request_finished: bool
    responsible: tuple[RaciAssignment, ...]
    """The R entries, in RACI order."""
    calendar: Calendar
    """The first R's region's business hours, on which reminder offsets count."""


@dataclass(frozen=True)
class ReportingState:
    """What a request's report items follow from: its plan, its departments, its reports."""

    plan: ReportPlan
    plan_set_at: datetime
    """When the communication plan was (last) set."""
    known: bool
    """The request's copy has arrived (else nothing is known of its departments)."""
    code: str
    title: str
    finished: bool
    lead_department_id: str
    participant_department_ids: tuple[str, ...]
    submitted: frozenset[tuple[str, date, date]]
    """(department id, first and last day of the period) of the reports submitted."""


_LOAD_TASKS = """
SELECT t.id, t.request_id, t.title, t.status, t.due_at, t.reminder_offsets,
       coalesce(r.status = ANY($2), false) AS request_finished,
       -- The R entries in RACI order; the first one's region sets the reminder calendar,
       -- as services.tasks.parties.responsible_calendar does.
       coalesce((SELECT jsonb_agg(jsonb_build_array(a.person_id, a.department_id)
                                  ORDER BY a.position)
                   FROM raci_assignments a
                  WHERE a.task_id = t.id AND a.role = 'R'), '[]') AS responsible,
       (SELECT coalesce(p.region_id, d.region_id)
          FROM raci_assignments a
          LEFT JOIN person_replicas p ON p.id = a.person_id
          LEFT JOIN department_replicas d ON d.id = a.department_id
         WHERE a.task_id = t.id AND a.role = 'R'
         ORDER BY a.position LIMIT 1) AS region_id
  FROM tasks t
  LEFT JOIN request_replicas r ON r.id = t.request_id
 WHERE t.id = ANY($1)
"""

_OPEN_TASKS_OF_ENDED_REQUESTS = """
SELECT t.id
  FROM tasks t JOIN request_replicas r ON r.id = t.request_id
 WHERE t.request_id = ANY($1) AND r.status = ANY($2)
   AND t.status NOT IN ('DONE', 'CANCELLED')
 ORDER BY t.request_id, t.id
"""

_REGION_CALENDARS = "SELECT id, calendar FROM region_replicas WHERE id = ANY($1)"

_LOAD_REPORTING = """
SELECT p.request_id, p.cadence, p.deadline_weekday, p.deadline_time, p.time_zone,
       p.updated_at AS plan_set_at,
       r.code, r.title, r.status, r.lead_department_id, r.participant_department_ids,
       -- The reports of the periods chased since the plan was set (see work_items):
       -- every such period ends on or after the plan's local date of setting.
       coalesce((SELECT jsonb_agg(jsonb_build_array(s.department_id, s.period_start,
                                                   s.period_end))
                   FROM progress_reports s
                  WHERE s.request_id = p.request_id
                    AND s.period_end >= (p.updated_at AT TIME ZONE p.time_zone)::date),
                '[]') AS submitted
  FROM report_plans p
  LEFT JOIN request_replicas r ON r.id = p.request_id
 WHERE p.request_id = ANY($1)
"""


async def open_tasks_of_ended_requests(conn: Connection, request_ids: Sequence[str]) -> list[str]:
    """Ids of the open tasks of those requests that have ended."""
    rows = await conn.fetch(
        _OPEN_TASKS_OF_ENDED_REQUESTS, list(request_ids), list(FINISHED_REQUEST_STATUSES)
    )
    return [r["id"] for r in rows]


async def load_tasks(
    conn: Connection, task_ids: Sequence[str], *, default_offsets: Sequence[int]
) -> dict[str, TaskState]:
    """The state each task's items follow from, by id; unknown ids are left out."""
    rows = await conn.fetch(_LOAD_TASKS, list(task_ids), list(FINISHED_REQUEST_STATUSES))
    calendars = await _calendars(conn, [r["region_id"] for r in rows if r["region_id"]])
    return {row["id"]: _task_state(row, calendars, default_offsets) for row in rows}


async def _calendars(conn: Connection, region_ids: Sequence[str]) -> dict[str, Calendar]:
    """Business hours per region: one statement for every region of the batch."""
    rows = await conn.fetch(_REGION_CALENDARS, list(dict.fromkeys(region_ids)))
    return {r["id"]: BusinessHours(WorkCalendar.model_validate(r["calendar"])) for r in rows}


def _task_state(
    row: Any, calendars: dict[str, Calendar], default_offsets: Sequence[int]
) -> TaskState:
    offsets = row["reminder_offsets"]
    return TaskState(
        id=row["id"],
        request_id=row["request_id"],
        title=row["title"],
        status=TaskStatus(row["status"]),
        due_at=row["due_at"],
        reminder_offsets=tuple(offsets if offsets is not None else default_offsets),
        request_finished=row["request_finished"],
        responsible=tuple(
            RaciAssignment(RaciRole.R, person, department)
            for person, department in row["responsible"]
        ),
        # 24x7 while the region (or its calendar) is not known here, as for the reminders.
        calendar=calendars.get(row["region_id"] or "", AroundTheClock()),
    )


async def load_reporting(conn: Connection, request_ids: Sequence[str]) -> list[ReportingState]:
    """The reporting state of those requests that have a communication plan."""
    rows = await conn.fetch(_LOAD_REPORTING, list(dict.fromkeys(request_ids)))
    return [_reporting_state(row) for row in rows]


def _reporting_state(row: Any) -> ReportingState:
    plan = ReportPlan(
        request_id=row["request_id"],
        cadence=row["cadence"],
        deadline_weekday=row["deadline_weekday"],
        deadline_time=row["deadline_time"],
        time_zone=row["time_zone"],
    )
    plan_set_at: datetime = row["plan_set_at"]
    return ReportingState(
        plan=plan,
        plan_set_at=plan_set_at,
        known=row["status"] is not None,
        code=row["code"] or "",
        title=row["title"] or "",
        finished=row["status"] in FINISHED_REQUEST_STATUSES,
        lead_department_id=row["lead_department_id"] or "",
        participant_department_ids=tuple(row["participant_department_ids"] or ()),
        submitted=frozenset(
            (department, date.fromisoformat(first), date.fromisoformat(last))
            for department, first, last in row["submitted"]
        ),
    )
