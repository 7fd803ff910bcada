"""Directory queries and upkeep mutations (ADMIN only)."""

from __future__ import annotations

from datetime import date, time
from typing import Annotated

import strawberry
from pydantic import ValidationError

from services.requests import models
from services.requests.directory import repository as repo
from services.requests.directory import service
from services.requests.directory.types import Department, Person, Region, person_or_none
from shared.calendars import WorkCalendar, WorkingPeriod, check_time_zone
from shared.graphql.child_pages import After, First, after_key, page_of
from shared.graphql.context import Info
from shared.graphql.errors import DomainError, UserError, run_mutation
from shared.graphql.pagination import Connection, build_connection, wants_total_count
from shared.graphql.permissions import NotPartner


@strawberry.input(description="Working time on one ISO weekday, in the region's local time.")
class WorkingPeriodInput:
    weekday: int = strawberry.field(description="ISO weekday, 1 = Monday ... 7 = Sunday.")
    start: time = strawberry.field(description="Local start, e.g. `09:00`.")
    end: time = strawberry.field(description="Local end, after the start.")


@strawberry.input(description="A region and its work calendar (ADMIN only).")
class UpsertRegionInput:
    id: strawberry.ID = strawberry.field(description="Id to create or replace.")
    code: str = strawberry.field(description="Short code.")
    name: str = strawberry.field(description="Display name.")
    time_zone: str = strawberry.field(description="IANA time zone.")
    holiday_country: str | None = strawberry.field(default=None, description="e.g. `CN`.")
    working_hours: list[WorkingPeriodInput] | None = strawberry.field(
        default=None,
        description="Weekly working periods; omitted means Monday-Friday 09:00-12:00, 13:30-18:00.",
    )
    extra_holidays: list[date] = strawberry.field(
        default_factory=list, description="Days off besides the country's public holidays."
    )
    extra_workdays: list[date] = strawberry.field(
        default_factory=list, description="Make-up workdays on weekends."
    )

    def to_calendar(self) -> WorkCalendar:
        """The calendar; raises DomainError naming the field at fault."""
        try:
            extra: dict[str, object] = {}
            if self.working_hours is not None:
                extra["working_hours"] = [
                    WorkingPeriod(weekday=p.weekday, start=p.start, end=p.end)
                    for p in self.working_hours
                ]
            return WorkCalendar(
                time_zone=self.time_zone,
                holiday_country=self.holiday_country,
                extra_holidays=self.extra_holidays,
                extra_workdays=self.extra_workdays,
                **extra,
            )
        except ValidationError as exc:
            field = "timeZone" if "time_zone" in str(exc) else "workingHours"
            message = exc.errors()[0]["msg"]
            raise DomainError.single("INVALID", message, field) from None

    def to_model(self) -> models.Region:
        calendar = self.to_calendar()
        return models.Region(self.id, self.code, self.name, self.time_zone, calendar)


@strawberry.input(description="A department (ADMIN only).")
class UpsertDepartmentInput:
    id: strawberry.ID = strawberry.field(description="Id to create or replace.")
    code: str = strawberry.field(description="Short code.")
    name: str = strawberry.field(description="Display name.")
    region_id: strawberry.ID = strawberry.field(description="Region of the department.")
    parent_id: strawberry.ID | None = strawberry.field(default=None, description="Parent.")
    head_id: strawberry.ID | None = strawberry.field(default=None, description="Head person.")

    def to_model(self) -> models.Department:
        return models.Department(
            self.id, self.code, self.name, self.region_id, self.parent_id, self.head_id
        )


@strawberry.input(description="A person (ADMIN only).")
class UpsertPersonInput:
    id: strawberry.ID = strawberry.field(description="Id to create or replace.")
    name: str = strawberry.field(description="Display name.")
    email: str = strawberry.field(description="Work e-mail.")
    department_id: strawberry.ID = strawberry.field(description="Home department.")
    region_id: strawberry.ID = strawberry.field(description="Region the person works in.")
    time_zone: str = strawberry.field(description="IANA time zone.")
    roles: list[str] = strawberry.field(default_factory=lambda: ["MEMBER"], description="Roles.")
    dingtalk_id: str | None = strawberry.field(default=None, description="DingTalk user id.")
    wecom_id: str | None = strawberry.field(default=None, description="WeCom user id.")
    feishu_id: str | None = strawberry.field(default=None, description="Feishu user id.")
    active: bool = strawberry.field(
        default=True,
        description="False when the person leaves: every service refuses them within seconds.",
    )

    def to_model(self) -> models.Person:
        try:
            check_time_zone(self.time_zone)
        except ValueError as exc:
            raise DomainError.single("INVALID", str(exc), "timeZone") from None
        return models.Person(
            id=self.id,
            name=self.name,
            email=self.email,
            department_id=self.department_id,
            region_id=self.region_id,
            time_zone=self.time_zone,
            roles=tuple(self.roles),
            dingtalk_id=self.dingtalk_id,
            wecom_id=self.wecom_id,
            feishu_id=self.feishu_id,
            active=self.active,
        )


@strawberry.type(description="Result of `upsertRegion`.")
class UpsertRegionPayload:
    region: Region | None = strawberry.field(default=None, description="The saved region.")
    user_errors: list[UserError] = strawberry.field(description="Why it was refused, if it was.")


@strawberry.type(description="Result of `upsertDepartment`.")
class UpsertDepartmentPayload:
    department: Department | None = strawberry.field(default=None, description="Saved department.")
    user_errors: list[UserError] = strawberry.field(description="Why it was refused, if it was.")


@strawberry.type(description="Result of `upsertPerson`.")
class UpsertPersonPayload:
    person: Person | None = strawberry.field(default=None, description="The saved person.")
    user_errors: list[UserError] = strawberry.field(description="Why it was refused, if it was.")


@strawberry.type
class DirectoryQuery:
    @strawberry.field(
        description="The caller, as the directory knows them.", permission_classes=[NotPartner]
    )
    async def me(self, info: Info) -> Person | None:
        return await person_or_none(info, info.context.principal.sub)

    @strawberry.field(description="All regions, by code.", permission_classes=[NotPartner])
    async def regions(self, info: Info) -> list[Region]:
        async with info.context.runtime.pool.acquire() as conn:
            return [Region.from_model(r) for r in await repo.list_regions(conn)]

    @strawberry.field(description="All departments, by code.", permission_classes=[NotPartner])
    async def departments(self, info: Info) -> list[Department]:
        async with info.context.runtime.pool.acquire() as conn:
            return [Department.from_model(d) for d in await repo.list_departments(conn)]

    @strawberry.field(
        description="People, optionally of one department and matching `text`, by name (then"
        " id), 20 per page by default.",
        permission_classes=[NotPartner],
    )
    async def people(
        self,
        info: Info,
        department_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only the members of this department."),
        ] = None,
        text: Annotated[
            str | None,
            strawberry.argument(
                description="Words, Chinese or English, each found in the name or the e-mail"
                " address (`wang` finds wang.li@example.com, `丽` finds 王丽); split by spaces,"
                " every word must be found."
            ),
        ] = None,
        first: First = 20,
        after: After = None,
    ) -> Connection[Person]:
        page = page_of(info, first, after)
        since = after_key(page, repo.PEOPLE_ORDER)
        async with info.context.runtime.pool.acquire() as conn:
            people = await repo.list_people(
                conn, department_id, text=text, after=since, limit=page.limit + 1
            )
            total = None
            if wants_total_count(info):  # a statement of its own: only if asked
                total = await repo.count_people(conn, department_id, text)
        return build_connection(people, page, lambda p: [p.name, p.id], Person.from_model, total)


async def _upsert_region(info: Info, input: UpsertRegionInput) -> Region:
    ctx = info.context
    region = await service.upsert_region(ctx.runtime, ctx.principal, input.to_model())
    return Region.from_model(region)


async def _upsert_person(info: Info, input: UpsertPersonInput) -> Person:
    ctx = info.context
    person = await service.upsert_person(ctx.runtime, ctx.principal, input.to_model())
    return Person.from_model(person)


@strawberry.type
class DirectoryMutation:
    @strawberry.mutation(description="Create or replace a region and its calendar (ADMIN).")
    async def upsert_region(self, info: Info, input: UpsertRegionInput) -> UpsertRegionPayload:
        return await run_mutation(UpsertRegionPayload, "region", _upsert_region(info, input))

    @strawberry.mutation(description="Create or replace a department (ADMIN).")
    async def upsert_department(
        self, info: Info, input: UpsertDepartmentInput
    ) -> UpsertDepartmentPayload:
        ctx = info.context
        action = service.upsert_department(ctx.runtime, ctx.principal, input.to_model())
        return await run_mutation(
            UpsertDepartmentPayload, "department", action, Department.from_model
        )

    @strawberry.mutation(description="Create or replace a person (ADMIN).")
    async def upsert_person(self, info: Info, input: UpsertPersonInput) -> UpsertPersonPayload:
        return await run_mutation(UpsertPersonPayload, "person", _upsert_person(info, input))
