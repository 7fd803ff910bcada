"""A worker for the graceful-shutdown test: ``python -m tests.deploy.shutdown_worker``.

It is a real Liaison worker (:func:`shared.worker.worker_settings`, arq, consumer, sweep) of
a throw-away service ``probe`` that has only the shared tables; its timers take
``payload["seconds"]`` to fire and record one row each, its consumer records the events.
"""

from __future__ import annotations

import asyncio

from shared.events.envelope import EventEnvelope
from shared.timers import TimerRow
from shared.unit_of_work import UnitOfWork
from shared.worker import run_worker, worker_settings

SERVICE = "probe"
TIMER_KIND = "shutdown-probe"
EVENT_TYPE = "requests.department.upserted"
EFFECTS_TABLE = "CREATE TABLE IF NOT EXISTS probe_effects (timer_id uuid NOT NULL)"


async def slow_timer(uow: UnitOfWork, timer: TimerRow) -> None:
    await asyncio.sleep(float(timer.payload.get("seconds", 0.1)))
    await uow.conn.execute("INSERT INTO probe_effects (timer_id) VALUES ($1)", timer.id)


async def record_event(uow: UnitOfWork, envelope: EventEnvelope) -> None:
    return None  # the consumer's inbox row is the record


def settings() -> dict[str, object]:
    return worker_settings(
        SERVICE,
        [],
        timer_handlers={TIMER_KIND: slow_timer},
        event_handlers={EVENT_TYPE: record_event},
    )


if __name__ == "__main__":
    run_worker(settings())
