"""GraphQL types, queries and mutations of secondments."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

import strawberry

from services.requests.directory.types import (
    Department,
    Person,
    department_or_none,
    person_or_none,
)
from services.requests.secondments import models, service
from services.requests.secondments import repository as repo
from services.requests.types import CollabRequest, visible_request
from shared.graphql.context import Info
from shared.graphql.errors import UserError, run_mutation
from shared.graphql.loaders import many_per_key
from shared.graphql.pagination import Connection, build_connection, page_request, wants_total_count

strawberry.enum(models.SecondmentStatus, description="Where a secondment stands.")
strawberry.enum(models.SecondmentDecision, description="A department head's decision.")


load_approvals = many_per_key(repo.approvals_by_ids)


@strawberry.type(description="One department head's decision on a secondment.")
class SecondmentApproval:
    decision: models.SecondmentDecision = strawberry.field(description="Approve or reject.")
    comment: str = strawberry.field(description="Why, possibly empty.")
    decided_at: datetime = strawberry.field(description="When.")
    department_id: strawberry.Private[str]
    approver_id: strawberry.Private[str]

    @strawberry.field(description="The department the head decided for.")
    async def department(self, info: Info) -> Department | None:
        return await department_or_none(info, self.department_id)

    @strawberry.field(description="The head who decided.")
    async def approver(self, info: Info) -> Person | None:
        return await person_or_none(info, self.approver_id)


@strawberry.type(description="Staff on loan from one department (and region) to another.")
class Secondment:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    starts_on: date = strawberry.field(description="First day.")
    ends_on: date = strawberry.field(description="Last day.")
    duties: list[str] = strawberry.field(description="Responsibilities during the loan.")
    evaluation_criteria: list[str] = strawberry.field(description="How the work is assessed.")
    support: list[str] = strawberry.field(description="Support given (housing, equipment...).")
    status: models.SecondmentStatus = strawberry.field(
        description="REQUESTED, APPROVED (before start), ACTIVE, COMPLETED or REJECTED."
    )
    model: strawberry.Private[models.Secondment]

    @classmethod
    def from_model(cls, s: models.Secondment) -> Secondment:
        return cls(
            id=strawberry.ID(s.id),
            starts_on=s.starts_on,
            ends_on=s.ends_on,
            duties=list(s.duties),
            evaluation_criteria=list(s.evaluation_criteria),
            support=list(s.support),
            status=s.status_on(datetime.now(UTC).date()),
            model=s,
        )

    @strawberry.field(description="The person on loan.")
    async def person(self, info: Info) -> Person | None:
        return await person_or_none(info, self.model.person_id)

    @strawberry.field(description="The lending department.")
    async def from_department(self, info: Info) -> Department | None:
        return await department_or_none(info, self.model.from_department_id)

    @strawberry.field(description="The borrowing department.")
    async def to_department(self, info: Info) -> Department | None:
        return await department_or_none(info, self.model.to_department_id)

    @strawberry.field(description="The request it serves, if any and visible.")
    async def request(self, info: Info) -> CollabRequest | None:
        if self.model.request_id is None:
            return None
        return await visible_request(info, self.model.request_id)

    @strawberry.field(description="Decisions of the two department heads so far.")
    async def approvals(self, info: Info) -> list[SecondmentApproval]:
        found = await info.context.loader(load_approvals).load(self.model.id)
        return [
            SecondmentApproval(
                decision=a.decision,
                comment=a.comment,
                decided_at=a.decided_at,
                department_id=a.department_id,
                approver_id=a.approver_id,
            )
            for a in found
        ]


@strawberry.input(description="A secondment request (borrowing department or PMO).")
class RequestSecondmentInput:
    person_id: strawberry.ID = strawberry.field(description="Who goes on loan.")
    from_department_id: strawberry.ID = strawberry.field(description="Lending department.")
    to_department_id: strawberry.ID = strawberry.field(description="Borrowing department.")
    starts_on: date = strawberry.field(description="First day.")
    ends_on: date = strawberry.field(description="Last day.")
    duties: list[str] = strawberry.field(description="Responsibilities (at least one).")
    evaluation_criteria: list[str] = strawberry.field(description="Assessment (at least one).")
    support: list[str] = strawberry.field(default_factory=list, description="Support given.")
    request_id: strawberry.ID | None = strawberry.field(
        default=None, description="The collaboration request it serves."
    )

    def to_command(self) -> models.NewSecondment:
        return models.NewSecondment(
            person_id=self.person_id,
            from_department_id=self.from_department_id,
            to_department_id=self.to_department_id,
            starts_on=self.starts_on,
            ends_on=self.ends_on,
            duties=tuple(d.strip() for d in self.duties if d.strip()),
            evaluation_criteria=tuple(c.strip() for c in self.evaluation_criteria if c.strip()),
            support=tuple(s.strip() for s in self.support if s.strip()),
            request_id=self.request_id,
        )


@strawberry.input(description="A department head's decision.")
class DecideSecondmentInput:
    secondment_id: strawberry.ID = strawberry.field(description="The secondment.")
    decision: models.SecondmentDecision = strawberry.field(description="Approve or reject.")
    comment: str = strawberry.field(default="", description="Why; required to reject.")


@strawberry.type(description="Result of a secondment mutation.")
class SecondmentPayload:
    secondment: Secondment | None = strawberry.field(default=None, description="The secondment.")
    user_errors: list[UserError] = strawberry.field(description="Why it was refused, if it was.")


@strawberry.type
class SecondmentQuery:
    @strawberry.field(
        description="Secondments touching the caller's departments or the caller, newest first."
    )
    async def secondments(
        self,
        info: Info,
        first: Annotated[int, strawberry.argument(description="Page size.")] = 20,
        after: Annotated[str | None, strawberry.argument(description="Cursor.")] = None,
    ) -> Connection[Secondment]:
        ctx = info.context
        page = page_request(first, after, ctx.runtime.settings.graphql_max_page)
        async with ctx.runtime.pool.acquire() as conn:
            rows = await repo.list_visible(
                conn,
                sees_all=ctx.principal.sees_everything,
                person_id=ctx.principal.sub,
                departments=ctx.principal.departments,
                after_id=page.after[0] if page.after else None,
                limit=page.limit + 1,
            )
            total = None
            if wants_total_count(info):  # a statement of its own: only if asked
                total = await repo.count_visible(
                    conn,
                    sees_all=ctx.principal.sees_everything,
                    person_id=ctx.principal.sub,
                    departments=ctx.principal.departments,
                )
        return build_connection(rows, page, lambda r: [r.id], Secondment.from_model, total)


@strawberry.type
class SecondmentMutation:
    @strawberry.mutation(description="Ask for a secondment (borrowing department or PMO).")
    async def request_secondment(
        self, info: Info, input: RequestSecondmentInput
    ) -> SecondmentPayload:
        ctx = info.context
        action = service.request_secondment(ctx.runtime, ctx.principal, input.to_command())
        return await run_mutation(SecondmentPayload, "secondment", action, Secondment.from_model)

    @strawberry.mutation(description="Approve or reject as head of either department.")
    async def decide_secondment(
        self, info: Info, input: DecideSecondmentInput
    ) -> SecondmentPayload:
        ctx = info.context
        action = service.decide_secondment(
            ctx.runtime, ctx.principal, input.secondment_id, input.decision, input.comment
        )
        return await run_mutation(SecondmentPayload, "secondment", action, Secondment.from_model)
