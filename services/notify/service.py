"""Use cases of the notify service: deliver a notification, mark notifications read."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from services.notify import repository as repo
from services.notify.models import Notification, NotificationDraft
from shared.auth import Principal
from shared.events.contracts.notify import NotificationCreated, NotificationsRead
from shared.graphql.errors import DomainError
from shared.runtime import ServiceRuntime
from shared.unit_of_work import UnitOfWork, unit_of_work


async def deliver(uow: UnitOfWork, draft: NotificationDraft) -> Notification | None:
    """Store a notification, emit its event and wake the recipient's subscriptions.

    None if the source event already notified this person (redelivery).
    """
    notification = await repo.insert_notification(uow.conn, draft)
    if notification is None:
        return None
    data = NotificationCreated(
        id=notification.id,
        recipient_id=notification.recipient_id,
        type=notification.type,
        source_event_id=notification.source_event_id,
    )
    await uow.emit("notify.notification.created", notification.id, data)
    runtime = uow.runtime
    channel = runtime.keys.notifications_channel(notification.recipient_id)

    async def wake_subscribers() -> None:
        # Only the id travels: subscribers load the row, so nothing is shown before commit.
        await runtime.redis.publish(channel, notification.id)

    uow.after_commit(wake_subscribers)
    return notification


async def mark_read(
    runtime: ServiceRuntime, principal: Principal, ids: Sequence[str]
) -> list[Notification]:
    """Mark the caller's ``ids`` read; if any is not theirs, nothing changes."""
    wanted = list(dict.fromkeys(ids))
    limit = runtime.settings.graphql_max_page
    if len(wanted) > limit:
        raise DomainError.single("INVALID", f"at most {limit} ids at a time", "ids")
    async with unit_of_work(runtime) as uow:
        owned = await repo.notifications_of(uow.conn, principal.sub, wanted)
        missing = [i for i in wanted if i not in owned]
        if missing:
            # Someone else's notification is reported exactly like one that does not exist.
            raise DomainError.single(
                "NOT_FOUND", f"no such notification: {', '.join(missing)}", "ids"
            )
        updated = {n.id: n for n in await repo.mark_read(uow.conn, principal.sub, wanted)}
        await _emit_read(uow, principal.sub, [i for i in wanted if owned[i].read_at is None])
    return [updated[i] for i in wanted]


async def mark_all_read(runtime: ServiceRuntime, principal: Principal) -> int:
    """Mark every unread notification of the caller read; returns how many."""
    async with unit_of_work(runtime) as uow:
        ids = await repo.mark_all_read(uow.conn, principal.sub)
        await _emit_read(uow, principal.sub, ids)
    return len(ids)


async def _emit_read(uow: UnitOfWork, recipient_id: str, ids: list[str]) -> None:
    if ids:  # marking read what already was changes nothing
        data = NotificationsRead(recipient_id=recipient_id, ids=ids)
        await uow.emit("notify.notification.read", recipient_id, data)


async def new_notifications(
    runtime: ServiceRuntime, recipient_id: str
) -> AsyncIterator[Notification]:
    """The recipient's notifications as they are created, until the caller stops iterating.

    Pub/sub only wakes us up with an id; the row is read from the database, and only if it
    is the recipient's, so a stray or forged message never leaks anything.
    """
    pubsub = runtime.redis.pubsub(ignore_subscribe_messages=True)
    try:
        await pubsub.subscribe(runtime.keys.notifications_channel(recipient_id))
        async for message in pubsub.listen():
            if message is None or message["type"] != "message":
                continue
            data = message["data"]
            notification_id = data.decode() if isinstance(data, bytes) else str(data)
            async with runtime.pool.acquire() as conn:
                found = await repo.notifications_of(conn, recipient_id, [notification_id])
            if notification_id in found:
                yield found[notification_id]
    finally:
        # Runs on cancel and on client "complete" too: drop the dedicated connection.
        await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
