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
from services.tasks.rules import (
    check_instant,
    check_links,
    check_may_plan,
    check_offsets,
    check_parties_known,
    check_task_shape,
    check_title,
    may_plan,
    utc,
)
from shared.auth import Principal
from shared.db import Connection
from shared.events.contracts.tasks import TaskCreated, TaskUpdated
from shared.graphql.errors import DomainError, Problems
from shared.replicas import RequestReplica, get_request
from shared.runtime import ServiceRuntime
from shared.unit_of_work import UnitOfWork, unit_of_work

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
    problems = check_task_shape(command)
    given_raci = command.raci  # error paths name the entries as the caller sent them
    command = _normalised(command)
    async with unit_of_work(runtime) as uow:
        request = await get_request(uow.conn, command.request_id)
        check_may_plan(problems, principal, request)
        if request is not None:
            await check_links(
                problems, uow.conn, request.id, None, command.parent_id, command.depends_on
            )
        await check_parties_known(problems, uow.conn, given_raci, "raci")
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
        waiting = [t.title for t in found.values() if t.is_open]  # see STARTED_STATUSES
        if waiting:
            problems.add(
                "DEPENDENCY_NOT_DONE",
                "finish-to-start: wait until these are DONE (or cancelled): "
                + ", ".join(sorted(waiting)),
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
        changed = [n for n in sorted(values) if n in given and _differs(task, updated, n)]
        if "depends_on" in given and await _replace_dependencies(uow, task.id, given):
            changed = sorted([*changed, "depends_on"])
        await _announce_update(uow, principal, request, task, updated, raci, changed)
        await schedule_task(uow, updated)
    return updated


def _differs(before: Task, after: Task, name: str) -> bool:
    return bool(getattr(before, name) != getattr(after, name))


async def _replace_dependencies(uow: UnitOfWork, task_id: str, given: dict[str, Any]) -> bool:
    """Store the dependencies given; whether they differ from the stored ones."""
    wanted = list(dict.fromkeys(given["depends_on"]))
    stored = (await repo.dependencies_by_task_ids(uow.conn, [task_id])).get(task_id, [])
    await repo.replace_dependencies(uow.conn, task_id, wanted)
    return set(stored) != set(wanted)


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
