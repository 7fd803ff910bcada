"""Taking each record's set of work items from its ``work.items.changed`` event."""

from __future__ import annotations

from services.notify.work import repository as repo
from shared.events.contracts.work import WorkItemsChanged
from shared.events.envelope import EventEnvelope
from shared.unit_of_work import UnitOfWork


async def on_work_items_changed(uow: UnitOfWork, event: EventEnvelope) -> None:
    """Store the record's whole set; an older set arriving after a newer one changes nothing."""
    data = WorkItemsChanged.model_validate(event.data)
    await repo.replace_items(uow.conn, data.source, event.time, data.items)
