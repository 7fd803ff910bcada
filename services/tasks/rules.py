"""Validation and permission rules the task use cases share (no I/O except link checks).

Each check adds problems to a :class:`Problems`, so one response reports all of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from services.tasks import repository as repo
from services.tasks.models import NewTask, RaciAssignment, RaciRole
from services.tasks.parties import known_parties
from shared.auth import Principal
from shared.db import Connection
from shared.graphql.errors import Problems
from shared.replicas import RequestReplica

MAX_TITLE_LENGTH = 200
MAX_REMINDER_OFFSET_MINUTES = 60 * 24 * 30


def check_raci(problems: Problems, raci: Sequence[RaciAssignment], field: str = "raci") -> None:
    """Handbook template 2: exactly one Accountable (a person), at least one Responsible."""
    for index, assignment in enumerate(raci):
        if assignment.person_id is None and assignment.department_id is None:
            problems.add(
                "INVALID", "an assignment needs a person or a department", f"{field}.{index}"
            )
    accountable = [a for a in raci if a.role is RaciRole.A]
    if len(accountable) != 1:
        problems.add(
            "RACI_ACCOUNTABLE",
            f"a task needs exactly one A (accountable), got {len(accountable)}",
            field,
        )
    if any(a.person_id is None for a in accountable):
        problems.add("RACI_ACCOUNTABLE_PERSON", "the accountable (A) must be a named person", field)
    if not any(a.role is RaciRole.R for a in raci):
        problems.add("RACI_RESPONSIBLE", "a task needs at least one R (responsible)", field)


async def check_parties_known(
    problems: Problems, conn: Connection, raci: Sequence[RaciAssignment], field: str
) -> None:
    """Every person and department an assignment names is in the directory copy."""
    people, departments = await known_parties(conn, raci)
    lag = "; directory copies lag, so one added a moment ago may need a few seconds"
    for index, assignment in enumerate(raci):
        if assignment.person_id is not None and assignment.person_id not in people:
            problems.add(
                "PERSON_NOT_FOUND",
                f"no person {assignment.person_id} in the directory{lag}",
                f"{field}.{index}.personId",
            )
        if assignment.department_id is not None and assignment.department_id not in departments:
            problems.add(
                "DEPARTMENT_NOT_FOUND",
                f"no department {assignment.department_id} in the directory{lag}",
                f"{field}.{index}.departmentId",
            )


def check_title(problems: Problems, title: str) -> None:
    if not title.strip() or len(title.strip()) > MAX_TITLE_LENGTH:
        problems.add("INVALID", f"title must be 1 to {MAX_TITLE_LENGTH} characters", "title")


def check_instant(problems: Problems, value: datetime | None, field: str) -> None:
    # A time without an offset is ambiguous across regions, so it is refused rather than
    # guessed. The API's DateTime scalar already refuses one; this guards other callers.
    if value is not None and value.utcoffset() is None:
        problems.add(
            "INVALID", f"{field} needs a UTC offset, e.g. 2027-01-31T18:00:00+08:00", field
        )


def check_offsets(problems: Problems, offsets: Sequence[int] | None) -> None:
    if offsets is not None and not all(0 < m <= MAX_REMINDER_OFFSET_MINUTES for m in offsets):
        problems.add(
            "INVALID",
            f"reminder offsets are 1 to {MAX_REMINDER_OFFSET_MINUTES} working minutes",
            "reminderOffsetsMinutes",
        )


def check_task_shape(command: NewTask) -> Problems:
    problems = Problems()
    check_title(problems, command.title)
    check_instant(problems, command.due_at, "dueAt")
    check_instant(problems, command.planned_start, "plannedStart")
    check_offsets(problems, command.reminder_offsets)
    check_raci(problems, command.raci)
    return problems


def request_not_found(problems: Problems) -> None:
    problems.add(
        "REQUEST_NOT_FOUND",
        "no such request here yet; copies of requests are eventually consistent,"
        " so a request created a moment ago may need a few seconds to arrive",
        "requestId",
    )


FINISHED_REQUEST_STATUSES = ("CLOSED", "CANCELLED", "REJECTED")
"""Where the requests workflow ends: no move leads out of these."""


def request_finished(request: RequestReplica | None) -> bool:
    """Whether the request has ended; then none of its timers alert, re-arm or create work."""
    return request is not None and request.status in FINISHED_REQUEST_STATUSES


def may_plan(principal: Principal, request: RequestReplica) -> bool:
    """Only the lead department (or PMO/ADMIN) changes a request's plan (DESIGN §5)."""
    return principal.sees_everything or request.lead_department_id in principal.departments


def check_may_plan(
    problems: Problems, principal: Principal, request: RequestReplica | None
) -> None:
    if request is None:
        request_not_found(problems)
    elif not may_plan(principal, request):
        problems.add(
            "FORBIDDEN",
            "only the request's lead department or the PMO plans its tasks",
            "requestId",
        )


def utc(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value is not None and value.utcoffset() is not None else value


async def check_links(
    problems: Problems,
    conn: Connection,
    request_id: str,
    task_id: str | None,
    parent_id: str | None,
    depends_on: Sequence[str] | None,
) -> None:
    """Parent and dependencies exist in the same request and form no cycle."""
    wanted = [i for i in [parent_id, *(depends_on or [])] if i]
    found = await repo.tasks_by_ids(conn, wanted)
    if parent_id is not None:
        parent = found.get(parent_id)
        if parent is None or parent.request_id != request_id:
            problems.add("NOT_FOUND", "the parent must be a task of the same request", "parentId")
        elif task_id is not None and (
            parent_id == task_id or await repo.reaches(conn, [parent_id], task_id, "parent")
        ):
            problems.add("CYCLE", "a task cannot sit under itself or its own subtask", "parentId")
    for index, other in enumerate(depends_on or []):
        dependency = found.get(other)
        if dependency is None or dependency.request_id != request_id:
            problems.add(
                "NOT_FOUND", "a dependency must be a task of the same request", f"dependsOn.{index}"
            )
    if (
        task_id is not None
        and depends_on
        and (task_id in depends_on or await repo.reaches(conn, depends_on, task_id, "dependency"))
    ):
        problems.add("CYCLE", "dependencies may not loop back to the task", "dependsOn")
