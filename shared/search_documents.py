"""Search documents: what each owning service tells notify's search box about its records.

A service describes each kind of record it indexes as a :class:`Indexed` (how to load the
documents of some ids, how to walk all ids), and its projector
(``services/<service>/search_documents.py``) publishes the documents of the records a unit of
work touched with :func:`publish`: the whole document each time
(:class:`~shared.events.contracts.search.SearchDocumentChanged`), one event per record.

Records that existed before the search box have no document yet: :func:`reindex_command`
(``python -m services.<service>.search_documents --reindex``) publishes every record's
document again, in batches of one unit of work each. Publishing twice is harmless.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from shared.db import Connection
from shared.events.contracts.search import SearchDocumentChanged, SearchKind
from shared.runtime import ServiceRuntime
from shared.settings import get_settings
from shared.unit_of_work import UnitOfWork, unit_of_work

DocumentLoader = Callable[[Connection, Sequence[str]], Awaitable[list[SearchDocumentChanged]]]
"""The documents of the records of these ids (ids not found are left out), one query."""

REINDEX_BATCH = 1000
"""Records per unit of work when reindexing: one load and this many events per transaction."""


@dataclass(frozen=True)
class Indexed:
    """One kind of record a service indexes for the search box."""

    kind: SearchKind
    load: DocumentLoader
    all_ids: str
    """SQL: up to ``$2`` ids greater than ``$1`` in id order (the reindex walk)."""


def removed(kind: SearchKind, record_id: str) -> SearchDocumentChanged:
    """The document of a record that is gone: it is no longer found."""
    return SearchDocumentChanged(kind=kind, id=record_id, removed=True)


async def publish(uow: UnitOfWork, indexed: Indexed, ids: Sequence[str]) -> None:
    """Emit the current document of each record of ``ids`` (loaded on ``uow``'s connection,
    after the change); a record no longer there is published as removed."""
    if not ids:
        return
    found = {d.id: d for d in await indexed.load(uow.conn, ids)}
    for record_id in ids:
        document = found[record_id] if record_id in found else removed(indexed.kind, record_id)
        subject = f"{indexed.kind.value}:{record_id}"  # one stream order per record
        await uow.emit("search.document.changed", subject, document)


async def reindex(
    runtime: ServiceRuntime, kinds: Sequence[Indexed], batch: int = REINDEX_BATCH
) -> int:
    """Publish the document of every record of ``kinds``; how many were published."""
    published = 0
    for indexed in kinds:
        after = ""
        while True:
            async with unit_of_work(runtime) as uow:
                rows = await uow.conn.fetch(indexed.all_ids, after, batch)
                ids = [row["id"] for row in rows]
                await publish(uow, indexed, ids)
            published += len(ids)
            if len(ids) < batch:
                break
            after = ids[-1]
    return published


def reindex_command(
    service: str, kinds: Sequence[Indexed], argv: Sequence[str] | None = None
) -> None:
    """``python -m services.<service>.search_documents --reindex``: publish every document."""
    parser = argparse.ArgumentParser(
        prog=f"python -m services.{service}.search_documents",
        description=f"Publish the search documents of every record of the {service} service.",
    )
    parser.add_argument(
        "--reindex", action="store_true", required=True, help="publish every document again"
    )
    parser.parse_args(argv)
    migrations = importlib.import_module(f"services.{service}.app").MIGRATIONS

    async def run() -> int:
        runtime = await ServiceRuntime.start(service, get_settings(), migrations)
        try:
            return await reindex(runtime, kinds)
        finally:
            await runtime.close()

    print(f"published {asyncio.run(run())} search documents of {service}")
