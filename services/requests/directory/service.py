"""Directory upkeep: regions, departments and people. Every change emits the new state, so
other services keep their copies (``shared.replicas``) current."""

from __future__ import annotations

from services.requests.directory import repository as repo
from services.requests.models import Department, Person, Region
from services.requests.partners import repository as partners
from shared.auth import Principal, Role
from shared.events.contracts.requests import DepartmentUpserted, PersonUpserted, RegionUpserted
from shared.graphql.errors import DomainError
from shared.runtime import ServiceRuntime
from shared.unit_of_work import UnitOfWork, unit_of_work


def require_admin(principal: Principal) -> None:
    """Directory upkeep (people, departments, regions, partner clients) is for ADMINs."""
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
    require_admin(principal)
    async with unit_of_work(runtime) as uow:
        return await save_region(uow, region)


async def upsert_department(
    runtime: ServiceRuntime, principal: Principal, department: Department
) -> Department:
    require_admin(principal)
    async with unit_of_work(runtime) as uow:
        if not await repo.regions_by_ids(uow.conn, [department.region_id]):
            raise DomainError.single("NOT_FOUND", "no such region", "regionId")
        if department.head_id and not await repo.people_by_ids(uow.conn, [department.head_id]):
            raise DomainError.single("NOT_FOUND", "no such person to head it", "headId")
        await _check_parent(uow, department)
        return await save_department(uow, department)


async def _check_parent(uow: UnitOfWork, department: Department) -> None:
    """The parent must exist and the hierarchy must stay a tree (no department under itself)."""
    if department.parent_id is None:
        return
    ancestors = await repo.ancestor_ids(uow.conn, department.parent_id)
    if not ancestors:
        raise DomainError.single("NOT_FOUND", "no such parent department", "parentId")
    if department.id in ancestors:
        raise DomainError.single(
            "HIERARCHY_CYCLE", "a department cannot sit under itself", "parentId"
        )


PERSON_ROLES = frozenset({Role.MEMBER, Role.DEPARTMENT_HEAD, Role.PMO, Role.ADMIN})
"""Roles a person of the directory may hold (PARTNER is for integration tokens only)."""


async def upsert_person(runtime: ServiceRuntime, principal: Principal, person: Person) -> Person:
    require_admin(principal)
    unknown = sorted(set(person.roles) - PERSON_ROLES)
    if unknown:
        allowed = ", ".join(sorted(PERSON_ROLES))
        raise DomainError.single(
            "INVALID_ROLE", f"unknown role {', '.join(unknown)}; roles are {allowed}", "roles"
        )
    async with unit_of_work(runtime) as uow:
        if not await repo.departments_by_ids(uow.conn, [person.department_id]):
            raise DomainError.single("NOT_FOUND", "no such department", "departmentId")
        if not await repo.regions_by_ids(uow.conn, [person.region_id]):
            raise DomainError.single("NOT_FOUND", "no such region", "regionId")
        if await partners.exists(uow.conn, person.id):  # one namespace for every `sub`
            raise DomainError.single("ID_TAKEN", "a partner client has this id", "id")
        return await save_person(uow, person)
