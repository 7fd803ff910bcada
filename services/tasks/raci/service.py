"""``setRaci``: replace a task's assignments in one transaction, with createTask's rules, and
refuse people and departments the directory copy does not know."""

from __future__ import annotations

from collections.abc import Sequence

from services.tasks import repository as repo
from services.tasks.models import RaciAssignment, Task
from services.tasks.parties import raci_entries
from services.tasks.reminders.timers import schedule_task
from services.tasks.rules import check_may_plan, check_parties_known, check_raci
from shared.auth import Principal
from shared.events.contracts.tasks import RaciSet
from shared.graphql.errors import DomainError, Problems
from shared.replicas import RequestReplica, get_request
from shared.runtime import ServiceRuntime
from shared.unit_of_work import UnitOfWork, unit_of_work


async def set_raci(
    runtime: ServiceRuntime,
    principal: Principal,
    task_id: str,
    assignments: Sequence[RaciAssignment],
) -> Task:
    """All or nothing: the old assignments go only if the new set is valid and names only
    people and departments of the directory."""
    raci = tuple(dict.fromkeys(assignments))
    problems = Problems()
    check_raci(problems, raci, "assignments")
    async with unit_of_work(runtime) as uow:
        task = await repo.lock_task(uow.conn, task_id)
        request = await get_request(uow.conn, task.request_id) if task else None
        if task is None or request is None or not principal.may_see(request.departments):
            raise DomainError.single("NOT_FOUND", "no such task", "taskId")
        check_may_plan(problems, principal, request)
        # Positions as given: the paths name the entries the caller sent.
        await check_parties_known(problems, uow.conn, assignments, "assignments")
        problems.raise_if_any()
        await store_raci(uow, principal, task, request, raci)
    return task


async def store_raci(
    uow: UnitOfWork,
    principal: Principal,
    task: Task,
    request: RequestReplica,
    raci: Sequence[RaciAssignment],
) -> None:
    """Replace the (locked, checked) task's assignments in ``uow``, announce it and move its
    reminders; a RACI sheet's import stores each changed row through here too."""
    previous = (await repo.raci_by_task_ids(uow.conn, [task.id])).get(task.id, [])
    await repo.replace_raci(uow.conn, task.id, raci)
    data = RaciSet(
        task_id=task.id,
        request_id=task.request_id,
        title=task.title,
        raci=raci_entries(raci),
        previous_raci=raci_entries(previous),
        actor_id=principal.sub,
    )
    await uow.emit("tasks.raci.set", task.id, data, departments=list(request.departments))
    # A new R may work in another region: its calendar moves the reminders.
    await schedule_task(uow, task)
