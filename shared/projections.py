"""Projections: what other services' read models need of a change, in the change's transaction.

Some read models sit in one service but are about records of every service: the work a
person must do (``myWork``) and the search box (``search``) live in notify. Their rules belong
to the service that owns each record (only the issues service knows whose move an issue waits
for), so each service derives them itself and publishes the result as state-transfer events
(the whole current state of one record, never a delta), which notify stores.

A service lists its projectors in ``services/<service>/projections.py`` as ``PROJECTORS``.
Before every unit of work commits, each projector is given the events the unit emitted (after
the consumed event it handles, for a consumer's unit), and emits what follows from them
through the same unit: the projection commits or rolls back with
the change, and the outbox relays it like any event, so nothing is lost when a process dies.
Events a projector emits are not projected again.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from functools import cache
from typing import TYPE_CHECKING, TypeVar

from shared.events.contracts.work import WorkItem, WorkItemsChanged
from shared.events.envelope import EventEnvelope

if TYPE_CHECKING:
    from shared.db import Connection
    from shared.unit_of_work import UnitOfWork

R = TypeVar("R")

Projector = Callable[["UnitOfWork", Sequence[EventEnvelope]], Awaitable[None]]
"""From a unit of work and the events it emitted to the projection events that follow."""


@cache
def projectors_of(service: str) -> tuple[Projector, ...]:
    """The ``PROJECTORS`` of ``services.<service>.projections``; none if it has no such module."""
    name = f"services.{service}.projections"
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name not in {"services", f"services.{service}", name}:
            raise  # a broken import inside the module is a bug, not an absence
        return ()
    found: tuple[Projector, ...] = module.PROJECTORS
    return found


async def project(uow: UnitOfWork) -> None:
    """Run the service's projectors over what ``uow`` handled and emitted so far."""
    seen = [uow.handling] if uow.handling is not None else []
    seen.extend(uow.events)
    if not seen:
        return
    for projector in projectors_of(uow.runtime.service):
        await projector(uow, seen)


def subjects(events: Sequence[EventEnvelope], types: Collection[str]) -> list[str]:
    """The subjects of the events of ``types``, each once, in order of emission."""
    return list(dict.fromkeys(e.subject for e in events if e.type in types))


async def publish_work(uow: UnitOfWork, source: str, items: Sequence[WorkItem]) -> None:
    """Emit the whole current set of work items of the record ``source`` (``KIND:id``)."""
    await uow.emit("work.items.changed", source, WorkItemsChanged(source=source, items=list(items)))


Load = Callable[["Connection", Sequence[str]], Awaitable[Mapping[str, R]]]
"""The current state of a batch of records, by id (one statement per kind of record)."""


async def publish_records(
    uow: UnitOfWork,
    source_kind: str,
    ids: Sequence[str],
    load: Load[R],
    derive: Callable[[R], list[WorkItem]],
) -> None:
    """Load the records ``ids`` in one batch, derive each one's whole set of work items and
    publish it as ``<source_kind>:<id>``; a record that is gone has none, which settles
    whatever it had."""
    if not ids:
        return
    found = await load(uow.conn, ids)
    for record_id in ids:
        record = found.get(record_id)
        items = derive(record) if record is not None else []
        await publish_work(uow, f"{source_kind}:{record_id}", items)
