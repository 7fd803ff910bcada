"""GraphQL of calendar feeds: the caller's feed URLs, rotating and revoking the token."""

from __future__ import annotations

from typing import Annotated

import strawberry

from services.requests.calendar import tokens
from services.requests.repository import is_visible
from shared.auth import Principal, Role
from shared.graphql.context import Info
from shared.graphql.errors import DomainError, UserError, run_mutation
from shared.runtime import ServiceRuntime

RequestIdArgument = Annotated[
    strawberry.ID | None,
    strawberry.argument(
        description="A request the caller may see: the URL of its feed instead of the personal one."
    ),
]


def _is_partner(principal: Principal) -> bool:
    """Partner clients are no person of the directory and have no calendar."""
    return principal.roles == frozenset({Role.PARTNER})


async def _url(info: Info, request_id: str | None) -> str | None:
    """The caller's feed URL (token created on first ask); None for partners or a request
    the caller may not see."""
    ctx = info.context
    principal = ctx.principal
    if _is_partner(principal):
        return None
    async with ctx.runtime.pool.acquire() as conn:
        if request_id is not None and not await is_visible(
            conn, request_id, sees_all=principal.sees_everything, departments=principal.departments
        ):
            return None
        token = await tokens.current_token(conn, ctx.runtime.settings, principal.sub)
    return tokens.feed_url(ctx.runtime.settings, token, request_id)


def _refuse_partner(principal: Principal) -> None:
    if _is_partner(principal):
        raise DomainError.single("FORBIDDEN", "partner clients have no calendar feed")


async def _rotate(runtime: ServiceRuntime, principal: Principal) -> str:
    _refuse_partner(principal)
    async with runtime.pool.acquire() as conn:
        token = await tokens.rotate(conn, runtime.settings, principal.sub)
    return tokens.feed_url(runtime.settings, token)


async def _revoke(runtime: ServiceRuntime, principal: Principal) -> bool:
    _refuse_partner(principal)
    async with runtime.pool.acquire() as conn:
        return await tokens.revoke(conn, principal.sub)


@strawberry.type(description="Result of `rotateCalendarFeed`.")
class RotateCalendarFeedPayload:
    url: str | None = strawberry.field(
        default=None, description="The new personal feed URL (https or http)."
    )
    user_errors: list[UserError] = strawberry.field(description="Why it was refused, if it was.")

    @strawberry.field(description="The same feed as a `webcal://` URL, for one-click subscribing.")
    def webcal_url(self) -> str | None:
        return tokens.webcal_url(self.url) if self.url else None


@strawberry.type(description="Result of `revokeCalendarFeed`.")
class RevokeCalendarFeedPayload:
    revoked: bool = strawberry.field(
        default=False, description="Whether there was a feed token to revoke."
    )
    user_errors: list[UserError] = strawberry.field(description="Why it was refused, if it was.")


@strawberry.type
class CalendarQuery:
    @strawberry.field(
        description=(
            "The caller's iCalendar feed URL (meetings, task due times as R or A, SLA deadlines"
            " of issues they own, secondment ends); the token is created on first ask. Null for"
            " partner clients, or for a request the caller may not see."
        )
    )
    async def calendar_feed_url(
        self, info: Info, request_id: RequestIdArgument = None
    ) -> str | None:
        return await _url(info, request_id)

    @strawberry.field(
        description="`calendarFeedUrl` as a `webcal://` URL, which calendar apps subscribe to."
    )
    async def calendar_feed_webcal_url(
        self, info: Info, request_id: RequestIdArgument = None
    ) -> str | None:
        url = await _url(info, request_id)
        return tokens.webcal_url(url) if url else None


@strawberry.type
class CalendarMutation:
    @strawberry.mutation(
        description="Replace the caller's feed token: every URL with the old one answers 404."
    )
    async def rotate_calendar_feed(self, info: Info) -> RotateCalendarFeedPayload:
        ctx = info.context
        action = _rotate(ctx.runtime, ctx.principal)
        return await run_mutation(RotateCalendarFeedPayload, "url", action)

    @strawberry.mutation(
        description="Delete the caller's feed token: feeds answer 404 until a URL is asked again."
    )
    async def revoke_calendar_feed(self, info: Info) -> RevokeCalendarFeedPayload:
        ctx = info.context
        action = _revoke(ctx.runtime, ctx.principal)
        return await run_mutation(RevokeCalendarFeedPayload, "revoked", action)
