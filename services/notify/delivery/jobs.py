"""The ``send_delivery`` arq job and the watchdog timer of deliveries.

**One sender.** An attempt first claims the delivery (takes its lease) in a committed
transaction, so two jobs for one delivery never both send. Only at the last moment before
the message goes on the wire (after the URL check, once the SMTP session is ready) does a
second short transaction *start* the attempt: count it and open its ``delivery_attempts``
row. While the job holds the claim it renews the lease every third of it (:class:`_Lease`),
so a worker that is only slow (a busy machine, a slow target, a short pool) keeps the
delivery; the lease runs out only when the worker died or stalled for a whole lease. Then
the watchdog decides by that mark:

* no attempt started: nothing can have reached the target, so the delivery is simply sent
  again, and nothing is counted;
* an attempt started and never finished (the worker died while sending, or before it could
  record the answer): partner webhooks are sent again with the same ``webhook-id`` (at least
  once; partners deduplicate on the id). Chat groups and e-mail are not: the attempt is
  recorded UNKNOWN, the delivery FAILED, ``notify.delivery.outcome_unknown`` is emitted and
  the person who registered the channel is told, to look at the group and resend with
  ``retryDelivery`` if the message is missing.

Why not resend a cut-off chat message or e-mail: robots and mail servers take no idempotency
key, so a resend is a visible duplicate for a whole department group, or in a mailbox, and
repeated robot posts erode trust in every message. What is left unknown is only the
exchange itself (milliseconds, at most the send timeout), the people concerned have the
same notification in their Liaison inbox anyway, and the one person who can check the group
is told at once, so nothing is lost silently. (An e-mail to a person is left FAILED with the
reason; that person's inbox holds the notification.)

**Outages.** A PostgreSQL or Redis outage (``DATABASE_OUTAGES``, ``REDIS_OUTAGES`` of
:mod:`shared.resilience`) is not the target's failure and never counts as an attempt. Before
the claim, the job retries itself with ``Retry``, after a capped exponential backoff with
jitter by its try number. Holding the claim, it waits in place for the servers (nobody else
can send meanwhile) to start the attempt or to record the answer it got, until the lease
runs out; after that, the watchdog decides as above. The job's ``max_tries``
(:func:`max_tries`) lets its retries outlast the lease; an outage longer than that is the
watchdog's too: it is due by then, and the timer sweep, which retries through outages
itself, fires it as soon as the database answers, which queues the delivery again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from typing import TypeVar

from arq.worker import Retry

from services.notify import people
from services.notify.channels import repository as channels
from services.notify.delivery import repository as repo
from services.notify.delivery import senders
from services.notify.delivery.service import WATCHDOG_TIMER, arm_watchdog, now, schedule
from services.notify.models import Delivery, DeliveryStatus, NotificationDraft, TargetKind, Urgency
from services.notify.webhooks import repository as endpoints
from services.notify.webhooks import service as webhooks
from shared.events.contracts.notify import DeliveryExhausted, DeliveryOutcomeUnknown
from shared.observability.metrics import record_delivery, record_endpoint_disabled
from shared.resilience import DATABASE_OUTAGES, REDIS_OUTAGES, Backoff, Outage
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from shared.timers import TimerRow
from shared.unit_of_work import UnitOfWork, unit_of_work

log = logging.getLogger(__name__)

OUTAGES = DATABASE_OUTAGES + REDIS_OUTAGES
RETRY_BACKOFF = Backoff()
"""Delays of a job's retries after an outage, by its try number."""
_outage = Outage("notify delivery jobs", "PostgreSQL or Redis")
"""One per process, shared by its jobs: an outage is logged once, not once per job."""

T = TypeVar("T")


def max_tries(settings: Settings) -> int:
    """Tries of one ``send_delivery`` job: enough that its outage retries, even at their
    shortest (half a backoff step each), outlast the lease, by when the watchdog is due."""
    tries, waited = 1, 0.0
    while waited < settings.notify_delivery_lease_seconds:
        waited += RETRY_BACKOFF.step(tries) / 2
        tries += 1
    return tries


class _NotStarted(Exception):
    """The attempt could not start (its lease ran out or was taken over): nothing was sent."""


async def send_delivery(runtime: ServiceRuntime, delivery_id: str, job_try: int = 1) -> str:
    """One attempt of one delivery; returns what happened (for logs and tests). ``job_try``
    is arq's try number of this job: after an outage, the next try waits longer."""
    try:
        claimed = await _claim(runtime, delivery_id)
    except OUTAGES as exc:  # nothing was claimed: try again soon, as a new try of this job
        _outage.failed(exc)
        raise Retry(defer=RETRY_BACKOFF.delay_after(job_try)) from exc
    _outage.recovered()
    if isinstance(claimed, str):
        return claimed
    delivery, prepared = claimed
    async with _Lease.kept(runtime, delivery) as lease:
        start = _Start(runtime, lease)
        try:
            outcome = await senders.send(runtime.settings, prepared, start)
            if start.started is None:  # the target failed before the wire: still an attempt
                await start()
        except _NotStarted as exc:
            return str(exc)
        assert start.started is not None
        started = start.started

        async def store() -> str:
            async with unit_of_work(runtime) as uow:
                return await record(uow, started, outcome)

        recorded = await _while_leased(lease, store)
    return recorded or "outcome not recorded: the lease ran out during an outage"


async def _claim(
    runtime: ServiceRuntime, delivery_id: str
) -> tuple[Delivery, senders.Prepared] | str:
    """Take the delivery for one attempt and read what sending needs; or why not (a str)."""
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
    return delivery, prepared


class _Lease:
    """The claim a job holds, renewed in the background every third of the lease until the
    job is done with it. ``expires_at`` is the last end the database confirmed: past it,
    the watchdog may have taken over, so the job gives up waiting through an outage."""

    def __init__(self, runtime: ServiceRuntime, claimed: Delivery) -> None:
        assert claimed.lease_expires_at is not None
        self.runtime, self.claimed = runtime, claimed
        self.expires_at: datetime = claimed.lease_expires_at
        self.length = timedelta(seconds=runtime.settings.notify_delivery_lease_seconds)

    @classmethod
    @contextlib.asynccontextmanager
    async def kept(cls, runtime: ServiceRuntime, claimed: Delivery) -> AsyncIterator[_Lease]:
        lease = cls(runtime, claimed)
        renewing = asyncio.create_task(lease._renew_until_lost())
        try:
            yield lease
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing

    async def _renew_until_lost(self) -> None:
        while True:
            await asyncio.sleep(self.length.total_seconds() / 3)
            try:
                async with self.runtime.pool.acquire() as conn:
                    renewed = await repo.renew_lease(conn, self.claimed, self.length)
            except OUTAGES:  # the job's own steps wait for the servers and log the outage
                continue
            if renewed is None:  # ran out or taken over: the job's next step finds out
                return
            self.expires_at = renewed


class _Start:
    """``start`` of one claimed attempt (:data:`senders.Start`); keeps the started delivery."""

    def __init__(self, runtime: ServiceRuntime, lease: _Lease) -> None:
        self.runtime, self.lease = runtime, lease
        self.started: Delivery | None = None

    async def __call__(self) -> None:
        async def begin() -> Delivery | None:
            async with unit_of_work(self.runtime) as uow:
                return await repo.start_attempt(uow.conn, self.lease.claimed)

        self.started = await _while_leased(self.lease, begin)
        if self.started is None:
            raise _NotStarted("not sent: the lease ran out before the attempt could start")


async def _while_leased(lease: _Lease, step: Callable[[], Awaitable[T]]) -> T | None:
    """``step()``, again through outages while the lease lasts (no other job can send the
    delivery meanwhile); None once the lease is over: the watchdog's turn."""
    while True:
        try:
            result = await step()
        except OUTAGES as exc:
            if now() >= lease.expires_at:
                return None
            await _outage.wait(exc)
        else:
            _outage.recovered()
            return result


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
        record_endpoint_disabled("notify")
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
    """Timer handler: the attempt job was lost, or its worker died during the attempt."""
    delivery = await repo.get_delivery(uow.conn, timer.subject, lock=True)
    if delivery is None:
        return
    at = now()
    if delivery.lease_expires_at is not None:
        if delivery.lease_expires_at > at:  # still sending: look again when the lease ends
            await arm_watchdog(uow, delivery, delivery.lease_expires_at)
            return
        if await repo.has_open_attempt(uow.conn, delivery):
            await _after_lost_worker(uow, delivery)
        else:
            log.info("delivery %s: its worker stopped before sending; sending it now", delivery.id)
            await _send_now(uow, delivery, delivery.status)
        return
    if (
        delivery.status in (DeliveryStatus.PENDING, DeliveryStatus.FAILED)
        and delivery.next_attempt_at
    ):
        log.info("delivery %s: its job was lost; queueing it again", delivery.id)
        await schedule(uow, delivery)


async def _send_now(
    uow: UnitOfWork, delivery: Delivery, status: DeliveryStatus, error: str | None = None
) -> None:
    again = await repo.set_state(
        uow.conn, delivery.id, status=status, next_attempt_at=now(), error=error
    )
    await schedule(uow, again)


async def _after_lost_worker(uow: UnitOfWork, delivery: Delivery) -> None:
    """The worker died during a started attempt: its outcome is unknown."""
    await repo.close_open_attempt(uow.conn, delivery, "the worker stopped during the attempt")
    if delivery.target_kind is TargetKind.WEBHOOK:
        # At least once: send again; the webhook-id lets the partner drop the duplicate.
        if delivery.attempts <= len(uow.runtime.settings.notify_retry_schedule):
            error = "the worker stopped during the attempt; sending again"
            await _send_now(uow, delivery, DeliveryStatus.FAILED, error)
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
    # Chat robots and mail servers cannot drop a duplicate: never risk sending twice, but
    # say so, to whoever can look at the group (module docstring).
    await repo.set_state(
        uow.conn,
        delivery.id,
        status=DeliveryStatus.FAILED,
        next_attempt_at=None,
        error="outcome unknown: the worker stopped while sending; not sent again to avoid a"
        " duplicate (retryDelivery sends it again)",
    )
    data = DeliveryOutcomeUnknown(
        id=delivery.id,
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        target_kind=delivery.target_kind.value,
        target_id=delivery.target_id,
        attempt=delivery.attempts,
    )
    event = await uow.emit("notify.delivery.outcome_unknown", delivery.id, data)
    if delivery.target_kind is TargetKind.CHANNEL:
        await _tell_channel_owner(uow, delivery, event.id)


async def _tell_channel_owner(uow: UnitOfWork, delivery: Delivery, event_id: str) -> None:
    found = (await channels.channels_by_ids(uow.conn, [delivery.target_id])).get(delivery.target_id)
    if found is None:
        return
    title = delivery.payload.get("title", delivery.event_type)
    draft = NotificationDraft(
        recipient_id=found.created_by,
        type="notify.delivery.outcome_unknown",
        title=f"Message may not have reached {found.name} (可能未送达): {title}",
        body=f'Liaison stopped while sending "{title}" to {found.name} and cannot tell'
        " whether it arrived. Look at the group; if it is missing, send it again with"
        " retryDelivery.",
        source_event_id=event_id,
        link=f"/deliveries/{delivery.id}",
        urgency=Urgency(delivery.payload.get("urgency", Urgency.NORMAL.value)),
    )
    await people.tell(uow, draft)
