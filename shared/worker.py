"""A service's background process: arq jobs (timers and deliveries) plus its event consumer.

``run_worker`` builds arq ``WorkerSettings`` for one service: the ``fire_timer`` job (the
fast path of :mod:`shared.timers`), the service's own jobs, a sweep loop every
``LIAISON_TIMER_SWEEP_SECONDS`` and the event consumer, all in one event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from arq import run_worker as arq_run_worker
from arq.worker import func

from shared.events.consumer import Consumer, EventHandler
from shared.redis_keys import RedisKeys
from shared.runtime import ServiceRuntime, redis_settings
from shared.settings import Settings, get_settings
from shared.timer_firing import TimerHandler, fire_timer, sweep
from shared.timers import FIRE_TIMER_JOB

log = logging.getLogger(__name__)

Job = Callable[..., Awaitable[Any]]


async def sweep_forever(
    runtime: ServiceRuntime, handlers: Mapping[str, TimerHandler], stop: asyncio.Event
) -> None:
    """Fire what the queue lost, every sweep period, until ``stop``."""
    while not stop.is_set():
        try:
            fired = await sweep(runtime, handlers)
            if fired:
                log.info("sweep fired %d timer(s) the queue had missed", fired)
        except Exception:
            log.exception("timer sweep failed; next pass retries")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), runtime.settings.timer_sweep_seconds)


def worker_settings(
    service: str,
    migrations: Path | Sequence[Path],
    *,
    timer_handlers: Mapping[str, TimerHandler] | None = None,
    event_handlers: Mapping[str, EventHandler] | None = None,
    jobs: Sequence[Job] = (),
    settings: Settings | None = None,
) -> dict[str, Any]:
    """arq settings for ``service``'s worker."""
    settings = settings or get_settings()
    timers = dict(timer_handlers or {})
    events = dict(event_handlers or {})

    async def startup(ctx: dict[str, Any]) -> None:
        runtime = await ServiceRuntime.start(service, settings, migrations)
        stop = asyncio.Event()
        ctx["runtime"], ctx["stop"] = runtime, stop
        ctx["background"] = [
            asyncio.create_task(sweep_forever(runtime, timers, stop), name="timer-sweep"),
            asyncio.create_task(Consumer(runtime, events).run(stop), name="event-consumer"),
        ]

    async def shutdown(ctx: dict[str, Any]) -> None:
        ctx["stop"].set()
        await asyncio.gather(*ctx["background"], return_exceptions=True)
        await ctx["runtime"].close()

    async def fire_timer_job(ctx: dict[str, Any], timer_id: str, version: int) -> bool:
        return await fire_timer(ctx["runtime"], timers, timer_id, version)

    return {
        "functions": [func(fire_timer_job, name=FIRE_TIMER_JOB), *jobs],
        "on_startup": startup,
        "on_shutdown": shutdown,
        "redis_settings": redis_settings(settings),
        "queue_name": RedisKeys(settings).job_queue(service),
        "job_timeout": 60,
        "keep_result": 60,
        "max_jobs": 20,
        "handle_signals": True,
    }


def run_worker(config: dict[str, Any]) -> None:
    """Run an arq worker from :func:`worker_settings` until SIGTERM/SIGINT."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    arq_run_worker(type("WorkerSettings", (), config))
