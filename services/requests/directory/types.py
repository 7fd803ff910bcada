"""GraphQL types of the directory: regions with their work calendars, departments, people."""

from __future__ import annotations

from datetime import date, time

import strawberry

from services.requests import models
from services.requests.directory import repository as directory_repo
from shared.graphql.compiled import sql
from shared.graphql.context import Info
from shared.graphql.loaders import one_per_key

load_regions = one_per_key(directory_repo.regions_by_ids)
load_departments = one_per_key(directory_repo.departments_by_ids)
load_people = one_per_key(directory_repo.people_by_ids)


@strawberry.type(description="Working time on one ISO weekday (1 = Monday), in local time.")
class WorkingPeriod:
    weekday: int = strawberry.field(description="ISO weekday, 1 = Monday ... 7 = Sunday.")
    start: time = strawberry.field(description="Local start time.")
    end: time = strawberry.field(description="Local end time.")


@strawberry.type(description="When a region works: weekly hours, holidays, make-up workdays.")
class WorkCalendar:
    time_zone: str = strawberry.field(description="IANA time zone, e.g. `Asia/Shanghai`.")
    working_hours: list[WorkingPeriod] = strawberry.field(description="Weekly working periods.")
    holiday_country: str | None = strawberry.field(
        description="ISO country whose public holidays apply (`holidays` package), e.g. `CN`."
    )
    extra_holidays: list[date] = strawberry.field(description="Additional days off.")
    extra_workdays: list[date] = strawberry.field(
        description="Make-up workdays that fall on a weekend (common in China)."
    )


@sql.entity(lambda principal: directory_repo.REGION_ENTITY)
@strawberry.federation.type(keys=["id"], description="A region: HQ, East China, an office abroad.")
class Region:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    code: str = strawberry.field(description="Short code, e.g. `EAST`.")
    name: str = strawberry.field(description="Display name.")
    time_zone: str = strawberry.field(description="IANA time zone of the region.")
    calendar: WorkCalendar = strawberry.field(description="The region's work calendar.")

    @classmethod
    def from_model(cls, region: models.Region) -> Region:
        cal = region.calendar
        return cls(
            id=strawberry.ID(region.id),
            code=region.code,
            name=region.name,
            time_zone=region.time_zone,
            calendar=WorkCalendar(
                time_zone=cal.time_zone,
                working_hours=[WorkingPeriod(**p.model_dump()) for p in cal.working_hours],
                holiday_country=cal.holiday_country,
                extra_holidays=cal.extra_holidays,
                extra_workdays=cal.extra_workdays,
            ),
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Region | None:
        region = await info.context.loader(load_regions).load(id)
        return cls.from_model(region) if region else None


@sql.entity(lambda principal: directory_repo.DEPARTMENT_ENTITY)
@strawberry.federation.type(keys=["id"], description="A department, e.g. East China Sales.")
class Department:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    code: str = strawberry.field(description="Short code, e.g. `MKT-HQ`.")
    name: str = strawberry.field(description="Display name.")
    region_id: strawberry.Private[str]
    head_id: strawberry.Private[str | None]
    parent_id: strawberry.Private[str | None]

    @classmethod
    def from_model(cls, d: models.Department) -> Department:
        return cls(
            id=strawberry.ID(d.id),
            code=d.code,
            name=d.name,
            region_id=d.region_id,
            head_id=d.head_id,
            parent_id=d.parent_id,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Department | None:
        department = await info.context.loader(load_departments).load(id)
        return cls.from_model(department) if department else None

    @strawberry.field(
        description="Region the department belongs to.",
        metadata=sql.to_one("regions", "{target}.id = {row}.region_id"),
    )
    async def region(self, info: Info) -> Region:
        region = await info.context.loader(load_regions).load(self.region_id)
        assert region is not None  # guaranteed by the foreign key
        return Region.from_model(region)

    @strawberry.field(
        description="Head of the department, if named.",
        metadata=sql.to_one("people", "{target}.id = {row}.head_id"),
    )
    async def head(self, info: Info) -> Person | None:
        return await person_or_none(info, self.head_id)

    @strawberry.field(
        description="Parent department in the hierarchy, if any.",
        metadata=sql.to_one("departments", "{target}.id = {row}.parent_id"),
    )
    async def parent(self, info: Info) -> Department | None:
        return await department_or_none(info, self.parent_id)


@sql.entity(lambda principal: directory_repo.PERSON_ENTITY)
@strawberry.federation.type(keys=["id"], description="A person in the directory.")
class Person:
    id: strawberry.ID = strawberry.field(description="Opaque id; the `sub` of their token.")
    name: str = strawberry.field(description="Display name.")
    email: str = strawberry.field(description="Work e-mail address.")
    time_zone: str = strawberry.field(description="IANA time zone the person works in.")
    roles: list[str] = strawberry.field(
        description="MEMBER, DEPARTMENT_HEAD, PMO, ADMIN: what the person may do in Liaison."
    )
    active: bool = strawberry.field(
        description="False once the person has left: kept on record, refused at sign-in."
    )
    dingtalk_id: str | None = strawberry.field(description="DingTalk user id, if known.")
    wecom_id: str | None = strawberry.field(description="WeCom (企业微信) user id, if known.")
    feishu_id: str | None = strawberry.field(description="Feishu user id, if known.")
    department_id: strawberry.Private[str]
    region_id: strawberry.Private[str]

    @classmethod
    def from_model(cls, p: models.Person) -> Person:
        return cls(
            id=strawberry.ID(p.id),
            name=p.name,
            email=p.email,
            time_zone=p.time_zone,
            roles=list(p.roles),
            active=p.active,
            dingtalk_id=p.dingtalk_id,
            wecom_id=p.wecom_id,
            feishu_id=p.feishu_id,
            department_id=p.department_id,
            region_id=p.region_id,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Person | None:
        return await person_or_none(info, id)

    @strawberry.field(
        description="The person's home department.",
        metadata=sql.to_one("departments", "{target}.id = {row}.department_id"),
    )
    async def department(self, info: Info) -> Department:
        return await department_of(info, self.department_id)

    @strawberry.field(
        description="The region the person works in.",
        metadata=sql.to_one("regions", "{target}.id = {row}.region_id"),
    )
    async def region(self, info: Info) -> Region:
        region = await info.context.loader(load_regions).load(self.region_id)
        assert region is not None  # guaranteed by the foreign key
        return Region.from_model(region)


async def department_or_none(info: Info, department_id: str | None) -> Department | None:
    if department_id is None:
        return None
    found = await info.context.loader(load_departments).load(department_id)
    return Department.from_model(found) if found else None


async def department_of(info: Info, department_id: str) -> Department:
    """A department that a foreign key guarantees to exist."""
    found = await department_or_none(info, department_id)
    assert found is not None  # guaranteed by the foreign key
    return found


async def person_or_none(info: Info, person_id: str | None) -> Person | None:
    if person_id is None:
        return None
    person = await info.context.loader(load_people).load(person_id)
    return Person.from_model(person) if person else None
