"""A service's background process: arq jobs (timers and deliveries) plus its event consumer.

``run_worker`` builds arq ``WorkerSettings`` for one service: the ``fire_timer`` job (the
fast path of :mod:`shared.timers`), the service's own jobs, a sweep loop every
``LIAISON_TIMER_SWEEP_SECONDS`` and the event consumer, all in one event loop.

On SIGTERM arq stops taking jobs and waits up to ``LIAISON_SHUTDOWN_GRACE_SECONDS`` for the
running ones; a job still running then is cancelled and re-queued (arq retries cancelled
jobs), so it is handed back, not lost. The consumer stops after its current batch; what it
had not acknowledged stays pending in the group and is claimed by another consumer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from arq.worker import Function, Worker, func

from shared.events.consumer import Consumer, EventHandler
from shared.observability import setup_process
from shared.observability.health import serve_probes
from shared.observability.metrics import (
    observe_consumer_group,
    poll_forever,
    start_metrics_server,
    track_pool,
)
from shared.resilience import DATABASE_OUTAGES, REDIS_OUTAGES, Outage, patiently
from shared.runtime import ServiceRuntime, connect_redis, job_queue_name, redis_settings
from shared.settings import Settings, get_settings
from shared.timer_firing import TimerHandler, fire_timer, sweep
from shared.timers import FIRE_TIMER_JOB

log = logging.getLogger(__name__)

Job = Callable[..., Awaitable[Any]] | Function
"""A job coroutine, or one wrapped by arq's ``func`` for options of its own (``max_tries``)."""
OUTAGES = DATABASE_OUTAGES + REDIS_OUTAGES


class LiaisonWorker(Worker):
    """arq's worker, with a shutdown that always runs.

    arq's own ``close()`` cancels the jobs still running and awaits them without
    ``return_exceptions``: the first cancelled job's CancelledError escapes, so
    ``on_shutdown`` (stop the consumer and the sweep, close the pools) never runs. Here no new
    job is taken, the running ones are awaited to their end (after SIGTERM, those still
    running at the end of the grace period have already been cancelled, and arq re-queues
    them), and only then does the shutdown run.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._redis_outage = Outage(f"{self.queue_name} worker", "Redis")

    async def main(self) -> None:
        """arq's loop, started once Redis answers (arq itself gives up after 5 tries)."""
        if self._pool is None:
            config = self.redis_settings
            assert config is not None  # arq keeps them whenever it was given no pool
            self._pool = await patiently(
                lambda: connect_redis(
                    config,
                    job_deserializer=self.job_deserializer,
                    job_serializer=self.job_serializer,
                    default_queue_name=self.queue_name,
                    expires_extra_ms=self.expires_extra_ms,
                ),
                self._redis_outage,
                REDIS_OUTAGES,
            )
        await super().main()

    async def _poll_iteration(self) -> None:
        """One poll of the queue; a Redis outage pauses polling instead of ending the worker.
        A job whose result could not be written then runs again once its in-progress key
        expires: jobs are idempotent (a timer fires through ``fired_at IS NULL``)."""
        try:
            await super()._poll_iteration()
        except REDIS_OUTAGES as exc:
            await self._redis_outage.wait(exc)
        else:
            self._redis_outage.recovered()

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        """arq's, without the jobs this worker is running already. A job stays in the queue
        until it ends, so each poll lists the running ones again, and arq checks each in
        Redis (four round trips) before it skips it: with a 50 ms poll and ``max_jobs``
        running, up to 1,600 round trips a second spent on nothing."""
        running = {job_id for job_id, task in self.tasks.items() if not task.done()}
        await super().start_jobs([j for j in job_ids if j.decode() not in running])

    async def close(self) -> None:
        if self.main_task is not None:
            self.main_task.cancel()  # polls no more
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)
        self.tasks.clear()
        if self._pool is None:  # never started, or already closed
            return
        with contextlib.suppress(*REDIS_OUTAGES):  # the key expires by itself anyway
            await self._pool.delete(self.health_check_key)
        if self.on_shutdown:
            await self.on_shutdown(self.ctx)
        with contextlib.suppress(*REDIS_OUTAGES):
            await self._pool.aclose()
        self._pool = None


async def sweep_forever(
    runtime: ServiceRuntime, handlers: Mapping[str, TimerHandler], stop: asyncio.Event
) -> None:
    """Fire what the queue lost, every sweep period, until ``stop``."""
    outage = Outage(f"{runtime.service} timer sweep", "PostgreSQL or Redis")
    while not stop.is_set():
        try:
            fired = await sweep(runtime, handlers)
            if fired:
                log.info("sweep fired %d timer(s) the queue had missed", fired)
        except OUTAGES as exc:
            await outage.wait(exc, stop)
            continue
        except Exception:
            log.exception("timer sweep failed; next pass retries")
        else:
            outage.recovered()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), runtime.settings.timer_sweep_seconds)


Chore = Callable[[ServiceRuntime], Awaitable[Any]]
"""Housekeeping (pruning old rows): safe to run in several workers at once."""


async def housekeep_forever(
    runtime: ServiceRuntime, chores: Sequence[Chore], stop: asyncio.Event, done: asyncio.Event
) -> None:
    """Run every chore at start-up and then every ``LIAISON_HOUSEKEEPING_SECONDS``; ``done``
    is set after the first pass."""
    outage = Outage(f"{runtime.service} housekeeping", "PostgreSQL or Redis")
    while not stop.is_set():
        for chore in chores:
            try:
                await chore(runtime)
            except OUTAGES as exc:
                outage.failed(exc)  # the next pass retries, after the housekeeping period
            except Exception:
                log.exception("housekeeping %s failed; next pass retries", chore.__name__)
            else:
                outage.recovered()
        done.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), runtime.settings.housekeeping_seconds)


def is_egress_worker(settings: Settings) -> bool:
    """A worker away from the databases (regional queues, not the home region): it runs its
    region's jobs and region-bound timers only. Events and housekeeping are left to the home
    region's workers, where their many statements do not each cross the border."""
    return settings.regional_queues and settings.region != settings.home_region


def worker_settings(
    service: str,
    migrations: Path | Sequence[Path],
    *,
    timer_handlers: Mapping[str, TimerHandler] | None = None,
    event_handlers: Mapping[str, EventHandler] | None = None,
    jobs: Sequence[Job] = (),
    chores: Sequence[Chore] = (),
    settings: Settings | None = None,
) -> dict[str, Any]:
    """arq settings for ``service``'s worker."""
    settings = settings or get_settings()
    timers = dict(timer_handlers or {})
    events = dict(event_handlers or {})

    async def startup(ctx: dict[str, Any]) -> None:
        runtime = await ServiceRuntime.start(service, settings, migrations)
        track_pool(service, runtime.pool)
        stop = asyncio.Event()
        ctx["housekept"] = asyncio.Event()  # set after the first housekeeping pass
        ctx["runtime"], ctx["stop"] = runtime, stop
        serve_probes(redis=runtime.redis, databases={service: runtime.pool}, stopping=stop)
        keys = runtime.keys

        async def consumer_lag() -> None:
            await observe_consumer_group(
                service, runtime.redis, keys.event_stream, keys.consumer_group(service)
            )

        ctx["background"] = [
            asyncio.create_task(sweep_forever(runtime, timers, stop), name="timer-sweep"),
            asyncio.create_task(poll_forever([consumer_lag], stop), name="metrics-poll"),
        ]
        egress = is_egress_worker(settings)
        if egress:
            ctx["housekept"].set()
        else:
            ctx["background"] += [
                asyncio.create_task(Consumer(runtime, events).run(stop), name="event-consumer"),
                asyncio.create_task(
                    housekeep_forever(runtime, chores, stop, ctx["housekept"]), name="housekeeping"
                ),
            ]
        role = "egress worker" if egress else "worker"
        log.info("%s %s started on queue %s", service, role, runtime.queue_name)

    async def shutdown(ctx: dict[str, Any]) -> None:
        ctx["stop"].set()
        await asyncio.gather(*ctx["background"], return_exceptions=True)
        await ctx["runtime"].close()
        log.info("%s worker stopped", service)

    async def fire_timer_job(ctx: dict[str, Any], timer_id: str, version: int) -> bool:
        return await fire_timer(ctx["runtime"], timers, timer_id, version)

    return {
        "functions": [func(fire_timer_job, name=FIRE_TIMER_JOB), *jobs],
        "on_startup": startup,
        "on_shutdown": shutdown,
        "redis_settings": redis_settings(settings),
        "queue_name": job_queue_name(settings, service),
        "poll_delay": settings.worker_poll_seconds,
        "job_timeout": 60,
        "keep_result": 60,
        "max_jobs": 20,
        "handle_signals": True,
        # SIGTERM: take no new jobs, let running ones finish, then cancel (= re-queue) the rest.
        "job_completion_wait": settings.shutdown_grace_seconds,
    }


def run_worker(config: dict[str, Any]) -> None:
    """Run an arq worker from :func:`worker_settings` until SIGTERM/SIGINT.

    This is the process entry point, so it also sets up logging, tracing and the metrics
    listener (``LIAISON_METRICS_PORT``) for the process.
    """
    settings = get_settings()
    # <prefix>:queue:<service>[:<region>] (shared.redis_keys)
    service = str(config["queue_name"]).rsplit(":queue:", 1)[-1].split(":", 1)[0]
    setup_process(service, settings)
    start_metrics_server(settings.metrics_port, settings.host)
    LiaisonWorker(**config).run()
