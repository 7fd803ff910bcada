"""How late durable timers fire: N issue SLA deadlines due within a window, the real worker.

On a database and Redis keys of its own (``liaison_bench_timers_issues``, prefix
``liaisonbenchtimers``, Redis db 9), or with ``--embedded`` on private PostgreSQL and Redis
servers started in a temporary folder (no other client shares their connection limit or
their CPU queue, and Redis' command counter is the worker's alone):

1. set-up: a small directory (region, departments with heads, people) and a request reach
   the issues service as events, through its consumer's handlers; ``N / 2`` urgent issues
   are reported with ``services.issues.service.report_issue`` (two SLA clocks each);
2. arming: each clock is moved to a deadline drawn uniformly in ``[T0, T0 + window]``
   (``T0`` is ``--lead`` seconds after arming starts) and its breach timer re-armed with
   ``UnitOfWork.arm_timer`` (the row, then the arq job deferred to the deadline after
   commit), as every deadline move does;
3. firing: the issues worker (``python -m services.issues.worker``, or in this process with
   ``--in-process``) breaches the clocks with its real handler
   (``services.issues.sla.alerts.breach_due``: locks, breach, timeline, events, the next
   escalation timer);
4. the lateness of each timer is ``fired_at - due_at`` from the ``timers`` table
   (``fired_at`` is the start of the transaction that fired it). The CPU of the worker and
   of the database's backends from ``T0`` to the last firing is printed too.

``--idle SECONDS`` instead measures the idle worker: its CPU, and Redis commands per second
(exact with ``--embedded``; on a shared server it is the whole server's rate).
``--poll-seconds`` sets ``LIAISON_WORKER_POLL_SECONDS`` for the worker; ``--worker-tree DIR``
runs the worker from another copy of the repository (the code before a change);
``--profile FILE`` runs it in process under cProfile.

    .venv/bin/python -m bench.timer_lateness --embedded           # 10,000 timers in 60 s
    .venv/bin/python -m bench.timer_lateness --embedded --timers 1000 --worker-tree /tmp/before
    .venv/bin/python -m bench.timer_lateness --embedded --idle 30
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import os
import pstats
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from pydantic import BaseModel
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from devstack.stack import settings_env
from services.issues import service
from services.issues.app import MIGRATIONS
from services.issues.models import NewIssue, Severity
from services.issues.sla.alerts import BREACH_TIMER
from services.issues.worker import EVENT_HANDLERS, TIMER_HANDLERS
from shared.auth import Principal, Role
from shared.calendars import WorkCalendar
from shared.embedded import EmbeddedInfra
from shared.events.consumer import Consumer
from shared.events.contracts.requests import (
    DepartmentUpserted,
    PersonUpserted,
    RegionUpserted,
    RequestCreated,
)
from shared.events.envelope import new_event
from shared.redis_keys import RedisKeys
from shared.runtime import ServiceRuntime
from shared.settings import REPO_ROOT, Settings
from shared.timers import timer_job_id
from shared.unit_of_work import unit_of_work
from shared.worker import LiaisonWorker, worker_settings

SERVICE = "issues"
DATABASE_PREFIX = "liaison_bench_timers_"
REDIS_PREFIX = "liaisonbenchtimers"
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/9"
REPORTER = Principal(sub="li", roles=frozenset({Role.MEMBER}), departments=("mkt",))
REQUEST_ID = "cr-bench"


# --- settings and clean-up --------------------------------------------------------------------


def bench_settings(database_url: str, redis_url: str) -> Settings:
    """The bench's own names; no SLA warnings, so only breach timers are armed."""
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        database_prefix=DATABASE_PREFIX,
        redis_prefix=REDIS_PREFIX,
        issues_sla_warn_percents=[],
        log_format="text",
        log_level="WARNING",
    )


async def drop_state(settings: Settings) -> None:
    """Drop the bench database and every Redis key it may have left. arq's keys are not
    under our prefix: they are named after the timers' jobs and those still queued."""
    assert settings.database_url
    assert settings.redis_url
    jobs = await _timer_jobs(settings)
    conn = await asyncpg.connect(settings.database_url)
    try:
        name = f"{settings.database_prefix}{SERVICE}"
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
    redis = Redis.from_url(settings.redis_url)
    try:
        queued = await redis.zrange(f"{settings.redis_prefix}:queue:{SERVICE}", 0, -1)
        jobs |= {job.decode() for job in queued}
        keys = [f"arq:{kind}:{job}" for job in jobs for kind in _ARQ_KEYS]
        keys += [k.decode() async for k in redis.scan_iter(match=f"{settings.redis_prefix}:*")]
        for start in range(0, len(keys), 1000):
            await redis.delete(*keys[start : start + 1000])
    finally:
        await redis.aclose()


_ARQ_KEYS = ("job", "result", "retry", "in-progress")


async def _timer_jobs(settings: Settings) -> set[str]:
    """The arq job id of every version of every timer in the bench database (if any)."""
    assert settings.database_url
    url = settings.service_database_url(SERVICE)
    try:
        conn = await asyncpg.connect(url)
    except asyncpg.InvalidCatalogNameError:
        return set()
    try:
        rows = await conn.fetch("SELECT id, version FROM timers")
    except asyncpg.UndefinedTableError:
        return set()
    finally:
        await conn.close()
    return {timer_job_id(r["id"], v) for r in rows for v in range(1, r["version"] + 1)}


@contextlib.contextmanager
def embedded_servers() -> Iterator[tuple[str, str]]:
    """Private PostgreSQL and Redis in a temporary folder: no other client shares their
    connection limit, and Redis' command counter is the worker's alone."""
    directory = Path(tempfile.mkdtemp(prefix="liaison-bench-servers-"))
    try:
        with EmbeddedInfra(directory) as infra:
            yield infra.database_url, infra.redis_url
    finally:
        shutil.rmtree(directory, ignore_errors=True)


# --- set-up: directory, request, issues -------------------------------------------------------


async def deliver(runtime: ServiceRuntime, type_: str, subject: str, data: BaseModel) -> None:
    """Hand one event to the issues consumer's handler, as the worker would."""
    envelope = new_event(type_.split(".")[0], type_, subject, data)
    await Consumer(runtime, EVENT_HANDLERS).handle(envelope)


async def seed_directory(runtime: ServiceRuntime) -> None:
    """Region ``sh``; departments mkt (lead) and rd with heads; the request ``cr-bench``."""
    calendar = WorkCalendar(time_zone="Asia/Shanghai", holiday_country="CN")
    region = RegionUpserted(
        id="sh", code="SH", name="Shanghai", time_zone="Asia/Shanghai",
        calendar=calendar.model_dump(mode="json"),
    )  # fmt: skip
    await deliver(runtime, "requests.region.upserted", "sh", region)
    for person, department in (("li", "mkt"), ("boss-mkt", "mkt"), ("boss-rd", "rd")):
        roles = ["DEPARTMENT_HEAD"] if person.startswith("boss") else ["MEMBER"]
        person_data = PersonUpserted(
            id=person, name=person, email=f"{person}@x.example", department_id=department,
            region_id="sh", time_zone="Asia/Shanghai", roles=roles,
        )  # fmt: skip
        await deliver(runtime, "requests.person.upserted", person, person_data)
    for department in ("mkt", "rd"):
        data = DepartmentUpserted(
            id=department, code=department.upper(), name=department, region_id="sh",
            head_id=f"boss-{department}",
        )  # fmt: skip
        await deliver(runtime, "requests.department.upserted", department, data)
    request = RequestCreated(
        id=REQUEST_ID, code="CR-2026-BENCH", kind="PROJECT", title="Timer bench",
        status="IN_PROGRESS", lead_department_id="mkt", participant_department_ids=["rd"],
        created_by="li",
    )  # fmt: skip
    await deliver(runtime, "requests.request.created", REQUEST_ID, request)


async def report_issues(runtime: ServiceRuntime, count: int, concurrency: int) -> list[str]:
    """Report ``count`` urgent issues (24x7 clocks, due in two hours); their clock ids."""
    command = NewIssue(
        request_id=REQUEST_ID, title="Customs hold", severity=Severity.HIGH, urgent=True,
        reporting_department_id="mkt",
    )  # fmt: skip
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(count):
        queue.put_nowait(n)

    async def lane() -> None:
        while not queue.empty():
            queue.get_nowait()
            await service.report_issue(runtime, REPORTER, command)

    await asyncio.gather(*(lane() for _ in range(concurrency)))
    rows = await runtime.pool.fetch("SELECT id FROM sla_clocks ORDER BY id")
    return [r["id"] for r in rows]


# --- arming -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Armed:
    started: float
    """time.time() when arming began."""
    window_start: datetime
    finished_at: datetime
    late_arms: int
    """Timers whose arming committed after their deadline (the lead was too short)."""


async def move_and_arm(runtime: ServiceRuntime, clock_id: str, due: datetime) -> bool:
    """Move one clock's deadline to ``due`` and re-arm its breach timer; False if the
    commit came after ``due`` already."""
    async with unit_of_work(runtime) as uow:
        # The clock started target minutes before its new deadline (24x7, never paused).
        await uow.conn.execute(
            "UPDATE sla_clocks SET due_at = $2,"
            " started_at = $2::timestamptz - make_interval(mins => target_minutes),"
            " segment_started_at = $2::timestamptz - make_interval(mins => target_minutes)"
            " WHERE id = $1",
            clock_id,
            due,
        )
        await uow.arm_timer(BREACH_TIMER, clock_id, due)
    return datetime.now(UTC) <= due


async def arm_all(
    runtime: ServiceRuntime, clocks: Sequence[str], warmup: Sequence[str], args: argparse.Namespace
) -> Armed:
    """Deadlines uniform in ``[T0, T0 + window]`` with ``T0 = now + lead``, and those of the
    warm-up clocks in the 10 s before ``T0 - 2 s``, so the worker's connections and prepared
    statements are warm, as in a worker that has been running; armed earliest first."""
    started = time.time()
    window_start = datetime.now(UTC) + timedelta(seconds=args.lead)
    rng = random.Random(args.seed)
    offsets = [rng.uniform(-12, -2) for _ in warmup] + [rng.uniform(0, args.window) for _ in clocks]
    plan = sorted(
        ((clock, window_start + timedelta(seconds=o))
         for clock, o in zip([*warmup, *clocks], offsets, strict=True)),
        key=lambda item: item[1],
    )  # fmt: skip
    queue: asyncio.Queue[tuple[str, datetime]] = asyncio.Queue()
    for item in plan:
        queue.put_nowait(item)
    late = 0

    async def lane() -> None:
        nonlocal late
        while not queue.empty():
            clock, due = queue.get_nowait()
            if not await move_and_arm(runtime, clock, due):
                late += 1

    await asyncio.gather(*(lane() for _ in range(4)))
    return Armed(started, window_start, datetime.now(UTC), late)


# --- the worker -------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkerRun:
    """How the worker process runs: its poll period and the source tree it runs from."""

    poll_seconds: float | None
    tree: Path
    """``REPO_ROOT``, or another copy of it (e.g. the code before a change)."""


@contextlib.asynccontextmanager
async def worker_process(settings: Settings, run: WorkerRun, log_path: Path) -> AsyncIterator[int]:
    """``python -m services.issues.worker`` with the bench's settings; yields its pid once
    it has started."""
    env = {**os.environ, **settings_env(settings), "PYTHONPATH": str(run.tree)}
    if run.poll_seconds is not None:
        env["LIAISON_WORKER_POLL_SECONDS"] = str(run.poll_seconds)
    with log_path.open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "services.issues.worker",
            cwd=run.tree, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        await wait_started(settings, process, log_path)
        yield process.pid
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 30)
        except TimeoutError:
            process.kill()
            await process.wait()


async def wait_started(settings: Settings, process: asyncio.subprocess.Process, log: Path) -> None:
    """Until the worker's event consumer has joined its group (named ``<host>-<pid>``): its
    start-up is over and its queue is being polled."""
    assert settings.redis_url
    redis = Redis.from_url(settings.redis_url)
    keys = RedisKeys(settings)
    name = f"{socket.gethostname()}-{process.pid}"
    try:
        deadline = time.monotonic() + 60
        while not await _has_consumer(redis, keys, name):
            if process.returncode is not None:
                raise SystemExit(f"the worker exited; see {log}")
            if time.monotonic() > deadline:
                raise SystemExit(f"the worker did not start in 60 s; see {log}")
            await asyncio.sleep(0.1)
    finally:
        await redis.aclose()


async def _has_consumer(redis: Redis, keys: RedisKeys, name: str) -> bool:
    try:
        consumers = await redis.xinfo_consumers(keys.event_stream, keys.consumer_group(SERVICE))
    except ResponseError:  # no stream or group yet
        return False
    return any(c["name"].decode() == name for c in consumers)


@contextlib.asynccontextmanager
async def worker_processes(
    settings: Settings, run: WorkerRun, count: int, log_dir: Path
) -> AsyncIterator[list[int]]:
    """``count`` workers on the one queue (production runs two replicas); their pids."""
    async with contextlib.AsyncExitStack() as stack:
        pids = [
            await stack.enter_async_context(
                worker_process(settings, run, log_dir / f"issues-worker-{n}.log")
            )
            for n in range(count)
        ]
        yield pids


@contextlib.asynccontextmanager
async def worker_in_process(settings: Settings, poll_seconds: float | None) -> AsyncIterator[None]:
    """The same worker in this event loop (for cProfile)."""
    if poll_seconds is not None:
        settings = settings.model_copy(update={"worker_poll_seconds": poll_seconds})
    config = worker_settings(
        SERVICE, MIGRATIONS, timer_handlers=TIMER_HANDLERS, event_handlers=EVENT_HANDLERS,
        settings=settings,
    )  # fmt: skip
    worker = LiaisonWorker(**{**config, "handle_signals": False})
    task = asyncio.create_task(worker.async_run())
    try:
        while "housekept" not in worker.ctx or not worker.ctx["housekept"].is_set():
            if task.done():
                task.result()
            await asyncio.sleep(0.05)
        yield
    finally:
        await worker.close()
        await asyncio.gather(task, return_exceptions=True)


# --- measuring --------------------------------------------------------------------------------


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    index = max(0, min(len(sorted_values) - 1, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


async def wait_fired(runtime: ServiceRuntime, clocks: Sequence[str], until: datetime) -> int:
    """Until every armed breach timer has fired or ``until``; how many fired."""
    while True:
        fired: int = await runtime.pool.fetchval(
            "SELECT count(*) FROM timers WHERE kind = $1 AND subject = ANY($2)"
            " AND fired_at IS NOT NULL",
            BREACH_TIMER,
            list(clocks),
        )
        if fired == len(clocks) or datetime.now(UTC) > until:
            return fired
        await asyncio.sleep(0.5)


async def lateness_ms(runtime: ServiceRuntime, clocks: Sequence[str]) -> list[float]:
    rows = await runtime.pool.fetch(
        "SELECT extract(epoch FROM fired_at - due_at) * 1000 AS late FROM timers"
        " WHERE kind = $1 AND subject = ANY($2) AND fired_at IS NOT NULL ORDER BY 1",
        BREACH_TIMER,
        list(clocks),
    )
    return [float(r["late"]) for r in rows]


async def print_timeline(runtime: ServiceRuntime, clocks: Sequence[str], armed: Armed) -> None:
    """Lateness by deadline, in 5 s slices of the window: shows stalls (a sweep, a pause)."""
    rows = await runtime.pool.fetch(
        "SELECT floor(extract(epoch FROM due_at - $3) / 5)::int AS slice, count(*) AS n,"
        " percentile_cont(0.5) WITHIN GROUP (ORDER BY fired_at - due_at) AS p50,"
        " max(fired_at - due_at) AS worst,"
        " (array_agg(due_at ORDER BY fired_at - due_at DESC))[1] AS worst_due"
        " FROM timers WHERE kind = $1 AND subject = ANY($2) AND fired_at IS NOT NULL"
        " GROUP BY 1 ORDER BY 1",
        BREACH_TIMER,
        list(clocks),
        armed.window_start,
    )
    for r in rows:
        worst_at = (r["worst_due"] - armed.window_start).total_seconds()
        print(
            f"  {r['slice'] * 5:3d}-{r['slice'] * 5 + 5:3d} s: {r['n']:5d} timers,"
            f" p50 {r['p50'].total_seconds() * 1000:7.1f} ms, max"
            f" {r['worst'].total_seconds() * 1000:7.1f} ms (due at {worst_at:.2f} s)"
        )


def print_lateness(late: Sequence[float], armed: int, label: str) -> None:
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    if not late:
        print(f"no timer fired (of {armed})")
        return
    print(
        f"{label}: {len(late)}/{armed} fired; lateness ms: p50 {percentile(late, 0.5):.1f}"
        f"  p95 {percentile(late, 0.95):.1f}  p99 {percentile(late, 0.99):.1f}"
        f"  max {late[-1]:.1f}  mean {statistics.fmean(late):.1f}  min {late[0]:.1f}"
        f"  (load average {load})"
    )


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


async def redis_commands(redis: Redis) -> int:
    stats: dict[str, Any] = await redis.info("stats")
    return int(stats["total_commands_processed"])


async def measure_idle(settings: Settings, pid: int, seconds: float) -> tuple[float, float]:
    """The worker's CPU share and Redis commands per second over ``seconds`` of idling."""
    assert settings.redis_url
    redis = Redis.from_url(settings.redis_url)
    try:
        await asyncio.sleep(2)  # past start-up work (migrations, first housekeeping)
        cpu0, ops0, t0 = cpu_seconds(pid), await redis_commands(redis), time.monotonic()
        await asyncio.sleep(seconds)
        cpu1, ops1, t1 = cpu_seconds(pid), await redis_commands(redis), time.monotonic()
    finally:
        await redis.aclose()
    elapsed = t1 - t0
    return (cpu1 - cpu0) / elapsed, (ops1 - ops0 - 1) / elapsed  # less our own INFO


# --- the runs ---------------------------------------------------------------------------------


async def run_lateness(args: argparse.Namespace, settings: Settings, log_dir: Path) -> None:
    runtime = await ServiceRuntime.start(SERVICE, settings, MIGRATIONS)
    try:
        await seed_directory(runtime)
        t = time.monotonic()
        wanted = args.timers + args.warmup
        every = await report_issues(runtime, (wanted + 1) // 2, args.concurrency)
        clocks, warmup = every[: args.timers], every[args.timers : wanted]
        print(f"set-up: {len(every) // 2} issues reported in {time.monotonic() - t:.1f} s")
        async with _worker(args, settings, log_dir) as pids:
            armed = await arm_all(runtime, clocks, warmup, args)
            spent = time.time() - armed.started
            print(f"armed {len(clocks)} timers in {spent:.1f} s ({armed.late_arms} after due)")
            usage = await fire_window(runtime, clocks, armed, args, pids)
        print_lateness(await lateness_ms(runtime, clocks), len(clocks), run_label(args))
        print_usage(usage)
        if args.timeline:
            await print_timeline(runtime, clocks, armed)
        if usage.fired < len(clocks):
            print(f"{len(clocks) - usage.fired} timers had not fired {args.grace:.0f} s after")
    finally:
        await runtime.close()


@dataclass(frozen=True)
class Usage:
    """CPU seconds from the window's start to the last firing."""

    fired: int
    worker: float | None
    """None when the worker runs in this process."""
    backends: float
    """PostgreSQL backends serving the bench database (the worker's, mostly)."""
    redis_commands: int
    """Commands Redis processed meanwhile (the workers' alone on a private server)."""


async def fire_window(
    runtime: ServiceRuntime, clocks: Sequence[str], armed: Armed, args: argparse.Namespace,
    pids: Sequence[int],
) -> Usage:  # fmt: skip
    """Wait for the window and for every timer to fire, counting the CPU spent meanwhile."""
    await asyncio.sleep(max(0.0, (armed.window_start - datetime.now(UTC)).total_seconds()))
    worker_before = sum(cpu_seconds(pid) for pid in pids)
    backends_before = backends_cpu(await backend_pids(runtime))
    commands_before = await redis_commands(runtime.redis)
    until = armed.window_start + timedelta(seconds=args.window + args.grace)
    fired = await wait_fired(runtime, clocks, until)
    commands = await redis_commands(runtime.redis) - commands_before - 1  # the INFO itself
    backends_after = backends_cpu(await backend_pids(runtime))
    spent = sum(cpu - backends_before.get(p, 0.0) for p, cpu in backends_after.items())
    worker = sum(cpu_seconds(pid) for pid in pids) - worker_before if pids else None
    return Usage(fired, worker, spent, commands)


async def backend_pids(runtime: ServiceRuntime) -> list[int]:
    rows = await runtime.pool.fetch(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
    )
    return [r["pid"] for r in rows]


def backends_cpu(pids: Sequence[int]) -> dict[int, float]:
    found = {}
    for pid in pids:
        with contextlib.suppress(OSError):  # a connection closed meanwhile
            found[pid] = cpu_seconds(pid)
    return found


def print_usage(usage: Usage) -> None:
    per_timer = 1000 / max(usage.fired, 1)
    worker = (
        f"workers {usage.worker:.1f} s ({usage.worker * per_timer:.2f} ms a timer), "
        if usage.worker is not None
        else ""
    )
    print(
        f"CPU from the window's start to the last firing: {worker}PostgreSQL backends"
        f" {usage.backends:.1f} s ({usage.backends * per_timer:.2f} ms a timer);"
        f" Redis commands {usage.redis_commands * per_timer / 1000:.1f} a timer"
    )


def run_label(args: argparse.Namespace) -> str:
    poll = "the setting's default" if args.poll_seconds is None else f"{args.poll_seconds} s"
    tree = f"from {args.worker_tree}" if args.worker_tree else "from this tree"
    return f"{args.workers} worker(s) {tree}, poll {poll}"


@contextlib.asynccontextmanager
async def _worker(
    args: argparse.Namespace, settings: Settings, log_dir: Path
) -> AsyncIterator[list[int]]:
    """The workers as processes (yields their pids) or one in this process (yields [])."""
    if args.profile is None and not args.in_process:
        async with worker_processes(settings, worker_run(args), args.workers, log_dir) as pids:
            yield pids
        return
    profiler = cProfile.Profile() if args.profile else None
    async with worker_in_process(settings, args.poll_seconds):
        if profiler:
            profiler.enable()
        try:
            yield []
        finally:
            if profiler:
                profiler.disable()
    if profiler:
        profiler.dump_stats(args.profile)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


def worker_run(args: argparse.Namespace) -> WorkerRun:
    return WorkerRun(args.poll_seconds, args.worker_tree or REPO_ROOT)


async def run_idle(args: argparse.Namespace, settings: Settings, log_dir: Path) -> None:
    # The worker migrates its own database on start-up.
    log_path = log_dir / "issues-worker.log"
    async with worker_process(settings, worker_run(args), log_path) as pid:
        cpu, ops = await measure_idle(settings, pid, args.idle)
    where = "private server" if args.embedded else "whole shared server"
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"idle worker ({run_label(args)}): CPU {cpu * 100:.2f}% of a core,"
        f" Redis {ops:.1f} commands/s ({where}) over {args.idle:.0f} s (load average {load})"
    )


async def run(args: argparse.Namespace, database_url: str, redis_url: str) -> None:
    settings = bench_settings(database_url, redis_url)
    await drop_state(settings)
    log_dir = Path(tempfile.mkdtemp(prefix="liaison-bench-timers-"))
    try:
        if args.idle:
            await run_idle(args, settings, log_dir)
        else:
            await run_lateness(args, settings, log_dir)
    except BaseException:
        print(f"worker log kept in {log_dir}", file=sys.stderr)
        raise
    else:
        if not args.keep:
            shutil.rmtree(log_dir, ignore_errors=True)
    finally:
        if not args.keep:
            await drop_state(settings)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--timers", type=int, default=10_000, help="timers to arm (10000)")
    parser.add_argument("--window", type=float, default=60.0, help="seconds they fall in (60)")
    parser.add_argument(
        "--lead", type=float, default=60.0, help="seconds from arming to the window (60)"
    )
    parser.add_argument(
        "--grace", type=float, default=120.0, help="seconds to wait after the window (120)"
    )
    parser.add_argument(
        "--warmup", type=int, default=200, help="timers due just before the window (200)"
    )
    parser.add_argument("--concurrency", type=int, default=4, help="issues reported at once")
    parser.add_argument("--seed", type=int, default=1, help="of the deadlines' draw")
    parser.add_argument(
        "--poll-seconds", type=float, default=None,
        help="LIAISON_WORKER_POLL_SECONDS for the worker (default: the setting's default)",
    )  # fmt: skip
    parser.add_argument(
        "--worker-tree", type=Path,
        help="run the worker process from this copy of the repository (e.g. the code before)",
    )  # fmt: skip
    parser.add_argument("--idle", type=float, default=0, help="measure the idle worker instead")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (1)")
    parser.add_argument("--timeline", action="store_true", help="lateness by 5 s of deadlines")
    parser.add_argument("--in-process", action="store_true", help="run the worker in process")
    parser.add_argument("--profile", type=Path, help="cProfile the in-process worker to FILE")
    parser.add_argument(
        "--embedded", action="store_true", help="private PostgreSQL and Redis servers"
    )
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    parser.add_argument("--keep", action="store_true", help="keep the database and the log")
    return parser.parse_args(argv)


def main() -> None:
    args = parse_args()
    if not args.embedded:
        asyncio.run(run(args, args.database_url, args.redis_url))
        return
    with embedded_servers() as (database_url, redis_url):
        asyncio.run(run(args, database_url, redis_url))


if __name__ == "__main__":
    main()
