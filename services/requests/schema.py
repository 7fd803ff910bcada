"""The requests subgraph: queries and mutations (types live in :mod:`services.requests.types`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

import strawberry
from strawberry.tools import merge_types

from services.requests import models, service
from services.requests import repository as repo
from services.requests.acceptance.schema import AcceptanceMutation, AcceptanceQuery
from services.requests.calendar.schema import CalendarMutation, CalendarQuery
from services.requests.directory.schema import DirectoryMutation, DirectoryQuery
from services.requests.folders.schema import FolderMutation
from services.requests.kickoff.schema import KickoffMutation
from services.requests.meetings.schema import MeetingMutation, MeetingQuery
from services.requests.partners.schema import PartnerMutation, PartnerQuery
from services.requests.secondments.schema import SecondmentMutation, SecondmentQuery
from services.requests.types import CollabRequest, RequestPayload, visible_request
from services.requests.workflow.schema import WorkflowMutation
from shared.db import plan_with_values
from shared.graphql.child_pages import NOT_OURS
from shared.graphql.compiled import sql
from shared.graphql.context import Info
from shared.graphql.errors import PublicError, UserError, run_mutation
from shared.graphql.pagination import (
    Connection,
    PageRequest,
    after_in_sort,
    build_connection,
    page_request,
    sorted_key,
    wants_total_count,
)
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
    direction: models.GoalDirection = strawberry.field(
        default=models.GoalDirection.AT_LEAST,
        description="AT_LEAST (reach the target) or AT_MOST (stay under it).",
    )

    def to_draft(self) -> models.GoalDraft:
        return models.GoalDraft(
            metric=self.metric,
            target=self.target,
            unit=self.unit,
            due_date=self.due_date,
            regions=tuple(self.regions),
            direction=self.direction,
        )


@strawberry.input(description="A time node; it must fall inside the request's start and end.")
class MilestoneInput:
    title: str = strawberry.field(description="What is reached by then.")
    due_date: date = strawberry.field(description="Calendar day of the milestone.")

    def to_draft(self) -> models.MilestoneDraft:
        return models.MilestoneDraft(title=self.title, due_date=self.due_date)


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
    starts_on: date | None = strawberry.field(default=None, description="First day.")
    ends_on: date | None = strawberry.field(default=None, description="Last day.")
    milestones: list[MilestoneInput] = strawberry.field(
        default_factory=list, description="Time nodes inside the span."
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
            starts_on=self.starts_on,
            ends_on=self.ends_on,
            milestones=tuple(m.to_draft() for m in self.milestones),
        )


@strawberry.input(
    description="Changes to a DRAFT or CHANGES_REQUESTED request; omitted fields stay as they are."
)
class UpdateRequestInput:
    request_id: strawberry.ID = strawberry.field(description="The request to edit.")
    title: str | None = strawberry.field(default=None, description="New title.")
    background: str | None = strawberry.field(default=None, description="New background.")
    participant_department_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="New set of participating departments."
    )
    goals: list[GoalInput] | None = strawberry.field(default=None, description="New goals.")
    resource_needs: list[ResourceNeedInput] | None = strawberry.field(
        default=None, description="New resource needs."
    )
    milestones: list[MilestoneInput] | None = strawberry.field(
        default=None, description="New milestones."
    )
    approver_id: strawberry.ID | None = strawberry.field(default=None, description="New approver.")
    starts_on: date | None = strawberry.field(default=None, description="New first day.")
    ends_on: date | None = strawberry.field(default=None, description="New last day.")
    comment: str = strawberry.field(default="", description="Why it changed (kept in history).")

    def apply(self, form: models.NewRequest) -> models.NewRequest:
        """The current form with this input's fields laid over it."""
        changes: dict[str, Any] = {
            "title": self.title,
            "background": self.background,
            "approver_id": self.approver_id,
            "starts_on": self.starts_on,
            "ends_on": self.ends_on,
            "participant_department_ids": _opt_tuple(self.participant_department_ids),
            "goals": _opt_tuple(self.goals and [g.to_draft() for g in self.goals]),
            "resource_needs": _opt_tuple(
                self.resource_needs and [n.to_draft() for n in self.resource_needs]
            ),
            "milestones": _opt_tuple(self.milestones and [m.to_draft() for m in self.milestones]),
        }
        if self.goals == []:
            changes["goals"] = ()  # an explicit empty list is a change (refused by validation)
        if self.milestones == []:
            changes["milestones"] = ()
        if self.resource_needs == []:
            changes["resource_needs"] = ()
        return replace(form, **{k: v for k, v in changes.items() if v is not None})


def _opt_tuple(items: list[Any] | None) -> tuple[Any, ...] | None:
    return tuple(items) if items is not None else None


@strawberry.input(description="Filters for `requests`; every filter given must hold.")
class RequestFilter:
    kind: models.RequestKind | None = strawberry.field(default=None, description="Only this kind.")
    status: models.RequestStatus | None = strawberry.field(
        default=None, description="Only this status."
    )
    statuses: list[models.RequestStatus] | None = strawberry.field(
        default=None, description="Only requests in any of these statuses (none: every status)."
    )
    phase: models.Phase | None = strawberry.field(default=None, description="Only this phase.")
    text: str | None = strawberry.field(
        default=None,
        description="Words, Chinese or English, each found in the request's code, title,"
        " background or goals' metrics (`复盘` finds 项目复盘会, `launch` finds Launch plan);"
        " split by spaces, every word must be found.",
    )
    lead_department_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only requests this department leads."
    )
    participating_department_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Only requests this department takes part in, leading or participating.",
    )
    region_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Only requests of this region: a request's region is its lead"
        " department's region (as it is now, if the department has moved).",
    )
    created_after: datetime | None = strawberry.field(
        default=None, description="Only requests created at or after this time."
    )
    created_before: datetime | None = strawberry.field(
        default=None,
        description="Only requests created before this time; not earlier than `createdAfter`.",
    )
    updated_after: datetime | None = strawberry.field(
        default=None, description="Only requests last changed at or after this time."
    )
    updated_before: datetime | None = strawberry.field(
        default=None,
        description="Only requests last changed before this time; not earlier than `updatedAfter`.",
    )

    def to_filter(self) -> repo.RequestListFilter:
        """As the repository reads it; a range that ends before it starts is refused."""
        chosen = repo.RequestListFilter(
            kind=self.kind,
            status=self.status,
            statuses=self.statuses,
            phase=self.phase,
            text=self.text,
            lead_department_id=self.lead_department_id,
            participating_department_id=self.participating_department_id,
            region_id=self.region_id,
            created_after=self.created_after,
            created_before=self.created_before,
            updated_after=self.updated_after,
            updated_before=self.updated_before,
        )
        problem = chosen.problem()
        if problem is not None:
            raise PublicError(problem)
        return chosen


# --- payloads -------------------------------------------------------------------------------


@strawberry.type(description="Result of `createRequest`.")
class CreateRequestPayload:
    request: CollabRequest | None = strawberry.field(default=None, description="The new request.")
    user_errors: list[UserError] = strawberry.field(description="Why it was refused, if it was.")


# --- root types -----------------------------------------------------------------------------


@strawberry.type
class RequestQuery:
    @strawberry.field(
        description="One request, if the caller may see it.",
        metadata=sql.root_one(repo.request_source),
    )
    async def request(self, info: Info, id: strawberry.ID) -> CollabRequest | None:
        return await visible_request(info, id)

    @strawberry.field(
        description="Requests the caller may see that match `filter`, in the order `sort`.",
        metadata=sql.root_connection(repo.requests_source),
    )
    async def requests(
        self,
        info: Info,
        filter: RequestFilter | None = None,
        sort: Annotated[
            models.RequestSort,
            strawberry.argument(
                description="The order; ties are broken by id. A cursor is refused with"
                " another `sort` than the one it came with."
            ),
        ] = models.RequestSort.CREATED_NEWEST,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[CollabRequest]:
        context = info.context
        page = page_request(first, after, context.runtime.settings.graphql_max_page)
        chosen = (filter or RequestFilter()).to_filter()
        since = _after_key(sort, page)
        principal = context.principal
        # the page and its count in one transaction, both planned for their values
        async with context.runtime.pool.acquire() as conn, plan_with_values(conn):
            rows = await repo.list_requests(
                conn,
                sees_all=principal.sees_everything,
                departments=principal.departments,
                chosen=chosen,
                sort=sort,
                after=since,
                limit=page.limit + 1,
            )
            total = None
            if wants_total_count(info):  # a statement of its own: only if asked
                total = await repo.count_requests(
                    conn,
                    sees_all=principal.sees_everything,
                    departments=principal.departments,
                    chosen=chosen,
                )

        def cursor_key(request: models.CollabRequest) -> list[Any]:
            return sorted_key(sort, repo.sort_key(sort, request), _DEFAULT_SORT)

        return build_connection(rows, page, cursor_key, CollabRequest.from_model, total)


_DEFAULT_SORT = models.RequestSort.CREATED_NEWEST


def _after_key(sort: models.RequestSort, page: PageRequest) -> tuple[Any, ...] | None:
    """The sort key of ``after`` as typed parameters; a cursor of another order, or of
    another list, is refused."""
    values = after_in_sort(page, sort, _DEFAULT_SORT)
    if values is None:
        return None
    try:
        return repo.parse_sort_key(sort, values)
    except ValueError:
        raise PublicError(NOT_OURS) from None


@strawberry.type
class RequestMutation:
    @strawberry.mutation(
        description="Create a DRAFT request led by one of the caller's departments."
    )
    async def create_request(self, info: Info, input: CreateRequestInput) -> CreateRequestPayload:
        ctx = info.context
        action = service.create_request(ctx.runtime, ctx.principal, input.to_command())
        return await run_mutation(CreateRequestPayload, "request", action, CollabRequest.from_model)

    @strawberry.mutation(
        description="Edit a DRAFT or CHANGES_REQUESTED request (lead department); recorded."
    )
    async def update_request(self, info: Info, input: UpdateRequestInput) -> RequestPayload:
        ctx = info.context
        action = service.update_request(
            ctx.runtime, ctx.principal, input.request_id, input.apply, input.comment
        )
        return await run_mutation(RequestPayload, "request", action, CollabRequest.from_model)


def create_schema(settings: Settings) -> strawberry.federation.Schema:
    query = merge_types(
        "Query",
        (
            RequestQuery,
            DirectoryQuery,
            PartnerQuery,
            MeetingQuery,
            AcceptanceQuery,
            SecondmentQuery,
            CalendarQuery,
        ),
    )
    mutation = merge_types(
        "Mutation",
        (
            RequestMutation,
            DirectoryMutation,
            PartnerMutation,
            WorkflowMutation,
            MeetingMutation,
            KickoffMutation,
            AcceptanceMutation,
            SecondmentMutation,
            FolderMutation,
            CalendarMutation,
        ),
    )
    return build_schema(settings, query, mutation)
