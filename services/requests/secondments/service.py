"""Secondment use cases: request, decision by both department heads, the end-date reminder.

The borrowing department (or PMO) asks; the heads of the lending and the borrowing department
each decide. When both have approved, a durable timer is armed for
``LIAISON_REQUESTS_SECONDMENT_REMINDER_DAYS`` before the last day (09:00 in the borrowing
department's region) and emits ``requests.secondment.ending_soon``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from services.requests.directory import repository as directory
from services.requests.secondments import repository as repo
from services.requests.secondments.models import (
    NewSecondment,
    Secondment,
    SecondmentDecision,
    SecondmentStatus,
)
from shared.auth import Principal, Role
from shared.events.contracts.requests import SecondmentEndingSoon, SecondmentUpdated
from shared.graphql.errors import DomainError, Problems
from shared.runtime import ServiceRuntime
from shared.timers import TimerRow
from shared.unit_of_work import UnitOfWork, unit_of_work

ENDING_TIMER = "requests.secondment_ending"
REMINDER_HOUR = time(9)


def _check_shape(command: NewSecondment) -> Problems:
    problems = Problems()
    if command.from_department_id == command.to_department_id:
        problems.add("INVALID", "lending and borrowing departments differ", "toDepartmentId")
    if command.ends_on <= command.starts_on:
        problems.add("INVALID_SPAN", "the secondment must end after it starts", "endsOn")
    if not [d for d in command.duties if d.strip()]:
        problems.add("INVALID", "state the duties during the secondment", "duties")
    if not [c for c in command.evaluation_criteria if c.strip()]:
        problems.add("INVALID", "state how the work is evaluated", "evaluationCriteria")
    return problems


async def _check_references(uow: UnitOfWork, command: NewSecondment, problems: Problems) -> None:
    wanted = [command.from_department_id, command.to_department_id]
    departments = await directory.departments_by_ids(uow.conn, wanted)
    for field, department_id in zip(("fromDepartmentId", "toDepartmentId"), wanted, strict=True):
        department = departments.get(department_id)
        if department is None:
            problems.add("NOT_FOUND", "no such department", field)
        elif department.head_id is None:
            problems.add("HEAD_REQUIRED", "the department has no head to approve", field)
    person = (await directory.people_by_ids(uow.conn, [command.person_id])).get(command.person_id)
    if person is None:
        problems.add("NOT_FOUND", "no such person", "personId")
    elif person.department_id != command.from_department_id:
        problems.add(
            "NOT_IN_DEPARTMENT", "the person must belong to the lending department", "personId"
        )


async def _emit(uow: UnitOfWork, secondment: Secondment, actor: str) -> None:
    data = SecondmentUpdated(
        id=secondment.id,
        person_id=secondment.person_id,
        from_department_id=secondment.from_department_id,
        to_department_id=secondment.to_department_id,
        starts_on=secondment.starts_on,
        ends_on=secondment.ends_on,
        status=secondment.status.value,
        request_id=secondment.request_id,
        actor_id=actor,
    )
    departments = [secondment.from_department_id, secondment.to_department_id]
    await uow.emit("requests.secondment.updated", secondment.id, data, departments=departments)


async def request_secondment(
    runtime: ServiceRuntime, principal: Principal, command: NewSecondment
) -> Secondment:
    problems = _check_shape(command)
    if not principal.has_role(Role.PMO) and command.to_department_id not in principal.departments:
        problems.add(
            "NOT_BORROWING_DEPARTMENT",
            "a secondment is requested by the borrowing department or PMO",
            "toDepartmentId",
        )
    async with unit_of_work(runtime) as uow:
        await _check_references(uow, command, problems)
        problems.raise_if_any()
        secondment = await repo.insert(uow.conn, command, principal.sub)
        await _emit(uow, secondment, principal.sub)
    return secondment


async def _reminder_at(uow: UnitOfWork, runtime: ServiceRuntime, s: Secondment) -> datetime:
    """09:00 local, N days before the last day; never before now (a short loan fires at once)."""
    department = (await directory.departments_by_ids(uow.conn, [s.to_department_id]))[
        s.to_department_id
    ]
    region = (await directory.regions_by_ids(uow.conn, [department.region_id]))[
        department.region_id
    ]
    day: date = s.ends_on - timedelta(days=runtime.settings.requests_secondment_reminder_days)
    local = datetime.combine(day, REMINDER_HOUR, tzinfo=ZoneInfo(region.time_zone))
    return max(local.astimezone(UTC), datetime.now(UTC))


async def _heads_deciding(uow: UnitOfWork, principal: Principal, s: Secondment) -> list[str]:
    """The departments (lending, borrowing) the caller heads and that have not decided yet."""
    ids = [s.from_department_id, s.to_department_id]
    departments = await directory.departments_by_ids(uow.conn, ids)
    headed = [d for d in ids if departments[d].head_id == principal.sub]
    if not headed:
        raise DomainError.single(
            "NOT_DEPARTMENT_HEAD",
            f"only the heads of the two departments decide; the secondment is {s.status}",
        )
    decided = {
        a.department_id for a in (await repo.approvals_by_ids(uow.conn, [s.id])).get(s.id, [])
    }
    pending = [d for d in headed if d not in decided]
    if not pending:
        raise DomainError.single(
            "ALREADY_DECIDED", f"your department has decided; the secondment is {s.status}"
        )
    return pending


async def decide_secondment(
    runtime: ServiceRuntime,
    principal: Principal,
    secondment_id: str,
    decision: SecondmentDecision,
    comment: str = "",
) -> Secondment:
    if decision is SecondmentDecision.REJECT and not comment.strip():
        raise DomainError.single("COMMENT_REQUIRED", "say why the secondment is refused", "comment")
    async with unit_of_work(runtime) as uow:
        secondment = await repo.lock(uow.conn, secondment_id)
        if secondment is None:
            raise DomainError.single("SECONDMENT_NOT_FOUND", "no such secondment", "secondmentId")
        if secondment.status is not SecondmentStatus.REQUESTED:
            raise DomainError.single(
                "INVALID_STATUS", f"cannot decide: the secondment is {secondment.status}"
            )
        for department_id in await _heads_deciding(uow, principal, secondment):
            await repo.insert_approval(
                uow.conn, secondment_id, department_id, principal.sub, decision, comment
            )
        secondment = await _settle(uow, runtime, secondment)
        await _emit(uow, secondment, principal.sub)
    return secondment


async def _settle(uow: UnitOfWork, runtime: ServiceRuntime, s: Secondment) -> Secondment:
    """Rejected by either head, or approved once both have approved; else still pending."""
    approvals = (await repo.approvals_by_ids(uow.conn, [s.id])).get(s.id, [])
    if any(a.decision is SecondmentDecision.REJECT for a in approvals):
        return await repo.set_status(uow.conn, s.id, SecondmentStatus.REJECTED)
    if len(approvals) < 2:
        return s
    approved = await repo.set_status(uow.conn, s.id, SecondmentStatus.APPROVED)
    await uow.arm_timer(ENDING_TIMER, s.id, await _reminder_at(uow, runtime, s))
    return approved


async def on_secondment_ending(uow: UnitOfWork, timer: TimerRow) -> None:
    """Timer handler: the secondment ends soon; plan the hand-back and the evaluation."""
    secondment = (await repo.by_ids(uow.conn, [timer.subject])).get(timer.subject)
    if secondment is None or secondment.status is not SecondmentStatus.APPROVED:
        return
    today = datetime.now(UTC).date()
    data = SecondmentEndingSoon(
        id=secondment.id,
        person_id=secondment.person_id,
        from_department_id=secondment.from_department_id,
        to_department_id=secondment.to_department_id,
        ends_on=secondment.ends_on,
        days_left=max((secondment.ends_on - today).days, 0),
    )
    departments = [secondment.from_department_id, secondment.to_department_id]
    await uow.emit("requests.secondment.ending_soon", secondment.id, data, departments=departments)
