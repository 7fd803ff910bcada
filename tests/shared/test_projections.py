"""Projections commit and roll back with the change that causes them (shared/projections.py),
see a consumer's handled event, and are not projected again."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from types import ModuleType

import pytest

from shared import projections
from shared.events.consumer import Consumer
from shared.events.contracts.work import WorkItem, WorkKind, WorkRole, WorkTarget
from shared.events.envelope import EventEnvelope
from shared.runtime import ServiceRuntime
from shared.unit_of_work import UnitOfWork, unit_of_work
from tests.shared.conftest import SERVICE, WidgetCreated
from tests.shared.test_outbox_relay_consumer import relay_all

seen_batches: list[list[str]] = []


async def widget_work(uow: UnitOfWork, events: Sequence[EventEnvelope]) -> None:
    """One DO_TASK item per widget event, for its subject."""
    seen_batches.append([e.type for e in events])
    for widget in projections.subjects(events, {"platformtest.widget.created"}):
        item = WorkItem(
            key="R:p1",
            kind=WorkKind.DO_TASK,
            role=WorkRole.RESPONSIBLE,
            title=widget,
            target=WorkTarget.TASK,
            target_id=widget,
            person_id="p1",
        )
        await projections.publish_work(uow, f"TASK:{widget}", [item])


@pytest.fixture
def projector() -> Iterator[None]:
    """``widget_work`` as the platformtest service's only projector, for one test."""
    module = ModuleType(f"services.{SERVICE}.projections")
    module.PROJECTORS = (widget_work,)  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    projections.projectors_of.cache_clear()
    seen_batches.clear()
    yield
    del sys.modules[module.__name__]
    projections.projectors_of.cache_clear()


async def outbox_types(runtime: ServiceRuntime) -> list[str]:
    rows = await runtime.pool.fetch("SELECT event_type FROM outbox ORDER BY seq")
    return [r["event_type"] for r in rows]


@pytest.mark.usefixtures("projector")
async def test_projection_commits_with_the_change(
    platform: ServiceRuntime, widget_event: str
) -> None:
    async with unit_of_work(platform) as uow:
        await uow.emit(widget_event, "w1", WidgetCreated(name="one"))
        await uow.emit(widget_event, "w1", WidgetCreated(name="one again"))
    assert await outbox_types(platform) == [widget_event, widget_event, "work.items.changed"]
    envelope = await platform.pool.fetchval(
        "SELECT envelope FROM outbox WHERE event_type = 'work.items.changed'"
    )
    data = envelope["data"]
    assert data["source"] == "TASK:w1"
    assert [i["person_id"] for i in data["items"]] == ["p1"]
    assert seen_batches == [[widget_event, widget_event]]  # once, and not its own event again


@pytest.mark.usefixtures("projector")
async def test_projection_rolls_back_with_the_change(
    platform: ServiceRuntime, widget_event: str
) -> None:
    class Refused(Exception):
        pass

    async def refused_change() -> None:
        async with unit_of_work(platform) as uow:
            await uow.emit(widget_event, "w1", WidgetCreated(name="one"))
            raise Refused

    with pytest.raises(Refused):
        await refused_change()
    assert await outbox_types(platform) == []
    assert seen_batches == []  # a failed unit projects nothing


@pytest.mark.usefixtures("projector")
async def test_nothing_emitted_nothing_projected(platform: ServiceRuntime) -> None:
    async with unit_of_work(platform) as uow:
        await uow.conn.execute("INSERT INTO widgets VALUES ('w1', 'quiet')")
    assert seen_batches == []
    assert await outbox_types(platform) == []


@pytest.mark.usefixtures("projector")
async def test_a_consumed_event_is_projected_once(
    platform: ServiceRuntime, widget_event: str
) -> None:
    async with unit_of_work(platform) as uow:
        envelope = await uow.emit(widget_event, "w7", WidgetCreated(name="seven"))
    seen_batches.clear()
    await platform.pool.execute("DELETE FROM outbox")

    async def ignore(uow: UnitOfWork, event: EventEnvelope) -> None:
        return None

    consumer = Consumer(platform, {widget_event: ignore})
    assert await consumer.handle(envelope) is True
    assert await consumer.handle(envelope) is False  # a redelivery: not projected again
    assert seen_batches == [[widget_event]]
    assert await outbox_types(platform) == ["work.items.changed"]
    assert await relay_all(platform) == 1
