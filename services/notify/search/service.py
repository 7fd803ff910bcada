"""Taking each record's search document from its ``search.document.changed`` event."""

from __future__ import annotations

from services.notify.search import repository as repo
from shared.events.contracts.search import SearchDocumentChanged
from shared.events.envelope import EventEnvelope
from shared.unit_of_work import UnitOfWork


async def on_search_document_changed(uow: UnitOfWork, event: EventEnvelope) -> None:
    """Store the record's whole document; an older one arriving after a newer one is dropped."""
    await repo.store(uow.conn, SearchDocumentChanged.model_validate(event.data), event.time)
