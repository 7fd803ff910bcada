"""The ``send_delivery`` arq job and the watchdog timer of deliveries.

No duplicates: an attempt starts by claiming the delivery (counting the attempt and taking
a lease) in a committed transaction, so two jobs for one delivery never both send. If the
worker dies after sending but before recording, the lease runs out and the watchdog decides:

* partner webhooks are sent again with the same ``webhook-id`` (at least once; partners
  deduplicate on the id);
* chat groups and e-mail are not sent again, since they cannot deduplicate: the attempt is
  recorded with outcome UNKNOWN and the delivery FAILED, to be resent by ``retryDelivery``.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from arq.worker import Retry

from services.notify import people
from services.notify.delivery import repository as repo
from services.notify.delivery import senders
from services.notify.delivery.service import WATCHDOG_TIMER, now, schedule
from services.notify.models import Delivery, DeliveryStatus, NotificationDraft, TargetKind, Urgency
from services.notify.webhooks import repository as endpoints
from services.notify.webhooks import service as webhooks
from shared.events.contracts.notify import DeliveryExhausted
from shared.observability.metrics import record_delivery
from shared.runtime import ServiceRuntime
from shared.timers import TimerRow
from shared.unit_of_work import UnitOfWork, unit_of_work

log = logging.getLogger(__name__)


async def send_delivery(runtime: ServiceRuntime, delivery_id: str) -> str:
    """One attempt of one delivery; returns what happened (for logs and tests)."""
    settings = runtime.settings
    lease = timedelta(seconds=settings.notify_delivery_lease_seconds)
    async with unit_of_work(runtime) as uow:
        current = await repo.get_delivery(uow.conn, delivery_id, lock=True)
        if (
            current is None
            or current.lease_expires_at is not None
            or current.status not in (DeliveryStatus.PENDING, DeliveryStatus.FAILED)
            or current.next_attempt_at is None
        ):
            return "nothing to do"
        started = now()
        if current.next_attempt_at > started:
            raise Retry(defer=current.next_attempt_at - started)  # ran early (clock skew)
        try:
            prepared = await senders.prepare(uow.conn, settings, current, started)
        except senders.Blocked as exc:
            await repo.set_state(
                uow.conn,
                delivery_id,
                status=DeliveryStatus.FAILED,
                next_attempt_at=None,
                error=str(exc),
            )
            await uow.cancel_timer(WATCHDOG_TIMER, delivery_id)
            return f"blocked: {exc}"
        delivery = await repo.claim(uow.conn, delivery_id, lease)
        assert delivery is not None  # locked above and found due
    outcome = await senders.send(settings, prepared)
    async with unit_of_work(runtime) as uow:
        return await record(uow, delivery, outcome)


async def record(uow: UnitOfWork, delivery: Delivery, outcome: senders.Outcome) -> str:
    """Store the outcome of the attempt ``delivery.attempts`` and plan what comes next."""
    retry_schedule = uow.runtime.settings.notify_retry_schedule
    at = now()
    if outcome.ok:
        status, next_at = DeliveryStatus.SUCCEEDED, None
    elif delivery.attempts <= len(retry_schedule):
        status = DeliveryStatus.FAILED
        next_at = at + timedelta(seconds=retry_schedule[delivery.attempts - 1])
    else:
        status, next_at = DeliveryStatus.EXHAUSTED, None
    disable = None
    if delivery.target_kind is TargetKind.WEBHOOK:
        if outcome.ok:
            await endpoints.note_success(uow.conn, delivery.target_id)
        else:
            endpoint = await endpoints.note_failure(uow.conn, delivery.target_id)
            limit = timedelta(seconds=uow.runtime.settings.notify_webhook_disable_after_seconds)
            if (
                endpoint
                and endpoint.enabled
                and endpoint.failing_since
                and at - endpoint.failing_since >= limit
            ):
                disable, next_at = endpoint, None
    recorded = await repo.finish_attempt(
        uow.conn,
        delivery,
        outcome="SUCCEEDED" if outcome.ok else "FAILED",
        status=status,
        status_code=outcome.status_code,
        error=outcome.error,
        next_attempt_at=next_at,
    )
    if not recorded:
        log.warning(
            "delivery %s attempt %d: lease lost before recording", delivery.id, delivery.attempts
        )
        return "lease lost"
    record_delivery("notify", delivery.target_kind.value.lower(), status.value.lower())
    if next_at is not None:
        updated = await repo.get_delivery(uow.conn, delivery.id)
        assert updated is not None
        await schedule(uow, updated)
    else:
        await uow.cancel_timer(WATCHDOG_TIMER, delivery.id)
    if status is DeliveryStatus.EXHAUSTED:
        await _emit_exhausted(uow, delivery, outcome.error)
    if disable is not None:
        disabled = await webhooks.disable_after_failures(uow, disable)
        await _tell_owner(
            uow, disabled.id, disabled.owner_id, disabled.url, disabled.disabled_reason
        )
    return status.value


async def _emit_exhausted(uow: UnitOfWork, delivery: Delivery, error: str | None) -> None:
    data = DeliveryExhausted(
        id=delivery.id,
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        target_kind=delivery.target_kind.value,
        target_id=delivery.target_id,
        attempts=delivery.attempts,
        last_error=error,
    )
    await uow.emit("notify.delivery.exhausted", delivery.id, data)


async def _tell_owner(
    uow: UnitOfWork, endpoint_id: str, owner_id: str, url: str, reason: str | None
) -> None:
    disabled_event = next(e for e in reversed(uow.events) if e.subject == endpoint_id)
    draft = NotificationDraft(
        recipient_id=owner_id,
        type=disabled_event.type,
        title=f"Webhook endpoint disabled (已停用): {url}",
        body=f"Liaison stopped sending to {url}: {reason}. Fix the endpoint, enable it again"
        " and replay what it missed with replayEvents.",
        source_event_id=disabled_event.id,
        link=f"/webhooks/{endpoint_id}",
        urgency=Urgency.URGENT,
    )
    await people.tell(uow, draft)


async def on_watchdog(uow: UnitOfWork, timer: TimerRow) -> None:
    """Timer handler: the attempt job was lost, or its worker died while sending."""
    delivery = await repo.get_delivery(uow.conn, timer.subject, lock=True)
    if delivery is None:
        return
    at = now()
    if delivery.lease_expires_at is not None:
        if delivery.lease_expires_at > at:  # still sending: look again when the lease ends
            await uow.arm_timer(WATCHDOG_TIMER, delivery.id, delivery.lease_expires_at)
            return
        await _after_lost_worker(uow, delivery)
        return
    if (
        delivery.status in (DeliveryStatus.PENDING, DeliveryStatus.FAILED)
        and delivery.next_attempt_at
    ):
        log.info("delivery %s: its job was lost; queueing it again", delivery.id)
        await schedule(uow, delivery)


async def _after_lost_worker(uow: UnitOfWork, delivery: Delivery) -> None:
    await repo.close_open_attempt(uow.conn, delivery, "the worker stopped during the attempt")
    if delivery.target_kind is TargetKind.WEBHOOK:
        # At least once: send again; the webhook-id lets the partner drop the duplicate.
        if delivery.attempts <= len(uow.runtime.settings.notify_retry_schedule):
            again = await repo.set_state(
                uow.conn,
                delivery.id,
                status=DeliveryStatus.FAILED,
                next_attempt_at=now(),
                error="the worker stopped during the attempt; sending again",
            )
            await schedule(uow, again)
        else:
            error = "the worker stopped during the last attempt"
            await repo.set_state(
                uow.conn,
                delivery.id,
                status=DeliveryStatus.EXHAUSTED,
                next_attempt_at=None,
                error=error,
            )
            await _emit_exhausted(uow, delivery, error)
        return
    # Chat robots and mail servers cannot drop a duplicate: never risk sending twice.
    await repo.set_state(
        uow.conn,
        delivery.id,
        status=DeliveryStatus.FAILED,
        next_attempt_at=None,
        error="outcome unknown: the worker stopped while sending; not sent again to avoid a"
        " duplicate (retryDelivery sends it again)",
    )
