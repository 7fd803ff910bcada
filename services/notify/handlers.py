"""notify's event consumer: every other service's events, fanned out.

For each event, in the one transaction the consumer opens (so the effects happen once):

1. it is appended to the event log (the partner stream and replays read it) and live
   ``events`` subscriptions are woken after commit;
2. the routing rule of its type (:mod:`services.notify.rules`) picks people, each told by
   their preferences (:mod:`services.notify.people`);
3. the chat groups of the request's current phase for the departments concerned get an
   announcement (:mod:`services.notify.channels.service`);
4. every enabled partner endpoint that subscribed to the type, within its scopes, gets a
   delivery (:mod:`services.notify.webhooks.service`).

Deliveries are arq jobs queued after commit. Directory events also update the local replica
first. notify's own events (``notify.*``) are not consumed. Internal events (the other
services' projections, shared/projections.py) only update notify's read models
(:data:`READ_MODEL_HANDLERS`): they are not logged, routed or delivered.
"""

from __future__ import annotations

from services.notify import event_log, people
from services.notify.channels import service as channels
from services.notify.rules import RULES, route
from services.notify.search.service import on_search_document_changed
from services.notify.webhooks import service as webhooks
from services.notify.work.service import on_work_items_changed
from shared.events.consumer import EventHandler
from shared.events.contracts import registered_types
from shared.events.envelope import EventEnvelope
from shared.replicas import REPLICA_HANDLERS
from shared.unit_of_work import UnitOfWork


async def fan_out(uow: UnitOfWork, event: EventEnvelope) -> None:
    """Log, route and deliver one event (a no-op for an event already logged)."""
    logged = await event_log.append(uow.conn, event)
    if logged is None:
        return
    runtime = uow.runtime

    async def wake_stream() -> None:
        await runtime.redis.publish(runtime.keys.partner_events_channel, str(logged.seq))

    uow.after_commit(wake_stream)
    routed = await route(uow.conn, event)
    for draft in routed.drafts:
        await people.tell(uow, draft)
    if routed.announcement is not None:
        await channels.announce(uow, event, routed.announcement)
    await webhooks.fan_out(uow, logged)


def _handler(replica: EventHandler | None) -> EventHandler:
    async def handle(uow: UnitOfWork, event: EventEnvelope) -> None:
        if replica is not None:
            await replica(uow, event)  # the directory copy first: rules read it
        await fan_out(uow, event)

    return handle


READ_MODEL_HANDLERS: dict[str, EventHandler] = {
    "work.items.changed": on_work_items_changed,
    "search.document.changed": on_search_document_changed,
}
"""The internal event types notify keeps read models of, and how."""


def consumed_types() -> list[str]:
    """Every event type notify fans out: all registered ones but its own, and its rules'."""
    names = {*registered_types(), *RULES, *REPLICA_HANDLERS}
    return sorted(n for n in names if not n.startswith("notify."))


EVENT_HANDLERS: dict[str, EventHandler] = {
    **{name: _handler(REPLICA_HANDLERS.get(name)) for name in consumed_types()},
    **READ_MODEL_HANDLERS,
}
