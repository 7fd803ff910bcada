"""Use cases of the tasks service: one transaction each, every change emits its event."""

from __future__ import annotations

from datetime import UTC

from services.tasks import repository as repo
from services.tasks.models import NewTask, RaciAssignment, RaciRole, Task
from shared.auth import Principal
from shared.events.contracts.tasks import RaciEntry, TaskCreated
from shared.graphql.errors import Problems
from shared.replicas import RequestReplica, get_request
from shared.runtime import ServiceRuntime
from shared.unit_of_work import unit_of_work

MAX_TITLE_LENGTH = 200


def check_raci(problems: Problems, raci: tuple[RaciAssignment, ...]) -> None:
    """Handbook template 2: exactly one Accountable (a person), at least one Responsible."""
    for index, assignment in enumerate(raci):
        if assignment.person_id is None and assignment.department_id is None:
            problems.add("INVALID", "an assignment needs a person or a department", f"raci.{index}")
    accountable = [a for a in raci if a.role is RaciRole.A]
    if len(accountable) != 1:
        problems.add(
            "RACI_ACCOUNTABLE",
            f"a task needs exactly one A (accountable), got {len(accountable)}",
            "raci",
        )
    if any(a.person_id is None for a in accountable):
        problems.add(
            "RACI_ACCOUNTABLE_PERSON", "the accountable (A) must be a named person", "raci"
        )
    if not any(a.role is RaciRole.R for a in raci):
        problems.add("RACI_RESPONSIBLE", "a task needs at least one R (responsible)", "raci")


def _check_task_shape(command: NewTask) -> Problems:
    problems = Problems()
    if not command.title.strip() or len(command.title.strip()) > MAX_TITLE_LENGTH:
        problems.add("INVALID", f"title must be 1 to {MAX_TITLE_LENGTH} characters", "title")
    # The DateTime scalar accepts naive values; a deadline without an offset is ambiguous
    # across regions, so it is refused rather than guessed.
    if command.due_at is not None and command.due_at.utcoffset() is None:
        problems.add("INVALID", "dueAt needs a UTC offset, e.g. 2027-01-31T18:00:00+08:00", "dueAt")
    check_raci(problems, command.raci)
    return problems


def _check_may_plan(
    problems: Problems, principal: Principal, request: RequestReplica | None
) -> None:
    """Only the lead department (or PMO/ADMIN) changes a request's plan (DESIGN §5)."""
    if request is None:
        problems.add(
            "REQUEST_NOT_FOUND",
            "no such request here yet; copies of requests are eventually consistent,"
            " so a request created a moment ago may need a few seconds to arrive",
            "requestId",
        )
    elif not (principal.sees_everything or request.lead_department_id in principal.departments):
        problems.add(
            "FORBIDDEN",
            "only the request's lead department or the PMO plans its tasks",
            "requestId",
        )


def _normalised(command: NewTask) -> NewTask:
    """Trimmed title, due time in UTC, repeated assignments dropped."""
    due_at = command.due_at
    if due_at is not None and due_at.utcoffset() is not None:
        due_at = due_at.astimezone(UTC)
    return NewTask(
        request_id=command.request_id,
        title=command.title.strip(),
        raci=tuple(dict.fromkeys(command.raci)),
        description=command.description,
        due_at=due_at,
    )


async def create_task(runtime: ServiceRuntime, principal: Principal, command: NewTask) -> Task:
    """Create a TODO task of a request with a valid RACI assignment."""
    problems = _check_task_shape(command)
    command = _normalised(command)
    async with unit_of_work(runtime) as uow:
        request = await get_request(uow.conn, command.request_id)
        _check_may_plan(problems, principal, request)
        problems.raise_if_any()
        assert request is not None  # refused above
        task = await repo.insert_task(uow.conn, command, created_by=principal.sub)
        data = TaskCreated(
            id=task.id,
            request_id=task.request_id,
            title=task.title,
            due_at=task.due_at,
            raci=[
                RaciEntry(role=a.role.value, person_id=a.person_id, department_id=a.department_id)
                for a in command.raci
            ],
            created_by=principal.sub,
        )
        await uow.emit("tasks.task.created", task.id, data, departments=list(request.departments))
    return task
