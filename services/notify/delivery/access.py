"""Who sees which deliveries, and retrying one by hand.

A partner sees the deliveries of its own endpoints only (ADMIN sees all); a channel's
deliveries are seen by PMO and ADMIN and by whoever registered the channel; an e-mail
delivery by its recipient (and ADMIN).
"""

from __future__ import annotations

from services.notify.channels import repository as channels
from services.notify.delivery import repository as repo
from services.notify.delivery import service as delivery_service
from services.notify.models import Delivery, DeliveryStatus, TargetKind
from services.notify.webhooks import repository as endpoints
from services.notify.webhooks.service import may_manage
from shared.auth import Principal, Role
from shared.db import Connection
from shared.graphql.errors import DomainError
from shared.runtime import ServiceRuntime
from shared.unit_of_work import unit_of_work


async def may_see(conn: Connection, principal: Principal, delivery: Delivery) -> bool:
    if principal.has_role(Role.ADMIN):
        return True
    if delivery.target_kind is TargetKind.WEBHOOK:
        endpoint = await endpoints.get_endpoint(conn, delivery.target_id)
        return endpoint is not None and may_manage(principal, endpoint)
    if delivery.target_kind is TargetKind.CHANNEL:
        found = (await channels.channels_by_ids(conn, [delivery.target_id])).get(delivery.target_id)
        return found is not None and (
            principal.sees_everything or found.created_by == principal.sub
        )
    return delivery.target_id == principal.sub


async def retry(runtime: ServiceRuntime, principal: Principal, delivery_id: str) -> Delivery:
    """Attempt a delivery again now, whatever its earlier attempts gave."""
    async with unit_of_work(runtime) as uow:
        delivery = await repo.get_delivery(uow.conn, delivery_id, lock=True)
        if delivery is None or not await may_see(uow.conn, principal, delivery):
            raise DomainError.single("NOT_FOUND", f"no such delivery: {delivery_id}", "id")
        if delivery.lease_expires_at is not None:
            raise DomainError.single("IN_FLIGHT", "an attempt is under way", "id")
        if delivery.status is DeliveryStatus.PENDING:
            raise DomainError.single(
                "ALREADY_PENDING", "the delivery is waiting for its attempt", "id"
            )
        if delivery.target_kind is TargetKind.WEBHOOK:
            endpoint = await endpoints.get_endpoint(uow.conn, delivery.target_id)
            if endpoint is None or not endpoint.enabled:
                raise DomainError.single("ENDPOINT_DISABLED", "enable the endpoint first", "id")
        again = await repo.set_state(
            uow.conn,
            delivery_id,
            status=DeliveryStatus.PENDING,
            next_attempt_at=delivery_service.now(),
        )
        await delivery_service.schedule(uow, again)
    return again
