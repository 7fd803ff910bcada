"""The requests subgraph: queries and mutations (types live in :mod:`services.requests.types`)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import strawberry

from services.requests import models, service
from services.requests import repository as repo
from services.requests.types import (
    CollabRequest,
    Department,
    Person,
    Region,
    person_or_none,
    visible_request,
)
from shared.calendars import WorkCalendar, check_time_zone
from shared.graphql.context import Info
from shared.graphql.errors import UserError, run_mutation
from shared.graphql.pagination import Connection, build_connection, page_request
from shared.graphql.schema import build_schema
from shared.settings import Settings

# --- inputs ---------------------------------------------------------------------------------


@strawberry.input(description="A goal; every part is required, the mutation says which is missing.")
class GoalInput:
    metric: str | None = strawberry.field(default=None, description="What is measured.")
    target: Decimal | None = strawberry.field(default=None, description="The number to reach.")
    unit: str | None = strawberry.field(default=None, description="Unit, e.g. `CNY`.")
    due_date: date | None = strawberry.field(default=None, description="Due calendar day.")
    regions: list[str] = strawberry.field(
        default_factory=list, description="Region codes it applies to."
    )

    def to_draft(self) -> models.GoalDraft:
        return models.GoalDraft(
            metric=self.metric,
            target=self.target,
            unit=self.unit,
            due_date=self.due_date,
            regions=tuple(self.regions),
        )


@strawberry.input(description="A resource need; quantity and unit are required.")
class ResourceNeedInput:
    kind: models.ResourceKind = strawberry.field(description="Budget, headcount, equipment...")
    description: str = strawberry.field(description="What exactly is needed.")
    quantity: Decimal | None = strawberry.field(default=None, description="How much (> 0).")
    unit: str | None = strawberry.field(default=None, description="Unit, e.g. `CNY`, `person`.")
    provider_department_id: strawberry.ID | None = strawberry.field(
        default=None, description="Department expected to provide it."
    )

    def to_draft(self) -> models.ResourceNeedDraft:
        return models.ResourceNeedDraft(
            kind=self.kind,
            description=self.description,
            quantity=self.quantity,
            unit=self.unit,
            provider_department_id=self.provider_department_id,
        )


@strawberry.input(description="A new collaboration request; it starts as DRAFT.")
class CreateRequestInput:
    kind: models.RequestKind = strawberry.field(description="Scenario of the collaboration.")
    title: str = strawberry.field(description="Short title (1-200 characters).")
    lead_department_id: strawberry.ID = strawberry.field(description="Leading department.")
    participant_department_ids: list[strawberry.ID] = strawberry.field(
        description="Other departments taking part (at least one)."
    )
    goals: list[GoalInput] = strawberry.field(description="At least one quantified goal.")
    resource_needs: list[ResourceNeedInput] = strawberry.field(
        default_factory=list, description="Concrete resources needed (budget, staff...)."
    )
    background: str = strawberry.field(default="", description="Why it is needed.")
    approver_id: strawberry.ID | None = strawberry.field(
        default=None, description="Director or PMO member who will decide it."
    )

    def to_command(self) -> models.NewRequest:
        return models.NewRequest(
            kind=self.kind,
            title=self.title,
            lead_department_id=self.lead_department_id,
            participant_department_ids=tuple(self.participant_department_ids),
            goals=tuple(g.to_draft() for g in self.goals),
            resource_needs=tuple(n.to_draft() for n in self.resource_needs),
            background=self.background,
            approver_id=self.approver_id,
        )


@strawberry.input(description="Filters for `requests`.")
class RequestFilter:
    kind: models.RequestKind | None = strawberry.field(default=None, description="Only this kind.")
    status: models.RequestStatus | None = strawberry.field(
        default=None, description="Only this status."
    )


@strawberry.input(description="A region and its calendar (ADMIN only).")
class UpsertRegionInput:
    id: strawberry.ID = strawberry.field(description="Id to create or replace.")
    code: str = strawberry.field(description="Short code.")
    name: str = strawberry.field(description="Display name.")
    time_zone: str = strawberry.field(description="IANA time zone.")
    holiday_country: str | None = strawberry.field(default=None, description="e.g. `CN`.")


@strawberry.input(description="A department (ADMIN only).")
class UpsertDepartmentInput:
    id: strawberry.ID = strawberry.field(description="Id to create or replace.")
    code: str = strawberry.field(description="Short code.")
    name: str = strawberry.field(description="Display name.")
    region_id: strawberry.ID = strawberry.field(description="Region of the department.")
    parent_id: strawberry.ID | None = strawberry.field(default=None, description="Parent.")
    head_id: strawberry.ID | None = strawberry.field(default=None, description="Head person.")


@strawberry.input(description="A person (ADMIN only).")
class UpsertPersonInput:
    id: strawberry.ID = strawberry.field(description="Id to create or replace.")
    name: str = strawberry.field(description="Display name.")
    email: str = strawberry.field(description="Work e-mail.")
    department_id: strawberry.ID = strawberry.field(description="Home department.")
    region_id: strawberry.ID = strawberry.field(description="Region the person works in.")
    time_zone: str = strawberry.field(description="IANA time zone.")
    roles: list[str] = strawberry.field(default_factory=lambda: ["MEMBER"], description="Roles.")


# --- payloads -------------------------------------------------------------------------------


@strawberry.type(description="Result of `createRequest`.")
class CreateRequestPayload:
    request: CollabRequest | None = strawberry.field(default=None, description="The new request.")
    user_errors: list[UserError] = strawberry.field(description="Why it was refused, if it was.")


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


# --- root types -----------------------------------------------------------------------------


@strawberry.type
class Query:
    @strawberry.field(description="The caller, as the directory knows them.")
    async def me(self, info: Info) -> Person | None:
        return await person_or_none(info, info.context.principal.sub)

    @strawberry.field(description="All regions, by code.")
    async def regions(self, info: Info) -> list[Region]:
        async with info.context.runtime.pool.acquire() as conn:
            return [Region.from_model(r) for r in await repo.list_regions(conn)]

    @strawberry.field(description="All departments, by code.")
    async def departments(self, info: Info) -> list[Department]:
        async with info.context.runtime.pool.acquire() as conn:
            return [Department.from_model(d) for d in await repo.list_departments(conn)]

    @strawberry.field(description="People, optionally of one department, by name.")
    async def people(self, info: Info, department_id: strawberry.ID | None = None) -> list[Person]:
        async with info.context.runtime.pool.acquire() as conn:
            return [Person.from_model(p) for p in await repo.list_people(conn, department_id)]

    @strawberry.field(description="One request, if the caller may see it.")
    async def request(self, info: Info, id: strawberry.ID) -> CollabRequest | None:
        return await visible_request(info, id)

    @strawberry.field(description="Requests the caller may see, newest first.")
    async def requests(
        self,
        info: Info,
        filter: RequestFilter | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[CollabRequest]:
        context = info.context
        page = page_request(first, after, context.runtime.settings.graphql_max_page)
        filter = filter or RequestFilter()
        async with context.runtime.pool.acquire() as conn:
            rows = await repo.list_requests(
                conn,
                sees_all=context.principal.sees_everything,
                departments=context.principal.departments,
                kind=filter.kind,
                status=filter.status,
                after_id=page.after[0] if page.after else None,
                limit=page.limit + 1,
            )
        return build_connection(rows, page, lambda r: [r.id], CollabRequest.from_model)


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Create a DRAFT request led by one of the caller's departments."
    )
    async def create_request(self, info: Info, input: CreateRequestInput) -> CreateRequestPayload:
        ctx = info.context
        action = service.create_request(ctx.runtime, ctx.principal, input.to_command())
        return await run_mutation(CreateRequestPayload, "request", action, CollabRequest.from_model)

    @strawberry.mutation(description="Create or replace a region (ADMIN).")
    async def upsert_region(self, info: Info, input: UpsertRegionInput) -> UpsertRegionPayload:
        ctx = info.context
        try:
            calendar = WorkCalendar(
                time_zone=input.time_zone, holiday_country=input.holiday_country
            )
        except ValueError:
            return UpsertRegionPayload(user_errors=[unknown_time_zone(input.time_zone)])
        region = models.Region(
            id=input.id,
            code=input.code,
            name=input.name,
            time_zone=input.time_zone,
            calendar=calendar,
        )
        action = service.upsert_region(ctx.runtime, ctx.principal, region)
        return await run_mutation(UpsertRegionPayload, "region", action, Region.from_model)

    @strawberry.mutation(description="Create or replace a department (ADMIN).")
    async def upsert_department(
        self, info: Info, input: UpsertDepartmentInput
    ) -> UpsertDepartmentPayload:
        ctx = info.context
        department = models.Department(
            id=input.id,
            code=input.code,
            name=input.name,
            region_id=input.region_id,
            parent_id=input.parent_id,
            head_id=input.head_id,
        )
        action = service.upsert_department(ctx.runtime, ctx.principal, department)
        return await run_mutation(
            UpsertDepartmentPayload, "department", action, Department.from_model
        )

    @strawberry.mutation(description="Create or replace a person (ADMIN).")
    async def upsert_person(self, info: Info, input: UpsertPersonInput) -> UpsertPersonPayload:
        ctx = info.context
        try:
            check_time_zone(input.time_zone)
        except ValueError:
            return UpsertPersonPayload(user_errors=[unknown_time_zone(input.time_zone)])
        person = models.Person(
            id=input.id,
            name=input.name,
            email=input.email,
            department_id=input.department_id,
            region_id=input.region_id,
            time_zone=input.time_zone,
            roles=tuple(input.roles),
        )
        action = service.upsert_person(ctx.runtime, ctx.principal, person)
        return await run_mutation(UpsertPersonPayload, "person", action, Person.from_model)


def unknown_time_zone(value: str) -> UserError:
    return UserError(field="timeZone", message=f"unknown IANA time zone {value!r}", code="INVALID")


def create_schema(settings: Settings) -> strawberry.federation.Schema:
    return build_schema(settings, Query, Mutation)
