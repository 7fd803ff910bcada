"""GraphQL of partner webhooks, deliveries and the partner event stream."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime

import strawberry

from services.notify import event_log, stream
from services.notify.delivery import access
from services.notify.delivery import repository as deliveries
from services.notify.models import DeliveryStatus, TargetKind
from services.notify.webhooks import repository as repo
from services.notify.webhooks import service
from services.notify.webhooks.types import Delivery, Event, WebhookEndpoint, delivery_page
from shared.graphql.compiled import sql
from shared.graphql.context import Info
from shared.graphql.error_codes import ErrorCode
from shared.graphql.errors import DomainError, PublicError, UserError, run_mutation
from shared.graphql.pagination import (
    Connection,
    Edge,
    PageInfo,
    build_connection,
    check_page_size,
    page_request,
    wants_total_count,
)

# --- inputs and payloads --------------------------------------------------------------------


@strawberry.input(description="A partner endpoint to register.")
class CreateWebhookEndpointInput:
    url: str = strawberry.field(description="https URL that will receive the events.")
    event_types: list[str] = strawberry.field(
        description="Types to receive: exact, `prefix.*` or `*`, within the token's scopes."
    )
    description: str = strawberry.field(default="", description="What it is for.")


@strawberry.type(description="Result of `createWebhookEndpoint` and `rotateWebhookSecret`.")
class WebhookSecretPayload:
    endpoint: WebhookEndpoint | None = strawberry.field(default=None, description="The endpoint.")
    secret: str | None = strawberry.field(
        default=None,
        description="The signing secret (`whsec_...`). Shown this once: store it now.",
    )
    user_errors: list[UserError] = strawberry.field(description="Why it was refused, if it was.")


@strawberry.input(description="Which endpoint.")
class WebhookEndpointInput:
    id: strawberry.ID = strawberry.field(description="Id of one of the caller's endpoints.")


@strawberry.input(description="An endpoint to disable.")
class DisableWebhookEndpointInput:
    id: strawberry.ID = strawberry.field(description="Id of one of the caller's endpoints.")
    reason: str | None = strawberry.field(default=None, description="Why, for the record.")


@strawberry.type(description="Result of disabling or enabling an endpoint.")
class WebhookEndpointPayload:
    endpoint: WebhookEndpoint | None = strawberry.field(
        default=None, description="The endpoint, changed."
    )
    user_errors: list[UserError] = strawberry.field(description="Why it was refused, if it was.")


@strawberry.input(description="A delivery to attempt again now.")
class RetryDeliveryInput:
    id: strawberry.ID = strawberry.field(description="Id of a delivery the caller may see.")


@strawberry.type(description="Result of `retryDelivery`.")
class RetryDeliveryPayload:
    delivery: Delivery | None = strawberry.field(
        default=None, description="The delivery, pending again."
    )
    user_errors: list[UserError] = strawberry.field(description="Why it was refused, if it was.")


@strawberry.input(description="A time range of events to send to an endpoint again.")
class ReplayEventsInput:
    endpoint_id: strawberry.ID = strawberry.field(description="One of the caller's endpoints.")
    from_: datetime = strawberry.field(
        name="from",
        description="Start (inclusive); no earlier than the event retention (90 days by default,"
        " BEFORE_RETENTION otherwise).",
    )
    to: datetime = strawberry.field(description="End (exclusive).")


@strawberry.type(description="Result of `replayEvents`.")
class ReplayEventsPayload:
    count: int | None = strawberry.field(
        default=None, description="How many events were queued for the endpoint."
    )
    user_errors: list[UserError] = strawberry.field(description="Why it was refused, if it was.")


# --- root fields ----------------------------------------------------------------------------


async def _visible_endpoint(info: Info, endpoint_id: str) -> WebhookEndpoint:
    async with info.context.runtime.pool.acquire() as conn:
        endpoint = await repo.get_endpoint(conn, endpoint_id)
    if endpoint is None or not service.may_manage(info.context.principal, endpoint):
        raise PublicError(f"no such webhook endpoint: {endpoint_id}", ErrorCode.NOT_FOUND)
    return WebhookEndpoint.from_model(endpoint)


@strawberry.type
class WebhookQuery:
    @strawberry.field(
        description="The caller's webhook endpoints (ADMIN: everyone's), newest first."
    )
    async def webhook_endpoints(
        self, info: Info, first: int = 20, after: str | None = None
    ) -> Connection[WebhookEndpoint]:
        context = info.context
        page = page_request(first, after, context.runtime.settings.graphql_max_page)
        principal = context.principal
        owner = None if service.sees_all_endpoints(principal) else principal.sub
        async with context.runtime.pool.acquire() as conn:
            rows = await repo.list_endpoints(
                conn,
                owner,
                after_id=page.after[0] if page.after else None,
                limit=page.limit + 1,
            )
            total = None
            if wants_total_count(info):  # a statement of its own: only if asked
                total = await repo.count_endpoints(conn, owner)
        return build_connection(rows, page, lambda e: [e.id], WebhookEndpoint.from_model, total)

    @strawberry.field(description="One of the caller's endpoints; null if not theirs.")
    async def webhook_endpoint(self, info: Info, id: strawberry.ID) -> WebhookEndpoint | None:
        try:
            return await _visible_endpoint(info, str(id))
        except PublicError:
            return None

    @strawberry.field(
        description="Deliveries, newest first: to one of the caller's endpoints"
        " (`endpointId`), or else the e-mails sent to the caller."
    )
    async def deliveries(
        self,
        info: Info,
        endpoint_id: strawberry.ID | None = None,
        status: DeliveryStatus | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[Delivery]:
        if endpoint_id is not None:
            endpoint = await _visible_endpoint(info, str(endpoint_id))
            return await delivery_page(
                info, TargetKind.WEBHOOK, [str(endpoint.id)], status, first, after
            )
        me = info.context.principal.sub
        return await delivery_page(info, TargetKind.EMAIL, [me], status, first, after)

    @strawberry.field(description="One delivery the caller may see; null otherwise.")
    async def delivery(self, info: Info, id: strawberry.ID) -> Delivery | None:
        async with info.context.runtime.pool.acquire() as conn:
            found = await deliveries.get_delivery(conn, str(id))
            if found is None or not await access.may_see(conn, info.context.principal, found):
                return None
        return Delivery.from_model(found)

    @strawberry.field(
        description="Replay of the event stream in order, limited to what the caller may see;"
        " `after` is the last event id received (cursors are event ids). Events are kept for"
        " the retention period (90 days by default). `totalCount` is always null here:"
        " counting would read the whole retained log through the caller's visibility and"
        " `types` filters on every page, and the log grows while it is read.",
        metadata=sql.root_log(event_log.events_source, event_log.ORDER),
    )
    async def events(
        self,
        info: Info,
        after: str | None = None,
        types: list[str] | None = None,
        first: int = 50,
    ) -> Connection[Event]:
        runtime = info.context.runtime
        limit = runtime.settings.graphql_max_page
        check_page_size(first, limit)
        position = await stream.position_after(runtime, after)
        found = await stream.read(runtime, info.context.principal, position, types, first + 1)
        visible = found[:first]
        edges = [Edge(cursor=e.event_id, node=Event.from_model(e)) for e in visible]
        return Connection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=len(found) > first,
                end_cursor=edges[-1].cursor if edges else after,
            ),
        )


@strawberry.type
class WebhookMutation:
    @strawberry.mutation(
        description="Register a partner endpoint; the answer carries its secret, once."
    )
    async def create_webhook_endpoint(
        self, info: Info, input: CreateWebhookEndpointInput
    ) -> WebhookSecretPayload:
        ctx = info.context
        try:
            created = await service.create_endpoint(
                ctx.runtime, ctx.principal, input.url, input.description, input.event_types
            )
        except DomainError as exc:
            return WebhookSecretPayload(user_errors=exc.user_errors())
        return WebhookSecretPayload(
            endpoint=WebhookEndpoint.from_model(created.endpoint),
            secret=created.secret,
            user_errors=[],
        )

    @strawberry.mutation(
        description="A new signing secret, shown once; the old one also signs for 24 hours."
    )
    async def rotate_webhook_secret(
        self, info: Info, input: WebhookEndpointInput
    ) -> WebhookSecretPayload:
        ctx = info.context
        try:
            rotated = await service.rotate_secret(ctx.runtime, ctx.principal, str(input.id))
        except DomainError as exc:
            return WebhookSecretPayload(user_errors=exc.user_errors())
        return WebhookSecretPayload(
            endpoint=WebhookEndpoint.from_model(rotated.endpoint),
            secret=rotated.secret,
            user_errors=[],
        )

    @strawberry.mutation(description="Stop sending to an endpoint; waiting deliveries stop too.")
    async def disable_webhook_endpoint(
        self, info: Info, input: DisableWebhookEndpointInput
    ) -> WebhookEndpointPayload:
        ctx = info.context
        action = service.set_enabled(ctx.runtime, ctx.principal, str(input.id), False, input.reason)
        return await run_mutation(
            WebhookEndpointPayload, "endpoint", action, WebhookEndpoint.from_model
        )

    @strawberry.mutation(
        description="Send to a disabled endpoint again (use `replayEvents` for what it missed)."
    )
    async def enable_webhook_endpoint(
        self, info: Info, input: WebhookEndpointInput
    ) -> WebhookEndpointPayload:
        ctx = info.context
        action = service.set_enabled(ctx.runtime, ctx.principal, str(input.id), True, None)
        return await run_mutation(
            WebhookEndpointPayload, "endpoint", action, WebhookEndpoint.from_model
        )

    @strawberry.mutation(description="Attempt a failed, exhausted or past delivery again now.")
    async def retry_delivery(self, info: Info, input: RetryDeliveryInput) -> RetryDeliveryPayload:
        ctx = info.context
        action = access.retry(ctx.runtime, ctx.principal, str(input.id))
        return await run_mutation(RetryDeliveryPayload, "delivery", action, Delivery.from_model)

    @strawberry.mutation(
        description="Send an endpoint every event it subscribes to from a time range again."
    )
    async def replay_events(self, info: Info, input: ReplayEventsInput) -> ReplayEventsPayload:
        ctx = info.context
        action = service.replay(
            ctx.runtime, ctx.principal, str(input.endpoint_id), input.from_, input.to
        )
        return await run_mutation(ReplayEventsPayload, "count", action)


@strawberry.type
class WebhookSubscription:
    @strawberry.subscription(
        description="Events as they happen, limited to what the caller may see; with `after`"
        " (the last event id received) it first replays what came since."
    )
    async def events(
        self, info: Info, types: list[str] | None = None, after: str | None = None
    ) -> AsyncGenerator[Event, None]:
        ctx = info.context
        position = await stream.position_after(ctx.runtime, after)
        async for event in stream.follow(ctx.runtime, ctx.principal, position, types):
            yield Event.from_model(event)
