"""Use cases of the requests service: one transaction each, every change emits its event."""

from __future__ import annotations

from datetime import UTC, datetime

from services.requests import repository as repo
from services.requests.models import (
    CollabRequest,
    Department,
    GoalDraft,
    NewRequest,
    Person,
    Region,
    ResourceNeedDraft,
)
from shared.auth import Principal, Role
from shared.events.contracts.requests import (
    DepartmentUpserted,
    PersonUpserted,
    RegionUpserted,
    RequestCreated,
)
from shared.graphql.errors import DomainError, Problems
from shared.runtime import ServiceRuntime
from shared.unit_of_work import UnitOfWork, unit_of_work

MAX_TITLE_LENGTH = 200

# --- directory ------------------------------------------------------------------------------


def _require_admin(principal: Principal) -> None:
    if not principal.has_role(Role.ADMIN):
        raise DomainError.single("FORBIDDEN", "only an ADMIN maintains the directory")


async def save_region(uow: UnitOfWork, region: Region) -> Region:
    await repo.upsert_region(uow.conn, region)
    data = RegionUpserted(
        id=region.id,
        code=region.code,
        name=region.name,
        time_zone=region.time_zone,
        calendar=region.calendar.model_dump(mode="json"),
    )
    await uow.emit("requests.region.upserted", region.id, data)
    return region


async def save_department(uow: UnitOfWork, department: Department) -> Department:
    await repo.upsert_department(uow.conn, department)
    data = DepartmentUpserted(**department.__dict__)
    await uow.emit("requests.department.upserted", department.id, data, departments=[department.id])
    return department


async def save_person(uow: UnitOfWork, person: Person) -> Person:
    await repo.upsert_person(uow.conn, person)
    data = PersonUpserted(**{**person.__dict__, "roles": list(person.roles)})
    await uow.emit("requests.person.upserted", person.id, data, departments=[person.department_id])
    return person


async def upsert_region(runtime: ServiceRuntime, principal: Principal, region: Region) -> Region:
    _require_admin(principal)
    async with unit_of_work(runtime) as uow:
        return await save_region(uow, region)


async def upsert_department(
    runtime: ServiceRuntime, principal: Principal, department: Department
) -> Department:
    _require_admin(principal)
    async with unit_of_work(runtime) as uow:
        if not await repo.regions_by_ids(uow.conn, [department.region_id]):
            raise DomainError.single("NOT_FOUND", "no such region", "regionId")
        return await save_department(uow, department)


async def upsert_person(runtime: ServiceRuntime, principal: Principal, person: Person) -> Person:
    _require_admin(principal)
    async with unit_of_work(runtime) as uow:
        if not await repo.departments_by_ids(uow.conn, [person.department_id]):
            raise DomainError.single("NOT_FOUND", "no such department", "departmentId")
        if not await repo.regions_by_ids(uow.conn, [person.region_id]):
            raise DomainError.single("NOT_FOUND", "no such region", "regionId")
        return await save_person(uow, person)


# --- requests -------------------------------------------------------------------------------


def _check_goal(problems: Problems, index: int, goal: GoalDraft) -> None:
    """The handbook wants quantified goals: a metric, a number, a unit and a date."""
    path = f"goals.{index}"
    if not (goal.metric or "").strip():
        problems.add("GOAL_NOT_QUANTIFIED", "a goal needs a metric", f"{path}.metric")
    if goal.target is None or not goal.target.is_finite():
        problems.add("GOAL_NOT_QUANTIFIED", "a goal needs a numeric target", f"{path}.target")
    if not (goal.unit or "").strip():
        problems.add("GOAL_NOT_QUANTIFIED", "a goal needs a unit", f"{path}.unit")
    if goal.due_date is None:
        problems.add("GOAL_NOT_QUANTIFIED", "a goal needs a due date", f"{path}.dueDate")


def _check_resource_need(problems: Problems, index: int, need: ResourceNeedDraft) -> None:
    """Resource needs must be concrete: a description, a positive quantity and a unit."""
    path = f"resourceNeeds.{index}"
    if not need.description.strip():
        problems.add("RESOURCE_NOT_SPECIFIC", "describe the resource", f"{path}.description")
    if need.quantity is None or not need.quantity.is_finite() or need.quantity <= 0:
        problems.add("RESOURCE_NOT_SPECIFIC", "a positive quantity is needed", f"{path}.quantity")
    if not (need.unit or "").strip():
        problems.add("RESOURCE_NOT_SPECIFIC", "a unit is needed", f"{path}.unit")


def _check_request_shape(command: NewRequest) -> Problems:
    problems = Problems()
    title = command.title.strip()
    if not title or len(title) > MAX_TITLE_LENGTH:
        problems.add("INVALID", f"title must be 1 to {MAX_TITLE_LENGTH} characters", "title")
    if not command.goals:
        problems.add("GOAL_REQUIRED", "at least one quantified goal is required", "goals")
    for index, goal in enumerate(command.goals):
        _check_goal(problems, index, goal)
    for index, need in enumerate(command.resource_needs):
        _check_resource_need(problems, index, need)
    others = set(command.participant_department_ids) - {command.lead_department_id}
    if not others:
        problems.add(
            "PARTICIPANT_REQUIRED",
            "at least one participating department besides the lead is required",
            "participantDepartmentIds",
        )
    return problems


async def _check_references(uow: UnitOfWork, command: NewRequest, problems: Problems) -> None:
    providers = {
        n.provider_department_id for n in command.resource_needs if n.provider_department_id
    }
    wanted = {command.lead_department_id, *command.participant_department_ids}
    known = await repo.departments_by_ids(uow.conn, list(wanted | providers))
    if command.lead_department_id not in known:
        problems.add("NOT_FOUND", "no such lead department", "leadDepartmentId")
    for department_id in sorted(set(command.participant_department_ids) - set(known)):
        problems.add("NOT_FOUND", f"no such department {department_id}", "participantDepartmentIds")
    for index, need in enumerate(command.resource_needs):
        if need.provider_department_id and need.provider_department_id not in known:
            field = f"resourceNeeds.{index}.providerDepartmentId"
            problems.add("NOT_FOUND", "no such provider department", field)
    if command.approver_id and not await repo.people_by_ids(uow.conn, [command.approver_id]):
        problems.add("NOT_FOUND", "no such approver", "approverId")


async def create_request(
    runtime: ServiceRuntime, principal: Principal, command: NewRequest
) -> CollabRequest:
    """Create a DRAFT request led by one of the caller's departments."""
    problems = _check_request_shape(command)
    if not principal.sees_everything and command.lead_department_id not in principal.departments:
        problems.add(
            "NOT_IN_LEAD_DEPARTMENT",
            "a request is created by a member of its lead department",
            "leadDepartmentId",
        )
    participants = tuple(
        dict.fromkeys(
            d for d in command.participant_department_ids if d != command.lead_department_id
        )
    )
    command = NewRequest(**{**command.__dict__, "participant_department_ids": participants})
    async with unit_of_work(runtime) as uow:
        await _check_references(uow, command, problems)
        problems.raise_if_any()
        code = await repo.next_request_code(uow.conn, datetime.now(UTC).year)
        request = await repo.insert_request(uow.conn, command, code=code, created_by=principal.sub)
        data = RequestCreated(
            id=request.id,
            code=request.code,
            kind=request.kind.value,
            title=request.title,
            status=request.status.value,
            lead_department_id=request.lead_department_id,
            participant_department_ids=list(participants),
            created_by=principal.sub,
        )
        await uow.emit(
            "requests.request.created",
            request.id,
            data,
            departments=[request.lead_department_id, *participants],
        )
    return request
