"""Mutations for status moves; each refusal is a userError naming the current status."""

from __future__ import annotations

import strawberry

from services.requests.types import CollabRequest, RequestPayload
from services.requests.workflow import service
from services.requests.workflow.service import Decision
from shared.graphql.context import Info
from shared.graphql.errors import run_mutation

strawberry.enum(Decision, description="The approver's decision on a submitted request.")


@strawberry.input(description="A status move on one request, with an optional comment.")
class RequestMoveInput:
    request_id: strawberry.ID = strawberry.field(description="The request to move.")
    comment: str = strawberry.field(default="", description="Kept in the request's history.")


@strawberry.input(description="The approver's decision on a SUBMITTED request.")
class DecideRequestInput:
    request_id: strawberry.ID = strawberry.field(description="The request decided.")
    decision: Decision = strawberry.field(description="APPROVE, REJECT or REQUEST_CHANGES.")
    comment: str = strawberry.field(
        default="", description="Why; required to reject or to request changes."
    )


@strawberry.input(description="Cancel a request that is not finished; say why.")
class CancelRequestInput:
    request_id: strawberry.ID = strawberry.field(description="The request to cancel.")
    comment: str = strawberry.field(description="Why it is cancelled (required).")


@strawberry.type
class WorkflowMutation:
    @strawberry.mutation(
        description="Send a DRAFT or CHANGES_REQUESTED request to its approver (lead department)."
    )
    async def submit_request(self, info: Info, input: RequestMoveInput) -> RequestPayload:
        ctx = info.context
        action = service.submit_request(ctx.runtime, ctx.principal, input.request_id, input.comment)
        return await run_mutation(RequestPayload, "request", action, CollabRequest.from_model)

    @strawberry.mutation(description="Approve, reject or send back a SUBMITTED request (approver).")
    async def decide_request(self, info: Info, input: DecideRequestInput) -> RequestPayload:
        ctx = info.context
        action = service.decide_request(
            ctx.runtime, ctx.principal, input.request_id, input.decision, input.comment
        )
        return await run_mutation(RequestPayload, "request", action, CollabRequest.from_model)

    @strawberry.mutation(
        description="Start executing an APPROVED request, e.g. after the kickoff (lead department)."
    )
    async def activate_request(self, info: Info, input: RequestMoveInput) -> RequestPayload:
        ctx = info.context
        action = service.activate_request(
            ctx.runtime, ctx.principal, input.request_id, input.comment
        )
        return await run_mutation(RequestPayload, "request", action, CollabRequest.from_model)

    @strawberry.mutation(description="Cancel a request that is not finished (lead department).")
    async def cancel_request(self, info: Info, input: CancelRequestInput) -> RequestPayload:
        ctx = info.context
        action = service.cancel_request(ctx.runtime, ctx.principal, input.request_id, input.comment)
        return await run_mutation(RequestPayload, "request", action, CollabRequest.from_model)
