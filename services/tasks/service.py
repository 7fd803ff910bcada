"""Use cases on tasks: one transaction each, every change emits its event and keeps the
task's reminder timers in line."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from services.tasks import repository as repo
from services.tasks.models import (
    STARTED_STATUSES,
    STATUS_MOVES,
    NewTask,
    RaciAssignment,
    RaciRole,
    Task,
    TaskChanges,
    TaskStatus,
)
from services.tasks.parties import raci_entries
from services.tasks.reminders.timers import schedule_task
from shared.auth import Principal
from shared.db import Connection
from shared.events.contracts.tasks import TaskCreated, TaskUpdated
from shared.graphql.errors import DomainError, Problems
from shared.replicas import RequestReplica, get_request
from shared.runtime import ServiceRuntime
from shared.unit_of_work import UnitOfWork, unit_of_work

MAX_TITLE_LENGTH = 200
MAX_REMINDER_OFFSET_MINUTES = 60 * 24 * 30


# --- validation -------------------------------------------------------------------------------


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


def check_title(problems: Problems, title: str) -> None:
    if not title.strip() or len(title.strip()) > MAX_TITLE_LENGTH:
        problems.add("INVALID", f"title must be 1 to {MAX_TITLE_LENGTH} characters", "title")


def check_instant(problems: Problems, value: datetime | None, field: str) -> None:
    # The DateTime scalar accepts naive values; a time without an offset is ambiguous
    # across regions, so it is refused rather than guessed.
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


def _check_task_shape(command: NewTask) -> Problems:
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


# --- creating ------------------------------------------------------------------------------------


def _normalised(command: NewTask) -> NewTask:
    """Trimmed title, times in UTC, repeated assignments and dependencies dropped."""
    return replace(
        command,
        title=command.title.strip(),
        raci=tuple(dict.fromkeys(command.raci)),
        due_at=utc(command.due_at),
        planned_start=utc(command.planned_start),
        depends_on=tuple(dict.fromkeys(command.depends_on)),
    )


async def add_task(
    uow: UnitOfWork, command: NewTask, request: RequestReplica | None, created_by: str
) -> Task | None:
    """Store a valid task, announce it and arm its timers; None if its source already made it."""
    task = await repo.insert_task(uow.conn, command, created_by=created_by)
    if task is None:
        return None
    data = TaskCreated(
        id=task.id,
        request_id=task.request_id,
        title=task.title,
        due_at=task.due_at,
        raci=raci_entries(command.raci),
        created_by=created_by,
        source=task.source.value,
        parent_id=task.parent_id,
        is_milestone=task.is_milestone,
    )
    departments = list(request.departments) if request else []
    await uow.emit("tasks.task.created", task.id, data, departments=departments)
    await schedule_task(uow, task)
    return task


async def create_task(runtime: ServiceRuntime, principal: Principal, command: NewTask) -> Task:
    """Create a TODO task of a request with a valid RACI assignment."""
    problems = _check_task_shape(command)
    command = _normalised(command)
    async with unit_of_work(runtime) as uow:
        request = await get_request(uow.conn, command.request_id)
        check_may_plan(problems, principal, request)
        if request is not None:
            await check_links(
                problems, uow.conn, request.id, None, command.parent_id, command.depends_on
            )
        problems.raise_if_any()
        task = await add_task(uow, command, request, principal.sub)
        assert task is not None  # plan tasks have no source reference to collide on
    return task


# --- updating ------------------------------------------------------------------------------------


def _may_work_on(principal: Principal, request: RequestReplica, raci: list[RaciAssignment]) -> bool:
    """Planners, and the people who are R or A (or belong to an R department), move work."""
    if may_plan(principal, request):
        return True
    for a in raci:
        if a.role in (RaciRole.R, RaciRole.A) and a.person_id == principal.sub:
            return True
        if a.role is RaciRole.R and a.department_id in principal.departments:
            return True
    return False


_PLAN_FIELDS = {
    "title",
    "description",
    "phase",
    "due_at",
    "planned_start",
    "parent_id",
    "is_milestone",
    "depends_on",
    "reminder_offsets",
}


async def _load_for_change(
    uow: UnitOfWork, principal: Principal, task_id: str, plan_change: bool
) -> tuple[Task, RequestReplica, list[RaciAssignment]]:
    task = await repo.lock_task(uow.conn, task_id)
    request = await get_request(uow.conn, task.request_id) if task else None
    if task is None or request is None or not principal.may_see(request.departments):
        raise DomainError.single("NOT_FOUND", "no such task", "taskId")
    raci = (await repo.raci_by_task_ids(uow.conn, [task.id])).get(task.id, [])
    allowed = (
        may_plan(principal, request) if plan_change else _may_work_on(principal, request, raci)
    )
    if not allowed:
        raise DomainError.single(
            "FORBIDDEN",
            "only the lead department or PMO changes the plan; R and A also move status",
            "taskId",
        )
    return task, request, raci


async def _check_status(
    problems: Problems, conn: Connection, task: Task, status: TaskStatus, depends_on: Sequence[str]
) -> None:
    if status != task.status and status not in STATUS_MOVES[task.status]:
        problems.add(
            "INVALID_STATUS_MOVE", f"a {task.status} task cannot become {status}", "status"
        )
    if status in STARTED_STATUSES:
        found = await repo.tasks_by_ids(conn, depends_on)
        waiting = [t.title for t in found.values() if t.status is not TaskStatus.DONE]
        if waiting:
            problems.add(
                "DEPENDENCY_NOT_DONE",
                "finish-to-start: wait until these are DONE: " + ", ".join(sorted(waiting)),
                "status",
            )
    if status is TaskStatus.DONE:
        children = (await repo.children_by_parent_ids(conn, [task.id])).get(task.id, [])
        if any(c.is_open for c in children):
            problems.add("CHILDREN_OPEN", "finish or cancel the subtasks first", "status")


def _status_side_effects(task: Task, values: dict[str, Any]) -> None:
    """Actual dates and progress follow the status."""
    status = values.get("status", task.status)
    if status is task.status:
        return
    now = datetime.now(UTC)
    if status in STARTED_STATUSES and task.started_at is None:
        values["started_at"] = now
    if status is TaskStatus.DONE:
        values["completed_at"] = now
        values["progress"] = 100
    elif task.completed_at is not None:
        values["completed_at"] = None


async def update_task(runtime: ServiceRuntime, principal: Principal, changes: TaskChanges) -> Task:
    """Change a task's fields, status or progress; refusals change nothing."""
    given: dict[str, Any] = changes.given()
    async with unit_of_work(runtime) as uow:
        task, request, raci = await _load_for_change(
            uow, principal, changes.task_id, bool(_PLAN_FIELDS & set(given))
        )
        problems = Problems()
        await _validate_changes(problems, uow.conn, task, given)
        problems.raise_if_any()
        values: dict[str, Any] = {k: v for k, v in given.items() if k != "depends_on"}
        for name in ("due_at", "planned_start"):
            if name in values:
                values[name] = utc(values[name])
        if "title" in values:
            values["title"] = str(values["title"]).strip()
        _status_side_effects(task, values)
        updated = await repo.update_task(uow.conn, task.id, values) if values else task
        if "depends_on" in given:
            await repo.replace_dependencies(
                uow.conn, task.id, list(dict.fromkeys(given["depends_on"]))
            )
        await _announce_update(uow, principal, request, task, updated, raci, sorted(given))
        await schedule_task(uow, updated)
    return updated


async def _validate_changes(
    problems: Problems, conn: Connection, task: Task, given: dict[str, Any]
) -> None:
    if "title" in given:
        check_title(problems, given["title"])
    for name, field in (("due_at", "dueAt"), ("planned_start", "plannedStart")):
        if name in given:
            check_instant(problems, given[name], field)
    if "reminder_offsets" in given:
        check_offsets(problems, given["reminder_offsets"])
    if "progress" in given and not 0 <= given["progress"] <= 100:
        problems.add("INVALID", "progress is a percentage from 0 to 100", "progress")
    if "parent_id" in given or "depends_on" in given:
        await check_links(
            problems,
            conn,
            task.request_id,
            task.id,
            given.get("parent_id"),
            given.get("depends_on"),
        )
    depends_on = given.get("depends_on")
    if depends_on is None:
        depends_on = (await repo.dependencies_by_task_ids(conn, [task.id])).get(task.id, [])
    status = given.get("status", task.status)
    if "status" in given or ("depends_on" in given and status in STARTED_STATUSES):
        await _check_status(problems, conn, task, status, depends_on)


async def _announce_update(
    uow: UnitOfWork,
    principal: Principal,
    request: RequestReplica,
    before: Task,
    after: Task,
    raci: list[RaciAssignment],
    changed: list[str],
) -> None:
    data = TaskUpdated(
        id=after.id,
        request_id=after.request_id,
        title=after.title,
        status=after.status.value,
        previous_status=before.status.value,
        progress=after.progress,
        due_at=after.due_at,
        changed=changed,
        actor_id=principal.sub,
        raci=raci_entries(raci),
    )
    await uow.emit("tasks.task.updated", after.id, data, departments=list(request.departments))
