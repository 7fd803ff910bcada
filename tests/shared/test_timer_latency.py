"""Timers fire within the worker's poll period, and the worker's Redis work stays small."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from arq.connections import ArqRedis
from arq.worker import Worker

from shared import timer_firing
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from shared.timer_firing import sweep
from shared.timers import TimerRow, enqueue_timer, timer_job_id
from shared.unit_of_work import UnitOfWork
from shared.worker import LiaisonWorker, worker_settings
from tests.shared.conftest import SERVICE
from tests.shared.test_timers import HANDLERS, KIND, arm, record_effect
from tests.support import in_process_worker


def test_the_worker_polls_its_queue_at_the_configured_period(
    settings: Settings, platform_migrations: Path
) -> None:
    fast = settings.model_copy(update={"worker_poll_seconds": 0.02})
    assert worker_settings(SERVICE, platform_migrations, settings=fast)["poll_delay"] == 0.02
    default = Settings.model_fields["worker_poll_seconds"].default
    assert default <= 0.05  # arq's own 0.5 s made timers up to half a second late


async def fired_lateness(runtime: ServiceRuntime, count: int, within: float) -> list[float]:
    """Seconds from deadline to firing of every ``KIND`` timer, once ``count`` have fired."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        rows = await runtime.pool.fetch(
            "SELECT extract(epoch FROM fired_at - due_at)::float AS late FROM timers"
            " WHERE kind = $1 AND fired_at IS NOT NULL",
            KIND,
        )
        if len(rows) >= count:
            return [r["late"] for r in rows]
        assert asyncio.get_running_loop().time() < deadline, f"{len(rows)}/{count} fired"
        await asyncio.sleep(0.05)


async def test_timers_fire_within_a_poll_period_of_their_deadline(
    platform: ServiceRuntime, settings: Settings, platform_migrations: Path
) -> None:
    # Only the queued jobs can fire them: the sweep comes far later than the test ends.
    quick = settings.model_copy(update={"worker_poll_seconds": 0.05, "timer_sweep_seconds": 60})
    config = worker_settings(SERVICE, platform_migrations, timer_handlers=HANDLERS, settings=quick)
    async with in_process_worker(config):
        start = datetime.now(UTC)
        for i in range(8):
            await arm(platform, f"w{i}", start + timedelta(seconds=0.4 + i * 0.07))
        late = await fired_lateness(platform, 8, within=10)
    # With arq's 0.5 s poll, eight timers were each up to half a second late; some of them
    # nearly always more than 0.3 s.
    assert all(0 <= s < 0.3 for s in late), late


async def test_the_sweep_queues_again_only_the_timers_whose_job_is_gone(
    platform: ServiceRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow_sweep = platform.settings.model_copy(update={"timer_sweep_seconds": 60})
    runtime = dataclasses.replace(platform, settings=slow_sweep)
    soon = datetime.now(UTC) + timedelta(seconds=60)  # within the next two sweeps
    queued = [await arm(runtime, f"q{i}", soon) for i in range(3)]
    lost = await arm(runtime, "lost", soon, enqueue=False)
    enqueued: list[TimerRow] = []

    async def counting(redis: ArqRedis, queue_name: str, timer: TimerRow) -> None:
        enqueued.append(timer)
        await enqueue_timer(redis, queue_name, timer)

    monkeypatch.setattr(timer_firing, "enqueue_timer", counting)
    assert await sweep(runtime, HANDLERS) == 0
    assert [t.subject for t in enqueued] == ["lost"]
    for timer in [*queued, lost]:
        job_id = timer_job_id(timer.id, timer.version)
        assert await platform.redis.zscore(platform.queue_name, job_id) is not None


async def test_the_worker_does_not_check_again_the_jobs_it_is_running(
    settings: Settings, platform_migrations: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Running jobs stay in the queue until they end: a poll must not re-check each in Redis."""
    config = worker_settings(SERVICE, platform_migrations, settings=settings)
    worker = LiaisonWorker(**{**config, "handle_signals": False})
    handed: list[list[bytes]] = []

    async def arqs_start_jobs(self: Worker, job_ids: list[bytes]) -> None:
        handed.append(job_ids)

    monkeypatch.setattr(Worker, "start_jobs", arqs_start_jobs)
    running = asyncio.Event()

    async def job() -> None:
        await running.wait()

    worker.tasks["timer:a:1"] = asyncio.create_task(job())
    worker.tasks["timer:b:1"] = asyncio.create_task(asyncio.sleep(0))
    await worker.tasks["timer:b:1"]  # done: its id may be taken up again
    await worker.start_jobs([b"timer:a:1", b"timer:b:1", b"timer:c:1"])
    running.set()
    await worker.tasks["timer:a:1"]
    assert handed == [[b"timer:b:1", b"timer:c:1"]]


async def test_a_slow_handler_does_not_delay_the_timers_due_behind_it(
    platform: ServiceRuntime, settings: Settings, platform_migrations: Path
) -> None:
    """Jobs run side by side: one timer whose handler waits does not hold up the next."""
    release = asyncio.Event()

    async def slow_then_quick(uow: UnitOfWork, timer: TimerRow) -> None:
        if timer.subject == "slow":
            await release.wait()
        await record_effect(uow, timer)

    quick = settings.model_copy(update={"worker_poll_seconds": 0.05, "timer_sweep_seconds": 60})
    handlers = {KIND: slow_then_quick}
    config = worker_settings(SERVICE, platform_migrations, timer_handlers=handlers, settings=quick)
    async with in_process_worker(config):
        start = datetime.now(UTC)
        await arm(platform, "slow", start + timedelta(seconds=0.2))
        for i in range(3):
            await arm(platform, f"w{i}", start + timedelta(seconds=0.4 + i * 0.1))
        late = await fired_lateness(platform, 3, within=10)
        release.set()
        await fired_lateness(platform, 4, within=10)
    assert all(0 <= s < 0.3 for s in late), late
