"""GraphQL of chat groups."""

from __future__ import annotations

import strawberry

from services.notify.channels import repository as repo
from services.notify.channels import service
from services.notify.channels.types import Channel
from services.notify.models import ChannelKind, Phase
from shared.graphql.context import Info
from shared.graphql.errors import UserError, run_mutation
from shared.replicas import get_request


@strawberry.input(description="The chat group of one request's phase and department.")
class RegisterChannelInput:
    request: strawberry.ID = strawberry.field(description="The collaboration request.")
    phase: Phase = strawberry.field(description="The phase whose messages it receives.")
    department: strawberry.ID = strawberry.field(description="A department taking part.")
    kind: ChannelKind = strawberry.field(description="Which platform's robot.")
    webhook_url: str = strawberry.field(
        description="The robot's webhook URL (for EMAIL: `mailto:list@example.com`)."
    )
    secret: str | None = strawberry.field(
        default=None,
        description="Signing secret: required for DINGTALK and FEISHU robots; `whsec_...`"
        " for WEBHOOK. Never shown again.",
    )


@strawberry.type(description="Result of `registerChannel`.")
class RegisterChannelPayload:
    channel: Channel | None = strawberry.field(default=None, description="The new channel.")
    user_errors: list[UserError] = strawberry.field(description="Why it was refused, if it was.")


@strawberry.type
class ChannelQuery:
    @strawberry.field(
        description="The chat groups of a request (for people of its departments, PMO, ADMIN):"
        " at most one per phase, taking-part department and platform."
    )
    async def channels(self, info: Info, request: strawberry.ID) -> list[Channel]:
        principal = info.context.principal
        async with info.context.runtime.pool.acquire() as conn:
            found = await get_request(conn, str(request))
            if found is None or not principal.may_see(found.departments):
                return []
            rows = await repo.channels_of_request(conn, found.id)
        return [Channel.from_model(c) for c in rows]


@strawberry.type
class ChannelMutation:
    @strawberry.mutation(
        description="Register a request's chat group for a phase and department; its name"
        " follows `[request title]-[phase]-[department]`."
    )
    async def register_channel(
        self, info: Info, input: RegisterChannelInput
    ) -> RegisterChannelPayload:
        ctx = info.context
        action = service.register(
            ctx.runtime,
            ctx.principal,
            request_id=str(input.request),
            phase=input.phase,
            department_id=str(input.department),
            kind=input.kind,
            url=input.webhook_url,
            secret=input.secret,
        )
        return await run_mutation(RegisterChannelPayload, "channel", action, Channel.from_model)
