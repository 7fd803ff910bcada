"""Durable timers: fire once, at or after the deadline, whoever races for them."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from arq.jobs import Job
from arq.worker import Retry

from shared.db import create_pool
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from shared.timer_firing import RegionBound, TimerHandler, fire_timer, sweep
from shared.timers import FIRE_TIMER_JOB, TimerRow, arm_timer, enqueue_timer, timer_job_id
from shared.unit_of_work import UnitOfWork, unit_of_work
from shared.worker import worker_settings
from tests.shared.conftest import SERVICE
from tests.support import in_process_worker, in_region

KIND = "widget.expiry"


async def record_effect(uow: UnitOfWork, timer: TimerRow) -> None:
    await uow.conn.execute(
        "INSERT INTO effects (key, actor) VALUES ($1, $2)", timer.subject, str(timer.version)
    )


HANDLERS: dict[str, TimerHandler] = {KIND: record_effect}


def now() -> datetime:
    return datetime.now(UTC)


async def arm(
    runtime: ServiceRuntime, subject: str, due_at: datetime, *, enqueue: bool = True
) -> TimerRow:
    """Arm through a unit of work (which queues the job), or only write the row."""
    if enqueue:
        async with unit_of_work(runtime) as uow:
            return await uow.arm_timer(KIND, subject, due_at, {"note": subject})
    async with runtime.pool.acquire() as conn:
        return await arm_timer(conn, KIND, subject, due_at, {"note": subject})


async def effects(runtime: ServiceRuntime) -> dict[str, int]:
    rows = await runtime.pool.fetch("SELECT key, count(*) AS n FROM effects GROUP BY key")
    return {r["key"]: r["n"] for r in rows}


@pytest.fixture
async def second_runtime(platform: ServiceRuntime) -> AsyncIterator[ServiceRuntime]:
    """The same service with its own pool, as a second worker process would have."""
    pool = await create_pool(platform.settings.service_database_url(platform.service))
    yield dataclasses.replace(platform, pool=pool)
    await pool.close()


async def test_fire_before_the_deadline_retries_then_fires_once(platform: ServiceRuntime) -> None:
    timer = await arm(platform, "w1", now() + timedelta(milliseconds=400))
    assert timer.version == 1
    assert timer.payload == {"note": "w1"}

    with pytest.raises(Retry) as early:
        await fire_timer(platform, HANDLERS, str(timer.id), timer.version)
    assert early.value.defer_score is not None
    assert 0 < early.value.defer_score <= 400
    assert await effects(platform) == {}
    assert await platform.pool.fetchval("SELECT fired_at FROM timers") is None

    await asyncio.sleep(0.45)
    assert await fire_timer(platform, HANDLERS, str(timer.id), timer.version) is True
    assert await fire_timer(platform, HANDLERS, str(timer.id), timer.version) is False
    assert await sweep(platform, HANDLERS) == 0
    assert await effects(platform) == {"w1": 1}
    assert await platform.pool.fetchval("SELECT fired_at FROM timers") is not None


async def test_handler_failure_leaves_the_timer_unfired(platform: ServiceRuntime) -> None:
    timer = await arm(platform, "w1", now() - timedelta(seconds=1))

    async def failing(uow: UnitOfWork, timer: TimerRow) -> None:
        await record_effect(uow, timer)
        raise RuntimeError("handler failed")

    with pytest.raises(RuntimeError):
        await fire_timer(platform, {KIND: failing}, str(timer.id), timer.version)
    assert await effects(platform) == {}
    assert await fire_timer(platform, HANDLERS, str(timer.id), timer.version) is True
    assert await effects(platform) == {"w1": 1}


async def test_a_failing_timer_does_not_hold_up_the_sweep(platform: ServiceRuntime) -> None:
    await arm(platform, "poison", now() - timedelta(seconds=10), enqueue=False)
    for i in range(3):
        await arm(platform, f"w{i}", now() - timedelta(seconds=1), enqueue=False)

    async def picky(uow: UnitOfWork, timer: TimerRow) -> None:
        if timer.subject == "poison":
            raise RuntimeError("handler failed")
        await record_effect(uow, timer)

    assert await sweep(platform, {KIND: picky}) == 3
    assert await effects(platform) == {"w0": 1, "w1": 1, "w2": 1}
    # The failed one stays due, for the next pass.
    assert await platform.pool.fetchval("SELECT subject FROM timers WHERE fired_at IS NULL") == (
        "poison"
    )
    assert await sweep(platform, HANDLERS) == 1
    assert await effects(platform) == {"w0": 1, "w1": 1, "w2": 1, "poison": 1}


async def test_rearming_moves_the_deadline_and_outdates_old_jobs(platform: ServiceRuntime) -> None:
    first = await arm(platform, "w1", now() + timedelta(hours=1))
    second = await arm(platform, "w1", now() - timedelta(seconds=1))
    assert second.id == first.id
    assert second.version == first.version + 1
    assert second.due_at < first.due_at
    assert await platform.pool.fetchval("SELECT count(*) FROM timers") == 1
    # Each version has its own arq job.
    for version in (1, 2):
        assert await platform.redis.exists(f"arq:job:{timer_job_id(first.id, version)}")

    # The job of the old version does nothing, and does not ask to be retried.
    assert await fire_timer(platform, HANDLERS, str(first.id), first.version) is False
    assert await effects(platform) == {}
    assert await fire_timer(platform, HANDLERS, str(second.id), second.version) is True

    # Re-arming a fired timer makes it fire again, under a new version.
    third = await arm(platform, "w1", now() - timedelta(seconds=1))
    assert third.version == 3
    assert await fire_timer(platform, HANDLERS, str(second.id), second.version) is False
    assert await fire_timer(platform, HANDLERS, str(third.id), third.version) is True
    rows = await platform.pool.fetch("SELECT actor FROM effects ORDER BY seq")
    assert [r["actor"] for r in rows] == ["2", "3"]


async def test_cancelled_timer_never_fires(platform: ServiceRuntime) -> None:
    timer = await arm(platform, "w1", now() - timedelta(seconds=1))
    async with unit_of_work(platform) as uow:
        await uow.cancel_timer(KIND, "w1")
    assert await fire_timer(platform, HANDLERS, str(timer.id), timer.version) is False
    assert await sweep(platform, HANDLERS) == 0
    assert await effects(platform) == {}


async def test_two_sweeps_at_once_fire_each_timer_once(
    platform: ServiceRuntime, second_runtime: ServiceRuntime
) -> None:
    for i in range(200):
        await arm(platform, f"w{i}", now() - timedelta(seconds=1), enqueue=False)
    fired = await asyncio.gather(sweep(platform, HANDLERS), sweep(second_runtime, HANDLERS))
    assert sum(fired) == 200
    assert await effects(platform) == {f"w{i}": 1 for i in range(200)}
    assert await platform.pool.fetchval("SELECT count(*) FROM timers WHERE fired_at IS NULL") == 0


async def test_fire_timer_racing_a_sweep_fires_once(
    platform: ServiceRuntime, second_runtime: ServiceRuntime
) -> None:
    timers = [
        await arm(platform, f"w{i}", now() - timedelta(seconds=1), enqueue=False)
        for i in range(100)
    ]
    swept, *direct = await asyncio.gather(
        sweep(second_runtime, HANDLERS),
        *(fire_timer(platform, HANDLERS, str(t.id), t.version) for t in timers),
    )
    assert swept + sum(direct) == 100
    assert await effects(platform) == {f"w{i}": 1 for i in range(100)}


async def test_sweep_fires_lost_timers_and_requeues_upcoming_ones(
    platform: ServiceRuntime,
) -> None:
    horizon = timedelta(seconds=platform.settings.timer_sweep_seconds * 2)
    lost = await arm(platform, "lost", now() - timedelta(seconds=5), enqueue=False)
    soon = await arm(platform, "soon", now() + horizon / 2, enqueue=False)
    later = await arm(platform, "later", now() + horizon * 10, enqueue=False)
    assert await platform.redis.zcard(platform.queue_name) == 0

    assert await sweep(platform, HANDLERS) == 1
    assert await effects(platform) == {"lost": 1}

    soon_job = timer_job_id(soon.id, soon.version)
    assert await platform.redis.exists(f"arq:job:{soon_job}")
    score = await platform.redis.zscore(platform.queue_name, soon_job)
    assert score is not None
    assert abs(score - soon.due_at.timestamp() * 1000) < 5
    assert await platform.redis.zscore(platform.queue_name, timer_job_id(later.id, 1)) is None
    assert await platform.redis.zscore(platform.queue_name, timer_job_id(lost.id, 1)) is None

    # Sweeping again does not queue a second job.
    assert await sweep(platform, HANDLERS) == 0
    assert await platform.redis.zcard(platform.queue_name) == 1


async def test_worker_fires_a_timer_at_its_deadline(
    platform: ServiceRuntime, settings: Settings, platform_migrations: Path
) -> None:
    fired_at: list[float] = []
    loop = asyncio.get_running_loop()

    fired = asyncio.Event()

    async def on_fire(uow: UnitOfWork, timer: TimerRow) -> None:
        fired_at.append(loop.time())
        fired.set()
        await record_effect(uow, timer)

    # A sweep period far longer than the test: only the arq job can fire the timer.
    slow_sweep = settings.model_copy(update={"timer_sweep_seconds": 60})
    config = worker_settings(
        SERVICE, platform_migrations, timer_handlers={KIND: on_fire}, settings=slow_sweep
    )
    async with in_process_worker(config):
        due_in = 1.0
        armed_at = loop.time()
        timer = await arm(platform, "w1", now() + timedelta(seconds=due_in))
        await asyncio.wait_for(fired.wait(), 5)
        await asyncio.sleep(0.3)  # a second firing would show up here
    late = fired_at[0] - (armed_at + due_in)
    assert -0.05 <= late <= 1.5, f"fired {late:+.2f}s from the deadline"
    assert len(fired_at) == 1
    assert await effects(platform) == {"w1": 1}
    job = Job(
        timer_job_id(timer.id, timer.version), platform.redis, _queue_name=platform.queue_name
    )
    info = await job.result_info()
    assert info is not None
    assert (info.success, info.result) == (True, True)


async def test_a_timer_armed_in_the_past_is_queued_to_run_at_once(platform: ServiceRuntime) -> None:
    """arq refuses a defer time in the past; such a timer must still get its fast-path job."""
    async with unit_of_work(platform) as uow:
        timer = await uow.arm_timer("past", "p1", datetime.now(UTC) - timedelta(minutes=5))
    job_id = timer_job_id(timer.id, timer.version)
    assert await platform.redis.exists(f"arq:job:{job_id}")
    score = await platform.redis.zscore(platform.queue_name, job_id)
    assert score is not None
    assert score <= (datetime.now(UTC).timestamp() + 1) * 1000


async def test_with_regional_queues_home_fires_its_timers_and_a_region_its_bound_ones(
    platform: ServiceRuntime, second_runtime: ServiceRuntime
) -> None:
    """An SLA clock must not stall while its region is away: hq's sweep fires every timer not
    bound to a region, wherever it was armed. A region-bound one (it acts for jobs only its
    region runs) is its region's alone, even after its job was lost."""
    east, hq = in_region(platform, "east"), in_region(second_runtime, "hq")
    handlers: dict[str, TimerHandler] = {KIND: record_effect, "bound": RegionBound(record_effect)}
    async with unit_of_work(east) as uow:
        owned = await uow.arm_timer(KIND, "home", now() - timedelta(seconds=1))
        bound = await uow.arm_timer("bound", "away", now() - timedelta(seconds=1), region="east")
    assert (owned.region, bound.region) == ("hq", "east")
    hq_queue, east_queue = hq.queue_name, east.queue_name
    assert await platform.redis.zrange(hq_queue, 0, -1) == [
        timer_job_id(owned.id, owned.version).encode()
    ]
    assert await platform.redis.zrange(east_queue, 0, -1) == [
        timer_job_id(bound.id, bound.version).encode()
    ]
    await platform.redis.delete(hq_queue, east_queue)  # the jobs were lost
    # A row armed in east by a release before hq owned its timers names east; hq fires it too.
    await platform.pool.execute("UPDATE timers SET region = 'east' WHERE subject = 'home'")

    assert await sweep(east, handlers) == 1
    assert await effects(platform) == {"away": 1}
    assert await sweep(hq, handlers) == 1
    assert await effects(platform) == {"away": 1, "home": 1}


async def test_a_timer_job_is_queued_once_as_arq_would_queue_it(platform: ServiceRuntime) -> None:
    due_at = now() + timedelta(minutes=5)
    timer = await arm(platform, "w1", due_at)
    job_id = timer_job_id(timer.id, timer.version)
    queued = await platform.redis.get(f"arq:job:{job_id}")
    info = await Job(job_id, platform.redis, _queue_name=platform.queue_name).info()
    assert info is not None
    assert (info.function, info.args) == (FIRE_TIMER_JOB, (str(timer.id), timer.version))
    score = await platform.redis.zscore(platform.queue_name, job_id)
    assert score is not None
    assert abs(score - due_at.timestamp() * 1000) <= 1  # deferred to the deadline

    await enqueue_timer(platform.redis, platform.queue_name, timer)  # already queued
    assert await platform.redis.get(f"arq:job:{job_id}") == queued
    # Fired, its job gone and its result kept: not queued again either.
    await platform.redis.delete(f"arq:job:{job_id}")
    await platform.redis.zrem(platform.queue_name, job_id)
    await platform.redis.set(f"arq:result:{job_id}", b"kept")
    await enqueue_timer(platform.redis, platform.queue_name, timer)
    assert await platform.redis.zcard(platform.queue_name) == 0
    assert not await platform.redis.exists(f"arq:job:{job_id}")
