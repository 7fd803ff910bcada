"""GraphQL types of partner webhooks, deliveries and the event stream."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import orjson
import strawberry
from strawberry.scalars import JSON

from services.notify import event_log, models
from services.notify.delivery import repository as deliveries
from services.notify.webhooks import repository as repo
from shared.db import read_with_retry
from shared.graphql.compiled import sql
from shared.graphql.context import Info
from shared.graphql.loaders import many_per_key, one_per_key
from shared.graphql.pagination import Connection, build_connection, page_request, wants_total_count
from shared.runtime import ServiceRuntime

strawberry.enum(models.DeliveryStatus, description="Where a delivery stands.")
strawberry.enum(models.TargetKind, description="What kind of target a delivery goes to.")


load_attempts = many_per_key(deliveries.attempts_of)


load_endpoints = one_per_key(repo.endpoints_by_ids)


async def load_webhook_delivery_pages(
    runtime: ServiceRuntime, keys: Sequence[deliveries.PageKey]
) -> list[tuple[list[models.Delivery], int]]:
    """``WebhookEndpoint.deliveries`` of a page of endpoints: rows and count in one query."""
    found = await read_with_retry(
        runtime.pool,
        lambda conn: deliveries.delivery_pages(conn, models.TargetKind.WEBHOOK, keys),
    )
    return [found[key] for key in keys]


@strawberry.type(description="One attempt to deliver: when, and what the target answered.")
class DeliveryAttempt:
    number: int = strawberry.field(description="1 for the first attempt, then 2, 3, ...")
    started_at: datetime = strawberry.field(description="When the request was sent.")
    finished_at: datetime | None = strawberry.field(
        description="When the outcome was recorded; null while under way."
    )
    outcome: str | None = strawberry.field(
        description="SUCCEEDED, FAILED, or UNKNOWN when the worker stopped during the attempt."
    )
    status_code: int | None = strawberry.field(description="HTTP status answered, if any.")
    error: str | None = strawberry.field(description="Why it failed, if it did.")


@strawberry.type(description="One event sent to one target, with all its attempts.")
class Delivery:
    id: strawberry.ID = strawberry.field(description="Opaque id; sorts by creation time.")
    event_id: str = strawberry.field(
        description="Id of the event; for partner webhooks also the `webhook-id` header."
    )
    event_type: str = strawberry.field(description="Type of the event.")
    target: models.TargetKind = strawberry.field(
        description="WEBHOOK (a partner endpoint), CHANNEL (a chat group) or EMAIL (a person)."
    )
    target_id: str = strawberry.field(
        description="Id of the endpoint, of the channel, or of the person e-mailed."
    )
    attempts: int = strawberry.field(description="How many attempts were made so far.")
    status: models.DeliveryStatus = strawberry.field(
        description="PENDING, SUCCEEDED, FAILED (a retry may follow) or EXHAUSTED."
    )
    last_status_code: int | None = strawberry.field(
        description="HTTP status of the last attempt, if it got one."
    )
    last_error: str | None = strawberry.field(description="Why the last attempt failed.")
    next_attempt_at: datetime | None = strawberry.field(
        description="When the next attempt is due; null when none is planned."
    )
    created_at: datetime = strawberry.field(description="When the delivery was created.")

    @classmethod
    def from_model(cls, d: models.Delivery) -> Delivery:
        return cls(
            id=strawberry.ID(d.id),
            event_id=d.event_id,
            event_type=d.event_type,
            target=d.target_kind,
            target_id=d.target_id,
            attempts=d.attempts,
            status=d.status,
            last_status_code=d.last_status_code,
            last_error=d.last_error,
            next_attempt_at=d.next_attempt_at,
            created_at=d.created_at,
        )

    @strawberry.field(description="Every attempt, oldest first.")
    async def attempt_log(self, info: Info) -> list[DeliveryAttempt]:
        found = await info.context.loader(load_attempts).load(str(self.id))
        return [
            DeliveryAttempt(
                number=a.number,
                started_at=a.started_at,
                finished_at=a.finished_at,
                outcome=a.outcome,
                status_code=a.status_code,
                error=a.error,
            )
            for a in found
        ]


async def delivery_page(
    info: Info,
    target: models.TargetKind,
    target_ids: Sequence[str],
    status: models.DeliveryStatus | None,
    first: int,
    after: str | None,
) -> Connection[Delivery]:
    context = info.context
    page = page_request(first, after, context.runtime.settings.graphql_max_page)
    async with context.runtime.pool.acquire() as conn:
        rows = await deliveries.list_deliveries(
            conn,
            target,
            target_ids,
            status=status,
            after_id=page.after[0] if page.after else None,
            limit=page.limit + 1,
        )
        total = None
        if wants_total_count(info):  # a statement of its own: only if asked
            total = await deliveries.count_deliveries(conn, target, target_ids, status)
    return build_connection(rows, page, lambda d: [d.id], Delivery.from_model, total)


@strawberry.type(description="A partner's HTTPS endpoint that receives signed events.")
class WebhookEndpoint:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    url: str = strawberry.field(description="Where events are POSTed.")
    description: str = strawberry.field(description="What the partner uses it for.")
    event_types: list[str] = strawberry.field(
        description="Event types it receives: exact types, `prefix.*` patterns or `*`."
    )
    enabled: bool = strawberry.field(description="False once disabled; nothing is sent then.")
    disabled_reason: str | None = strawberry.field(description="Why it was disabled.")
    failing_since: datetime | None = strawberry.field(
        description="First failure since the last success; after 5 days it is disabled."
    )
    previous_secret_expires_at: datetime | None = strawberry.field(
        description="After a rotation, until when the previous secret still signs too."
    )
    created_at: datetime = strawberry.field(description="When it was registered.")

    @classmethod
    def from_model(cls, e: models.WebhookEndpoint) -> WebhookEndpoint:
        return cls(
            id=strawberry.ID(e.id),
            url=e.url,
            description=e.description,
            event_types=list(e.event_types),
            enabled=e.enabled,
            disabled_reason=e.disabled_reason,
            failing_since=e.failing_since,
            previous_secret_expires_at=e.previous_secret_expires_at,
            created_at=e.created_at,
        )

    @strawberry.field(description="Deliveries to this endpoint, newest first.")
    async def deliveries(
        self,
        info: Info,
        status: models.DeliveryStatus | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[Delivery]:
        page = page_request(first, after, info.context.runtime.settings.graphql_max_page)
        after_id = str(page.after[0]) if page.after else None
        key = (str(self.id), status, after_id, page.limit + 1)
        rows, total = await info.context.loader(load_webhook_delivery_pages).load(key)
        return build_connection(rows, page, lambda d: [d.id], Delivery.from_model, total)


@strawberry.type(description="One event of the bus: a CloudEvents 1.0 envelope.")
class Event:
    id: strawberry.ID = strawberry.field(
        description="Event id (UUIDv7); pass the last one received as `after` to resume.",
        metadata=sql.column("{row}.event_id"),
    )
    source: str = strawberry.field(
        description="The service that emitted it.",
        metadata=sql.column("{row}.envelope->>'source'"),
    )
    type: str = strawberry.field(description="`<service>.<aggregate>.<verb>`.")
    time: datetime = strawberry.field(description="When it happened (UTC).")
    subject: str = strawberry.field(
        description="Id of the aggregate it is about.",
        metadata=sql.column("{row}.envelope->>'subject'"),
    )
    region: str | None = strawberry.field(
        description="Region of the emitting process.",
        metadata=sql.column("{row}.envelope->>'region'"),
    )
    departments: list[str] = strawberry.field(description="Departments it concerns.")
    data_version: int = strawberry.field(
        description="Version of the `data` schema.",
        metadata=sql.column("coalesce(({row}.envelope->>'dataversion')::int, 1)"),
    )
    # Both paths write jsonb's own text (spaces after separators, numbers as logged: 2.50),
    # the Python one as an orjson Fragment, which orjson copies into the response unparsed.
    data: JSON = strawberry.field(
        description="The event's payload, as the producer sent it.",
        metadata=sql.json_text(event_log.payload_json("{row}.")),
    )

    @classmethod
    def from_model(cls, e: models.LoggedEvent) -> Event:
        envelope = e.envelope
        return cls(
            id=strawberry.ID(e.event_id),
            source=envelope["source"],
            type=e.type,
            time=e.time,
            subject=envelope["subject"],
            region=envelope.get("region"),
            departments=list(e.departments),
            data_version=envelope.get("dataversion", 1),
            data=JSON(orjson.Fragment(e.data_json)),
        )
