"""The notify subgraph: the caller's inbox, read marks and live notifications."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from services.notify import repository as repo
from services.notify import service
from services.notify.types import Notification, Person
from shared.graphql.context import Info
from shared.graphql.errors import UserError, run_mutation
from shared.graphql.pagination import Connection, build_connection, page_request
from shared.graphql.schema import build_schema
from shared.settings import Settings

# --- inputs and payloads --------------------------------------------------------------------


@strawberry.input(description="Which notifications to mark read.")
class MarkReadInput:
    ids: list[strawberry.ID] = strawberry.field(
        description="Ids of the caller's notifications; if any is not theirs, none is marked."
    )


@strawberry.type(description="Result of `markRead`.")
class MarkReadPayload:
    notifications: list[Notification] | None = strawberry.field(
        default=None, description="The notifications, now read, in the order asked."
    )
    user_errors: list[UserError] = strawberry.field(description="Why it was refused, if it was.")


@strawberry.type(description="Result of `markAllRead`.")
class MarkAllReadPayload:
    count: int | None = strawberry.field(
        default=None, description="How many unread notifications were marked read."
    )
    user_errors: list[UserError] = strawberry.field(description="Why it was refused, if it was.")


# --- root types -----------------------------------------------------------------------------


@strawberry.type
class Query:
    @strawberry.field(description="The caller's notifications, newest first.")
    async def my_notifications(
        self,
        info: Info,
        unread_only: bool = False,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[Notification]:
        context = info.context
        page = page_request(first, after, context.runtime.settings.graphql_max_page)
        me = context.principal.sub
        async with context.runtime.pool.acquire() as conn:
            rows = await repo.list_notifications(
                conn,
                me,
                unread_only=unread_only,
                after_id=page.after[0] if page.after else None,
                limit=page.limit + 1,
            )
            total = await repo.count_notifications(conn, me, unread_only=unread_only)
        return build_connection(rows, page, lambda n: [n.id], Notification.from_model, total)

    @strawberry.field(description="How many of the caller's notifications are unread.")
    async def unread_count(self, info: Info) -> int:
        me = info.context.principal.sub
        async with info.context.runtime.pool.acquire() as conn:
            return await repo.count_notifications(conn, me, unread_only=True)


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Mark some of the caller's notifications read.")
    async def mark_read(self, info: Info, input: MarkReadInput) -> MarkReadPayload:
        ctx = info.context
        action = service.mark_read(ctx.runtime, ctx.principal, [str(i) for i in input.ids])
        return await run_mutation(
            MarkReadPayload,
            "notifications",
            action,
            lambda found: [Notification.from_model(n) for n in found],
        )

    @strawberry.mutation(description="Mark every unread notification of the caller read.")
    async def mark_all_read(self, info: Info) -> MarkAllReadPayload:
        ctx = info.context
        action = service.mark_all_read(ctx.runtime, ctx.principal)
        return await run_mutation(MarkAllReadPayload, "count", action)


@strawberry.type
class Subscription:
    @strawberry.subscription(description="The caller's new notifications, as they are created.")
    async def notifications(self, info: Info) -> AsyncGenerator[Notification, None]:
        ctx = info.context
        async for notification in service.new_notifications(ctx.runtime, ctx.principal.sub):
            yield Notification.from_model(notification)


def create_schema(settings: Settings) -> strawberry.federation.Schema:
    return build_schema(settings, Query, Mutation, Subscription, types=[Person])
