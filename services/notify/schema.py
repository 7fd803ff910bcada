"""The notify subgraph: inbox, preferences, chat groups, partner webhooks and events."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import time

import strawberry
from strawberry.tools import merge_types

from services.notify import repository as repo
from services.notify import service
from services.notify.channels.schema import ChannelMutation, ChannelQuery
from services.notify.models import PersonalChannel
from services.notify.preferences import set_preferences
from services.notify.search.schema import SearchQuery
from services.notify.types import Notification, NotificationPreferences, Person
from services.notify.webhooks.schema import WebhookMutation, WebhookQuery, WebhookSubscription
from services.notify.work.schema import WorkQuery
from shared.graphql.compiled import sql
from shared.graphql.context import Info
from shared.graphql.errors import UserError, run_mutation
from shared.graphql.pagination import Connection, build_connection, page_request, wants_total_count
from shared.graphql.schema import build_schema
from shared.settings import Settings

# --- inputs and payloads --------------------------------------------------------------------


@strawberry.input(description="Which notifications to mark read.")
class MarkReadInput:
    ids: list[strawberry.ID] = strawberry.field(
        description="Ids of the caller's notifications, at most LIAISON_GRAPHQL_MAX_PAGE (100"
        " by default) different ones; if any is not theirs, none is marked."
    )


@strawberry.type(description="Result of `markRead`.")
class MarkReadPayload:
    notifications: list[Notification] | None = strawberry.field(
        default=None,
        description="The notifications, now read, in the order asked (as many as the ids).",
    )
    user_errors: list[UserError] = strawberry.field(description="Why it was refused, if it was.")


@strawberry.type(description="Result of `markAllRead`.")
class MarkAllReadPayload:
    count: int | None = strawberry.field(
        default=None, description="How many unread notifications were marked read."
    )
    user_errors: list[UserError] = strawberry.field(description="Why it was refused, if it was.")


@strawberry.input(description="A daily window of local time.")
class QuietHoursInput:
    start: time = strawberry.field(description="Local start, e.g. 22:00.")
    end: time = strawberry.field(description="Local end, e.g. 08:00 (may be the next day).")


@strawberry.input(description="Channels per urgency; each list must include IN_APP.")
class ChannelsByUrgencyInput:
    normal: list[PersonalChannel] = strawberry.field(description="For NORMAL notifications.")
    urgent: list[PersonalChannel] = strawberry.field(description="For URGENT notifications.")


@strawberry.input(description="The caller's notification preferences (all of them).")
class SetNotificationPreferencesInput:
    quiet_hours: QuietHoursInput | None = strawberry.field(
        default=None, description="Null: no quiet hours."
    )
    time_zone: str | None = strawberry.field(
        default=None, description="IANA zone; null: the one in the directory."
    )
    digest_for_informed: bool = strawberry.field(
        default=True, description="One daily digest where only Informed (I)."
    )
    channels_by_urgency: ChannelsByUrgencyInput | None = strawberry.field(
        default=None, description="Null: IN_APP and EMAIL for both."
    )
    language: str = strawberry.field(default="zh", description="`zh` or `en`, for e-mail.")


@strawberry.type(description="Result of `setNotificationPreferences`.")
class SetNotificationPreferencesPayload:
    preferences: NotificationPreferences | None = strawberry.field(
        default=None, description="The preferences now in force."
    )
    user_errors: list[UserError] = strawberry.field(description="Why it was refused, if it was.")


# --- root types -----------------------------------------------------------------------------


@strawberry.type
class InboxQuery:
    @strawberry.field(
        description="The caller's notifications, newest first.",
        metadata=sql.root_connection(repo.inbox_source),
    )
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
            total = None
            if wants_total_count(info):  # a statement of its own: only if asked
                total = await repo.count_notifications(conn, me, unread_only=unread_only)
        return build_connection(rows, page, lambda n: [n.id], Notification.from_model, total)

    @strawberry.field(description="How many of the caller's notifications are unread.")
    async def unread_count(self, info: Info) -> int:
        me = info.context.principal.sub
        async with info.context.runtime.pool.acquire() as conn:
            return await repo.count_notifications(conn, me, unread_only=True)

    @strawberry.field(description="The caller's notification preferences (defaults if unset).")
    async def notification_preferences(self, info: Info) -> NotificationPreferences:
        me = info.context.principal.sub
        async with info.context.runtime.pool.acquire() as conn:
            return NotificationPreferences.from_model(await repo.get_preferences(conn, me))


_BOTH = [PersonalChannel.IN_APP, PersonalChannel.EMAIL]


@strawberry.type
class InboxMutation:
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

    @strawberry.mutation(
        description="Set the caller's quiet hours, digest choice, channels and language."
    )
    async def set_notification_preferences(
        self, info: Info, input: SetNotificationPreferencesInput
    ) -> SetNotificationPreferencesPayload:
        ctx = info.context
        channels = input.channels_by_urgency
        action = set_preferences(
            ctx.runtime,
            ctx.principal,
            quiet_start=input.quiet_hours.start if input.quiet_hours else None,
            quiet_end=input.quiet_hours.end if input.quiet_hours else None,
            time_zone=input.time_zone,
            digest_for_informed=input.digest_for_informed,
            normal_channels=channels.normal if channels else _BOTH,
            urgent_channels=channels.urgent if channels else _BOTH,
            language=input.language,
        )
        return await run_mutation(
            SetNotificationPreferencesPayload,
            "preferences",
            action,
            NotificationPreferences.from_model,
        )


@strawberry.type
class InboxSubscription:
    @strawberry.subscription(description="The caller's new notifications, as they are created.")
    async def notifications(self, info: Info) -> AsyncGenerator[Notification, None]:
        ctx = info.context
        async for notification in service.new_notifications(ctx.runtime, ctx.principal.sub):
            yield Notification.from_model(notification)


Query = merge_types("Query", (InboxQuery, WebhookQuery, ChannelQuery, WorkQuery, SearchQuery))
Mutation = merge_types("Mutation", (InboxMutation, WebhookMutation, ChannelMutation))
Subscription = merge_types("Subscription", (InboxSubscription, WebhookSubscription))


def create_schema(settings: Settings) -> strawberry.federation.Schema:
    return build_schema(settings, Query, Mutation, Subscription, types=[Person])
