"""Event to subscriber: from a write's commit to its notification on a live subscription.

On databases, Redis keys and free ports of its own (``liaison_bench_events_*``, prefix
``liaisonbenchevents``; ``--embedded`` runs private PostgreSQL and Redis servers as well):

1. the processes of the path run as ``./liaison run`` runs them: the outbox relay (for the
   tasks and notify databases), the notify worker (its event consumer), the notify subgraph
   and, with ``--via gateway``, the Hive gateway in front of it;
2. a child process opens ``subscription { notifications { id title } }`` over
   graphql-transport-ws as one person (on the gateway, or on the notify subgraph directly
   with the gateway secret, as the gateway itself connects) and stamps each message;
3. this process writes ``tasks.task.reminder_due`` events naming that person through the
   tasks service's outbox (``UnitOfWork.emit``, one transaction each) at ``--rate`` a
   second for ``--seconds``, on a fixed schedule, and stamps each commit;
4. each latency is the message's stamp minus its commit's; the segments come from what the
   path records: the relay's pick-up (``outbox.sent_at``), the stream entry's id (the
   XADD), the consumer's transaction start (notify's ``inbox.handled_at``).

``--set NAME=VALUE`` overrides a setting for every process (e.g. ``relay_poll_seconds=0.1``,
the default before the change). ``--cpu`` prints each process's CPU over the run.

    .venv/bin/python -m bench.event_latency --embedded                 # 200/s for 30 s
    .venv/bin/python -m bench.event_latency --embedded --via gateway --rate 100
    .venv/bin/python -m bench.event_latency --embedded --set relay_poll_seconds=0.1
    .venv/bin/python -m bench.event_latency --embedded --set consumer_concurrency=1
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import multiprocessing
import os
import queue
import shutil
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing.synchronize import Event as EventFlag
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import websockets
from pydantic import BaseModel
from redis.asyncio import Redis

from bench.timer_lateness import cpu_seconds, embedded_servers, percentile, redis_commands
from devstack.node import ensure_gateway_packages, gateway_argv
from devstack.processes import ProcessGroup, ProcessSpec
from devstack.stack import process_group, subgraph_url
from services import SERVICE_NAMES
from services.notify.app import MIGRATIONS as NOTIFY_MIGRATIONS
from services.notify.handlers import EVENT_HANDLERS as NOTIFY_HANDLERS
from services.tasks.app import MIGRATIONS as TASKS_MIGRATIONS
from shared.auth import GATEWAY_SECRET_HEADER, issue_token
from shared.calendars import WorkCalendar
from shared.events.consumer import Consumer
from shared.events.contracts.requests import DepartmentUpserted, PersonUpserted, RegionUpserted
from shared.events.contracts.tasks import TaskReminderDue
from shared.events.envelope import new_event
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from shared.unit_of_work import unit_of_work

DATABASE_PREFIX = "liaison_bench_events_"
REDIS_PREFIX = "liaisonbenchevents"
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/9"
SERVICES = ("tasks", "notify")
RECIPIENT = "bench-reader"
EVENT_TYPE = "tasks.task.reminder_due"
TITLE_PREFIX = "Task reminder due: bench "
"""The notify rule for events naming their recipients titles them ``<Type>: <title>``."""
SUBSCRIPTION = "subscription { notifications { id title } }"
PORT_NAMES = ("gateway", "requests", "tasks", "issues", "notify")


# --- settings, state, processes ---------------------------------------------------------------


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def bench_settings(database_url: str, redis_url: str, overrides: Mapping[str, str]) -> Settings:
    ports = dict(zip((f"{n}_port" for n in PORT_NAMES), free_ports(len(PORT_NAMES)), strict=True))
    base: dict[str, Any] = {
        "database_url": database_url,
        "redis_url": redis_url,
        "database_prefix": DATABASE_PREFIX,
        "redis_prefix": REDIS_PREFIX,
        "log_format": "text",
        "log_level": "WARNING",
        **ports,
    }
    return Settings(**{**base, **overrides})


def parse_overrides(pairs: Sequence[str]) -> dict[str, str]:
    """``NAME=VALUE`` pairs; pydantic parses the values as it parses the environment."""
    overrides = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or name not in Settings.model_fields:
            raise SystemExit(f"--set {pair}: expected NAME=VALUE with a setting's name")
        overrides[name] = value
    return overrides


async def drop_state(settings: Settings) -> None:
    """Drop the bench databases and every Redis key under the bench prefix."""
    assert settings.database_url
    assert settings.redis_url
    conn = await asyncpg.connect(settings.database_url)
    try:
        for service in SERVICE_NAMES:
            name = f"{settings.database_prefix}{service}"
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
    redis = Redis.from_url(settings.redis_url)
    try:
        keys = [k async for k in redis.scan_iter(match=f"{settings.redis_prefix}:*")]
        for start in range(0, len(keys), 1000):
            await redis.delete(*keys[start : start + 1000])
    finally:
        await redis.aclose()


def path_specs(settings: Settings, via: str) -> list[ProcessSpec]:
    """The processes between the tasks outbox and the subscriber."""
    python, host = sys.executable, settings.host
    port = settings.notify_port
    notify = [python, "-m", "shared.serve", "service", "notify", "--host", host, "--port"]
    specs = [
        ProcessSpec("notify", [*notify, str(port)], ready_url=f"http://{host}:{port}/readyz"),
        ProcessSpec("notify-worker", [python, "-m", "services.notify.worker"]),
        ProcessSpec("relay", [python, "-m", "shared.events.relay", *SERVICES]),
    ]
    if via == "gateway":
        gateway = settings.gateway_port
        ready = f"http://{host}:{gateway}/healthcheck"
        specs.append(ProcessSpec("gateway", gateway_argv(host, gateway), ready_url=ready))
    return specs


@contextlib.contextmanager
def running(settings: Settings, via: str, log_dir: Path) -> Iterator[ProcessGroup]:
    """The path's processes, ready; stopped (SIGTERM, then after their grace SIGKILL) after."""
    if via == "gateway":
        ensure_gateway_packages()
    group = process_group(settings, log_dir)
    try:
        for spec in path_specs(settings, via):
            group.start(spec)
        group.wait_ready(90)
        yield group
    finally:
        group.stop()


# --- the directory copy -----------------------------------------------------------------------


async def deliver(runtime: ServiceRuntime, type_: str, subject: str, data: BaseModel) -> None:
    """Hand one event to notify's consumer handlers, as its worker would."""
    await Consumer(runtime, NOTIFY_HANDLERS).handle(new_event("requests", type_, subject, data))


async def seed_recipient(runtime: ServiceRuntime) -> None:
    """The subscriber, in notify's copy of the directory (who may subscribe, and as whom)."""
    calendar = WorkCalendar(time_zone="Asia/Shanghai", holiday_country="CN")
    region = RegionUpserted(
        id="sh", code="SH", name="Shanghai", time_zone="Asia/Shanghai",
        calendar=calendar.model_dump(mode="json"),
    )  # fmt: skip
    await deliver(runtime, "requests.region.upserted", "sh", region)
    department = DepartmentUpserted(id="ops", code="OPS", name="ops", region_id="sh")
    await deliver(runtime, "requests.department.upserted", "ops", department)
    person = PersonUpserted(
        id=RECIPIENT, name="Bench Reader", email="reader@x.example", department_id="ops",
        region_id="sh", time_zone="Asia/Shanghai", roles=["MEMBER"],
    )  # fmt: skip
    await deliver(runtime, "requests.person.upserted", RECIPIENT, person)


# --- the subscriber (a child process, so the producer never delays its stamps) ---------------


@dataclass(frozen=True)
class Listen:
    url: str
    init: dict[str, str]
    """connection_init's payload: the token, and the gateway secret when on the subgraph."""


def listen(plan: Listen, stamps: multiprocessing.Queue[Any], stop: EventFlag) -> None:
    """Child process: subscribe, put ``"ready"``, then ``(title, time.time())`` per message."""
    asyncio.run(_listen(plan, stamps, stop))


async def _listen(plan: Listen, stamps: multiprocessing.Queue[Any], stop: EventFlag) -> None:
    async with websockets.connect(plan.url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": plan.init}))
        ack = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if ack["type"] != "connection_ack":
            raise SystemExit(f"subscription refused: {ack}")
        start = {"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION}}
        await ws.send(json.dumps(start))
        stamps.put("ready")
        while not stop.is_set():
            try:
                raw = await asyncio.wait_for(ws.recv(), 0.5)
            except TimeoutError:
                continue
            at = time.time()
            message = orjson.loads(raw)
            if message["type"] == "next":
                stamps.put((message["payload"]["data"]["notifications"]["title"], at))
            elif message["type"] in ("error", "complete"):
                raise SystemExit(f"subscription ended: {message}")


def listen_plan(settings: Settings, via: str) -> Listen:
    token = {"authorization": f"Bearer {issue_token(settings, RECIPIENT)}"}
    if via == "gateway":
        url = f"ws://{settings.host}:{settings.gateway_port}/graphql"
        return Listen(url, token)
    url = subgraph_url(settings, "notify").replace("http://", "ws://")
    return Listen(url, {**token, GATEWAY_SECRET_HEADER: settings.gateway_secret})


@dataclass
class Subscriber:
    """The child process and what it has stamped so far."""

    stamps: multiprocessing.Queue[Any]
    stop: EventFlag
    process: multiprocessing.process.BaseProcess
    received: dict[str, float] = field(default_factory=dict)

    def drain(self) -> None:
        while True:
            try:
                item = self.stamps.get_nowait()
            except queue.Empty:
                return
            if item != "ready":
                self.received[item[0].removeprefix(TITLE_PREFIX)] = item[1]

    async def wait_for(self, titles: Sequence[str], seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while not all(t in self.received for t in titles):
            if time.monotonic() > deadline or not self.process.is_alive():
                return False
            await asyncio.sleep(0.05)
            self.drain()
        return True


@contextlib.asynccontextmanager
async def subscriber(plan: Listen) -> AsyncIterator[Subscriber]:
    context = multiprocessing.get_context("spawn")
    stamps: multiprocessing.Queue[Any] = context.Queue()
    stop = context.Event()
    process = context.Process(target=listen, args=(plan, stamps, stop), daemon=True)
    process.start()
    try:
        ready = await asyncio.get_running_loop().run_in_executor(None, stamps.get, True, 30)
        assert ready == "ready", ready
        yield Subscriber(stamps, stop, process)
    finally:
        stop.set()
        process.join(10)
        if process.is_alive():
            process.kill()


# --- the producer -----------------------------------------------------------------------------


@dataclass
class Produced:
    commits: dict[str, float] = field(default_factory=dict)
    """Title -> time.time() right after the commit."""
    event_ids: dict[str, str] = field(default_factory=dict)
    """Title -> event id."""


async def write_one(runtime: ServiceRuntime, title: str, produced: Produced) -> None:
    """One ``tasks.task.reminder_due`` through the tasks outbox, in its own transaction."""
    data = TaskReminderDue(
        task_id=f"task-{title}", request_id="cr-bench", title=f"bench {title}",
        due_at=datetime.now(UTC) + timedelta(hours=2), offset_minutes=120,
        recipient_ids=[RECIPIENT], raci=[],
    )  # fmt: skip
    async with unit_of_work(runtime) as uow:
        envelope = await uow.emit(EVENT_TYPE, data.task_id, data)
    produced.commits[title] = time.time()
    produced.event_ids[title] = envelope.id


async def produce(runtime: ServiceRuntime, rate: float, seconds: float) -> Produced:
    """Open loop: write ``i`` is started at ``start + i / rate`` whatever the earlier ones do."""
    produced = Produced()
    loop = asyncio.get_running_loop()
    start = loop.time()
    writes: list[asyncio.Task[None]] = []
    for i in range(int(rate * seconds)):
        delay = start + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        writes.append(asyncio.create_task(write_one(runtime, str(i), produced)))
    await asyncio.gather(*writes)
    return produced


# --- where the time went ----------------------------------------------------------------------


async def stream_times(settings: Settings) -> dict[str, float]:
    """Event id -> when its stream entry was added (the entry id's milliseconds)."""
    assert settings.redis_url
    redis = Redis.from_url(settings.redis_url)
    found: dict[str, float] = {}
    try:
        start = "-"
        while entries := await redis.xrange(f"{settings.redis_prefix}:events", start, count=5000):
            for entry_id, fields in entries:
                event = orjson.loads(fields[b"event"])
                found[event["id"]] = int(entry_id.split(b"-")[0]) / 1000
            start = "(" + entries[-1][0].decode()
    finally:
        await redis.aclose()
    return found


async def column_times(runtime: ServiceRuntime, sql: str) -> dict[str, float]:
    rows = await runtime.pool.fetch(sql)
    return {r["event_id"]: r["at"].timestamp() for r in rows if r["at"] is not None}


@dataclass(frozen=True)
class Timeline:
    """When each stage saw each event (time.time() seconds), by title."""

    committed: dict[str, float]
    picked: dict[str, float]
    published: dict[str, float]
    consumed: dict[str, float]
    received: dict[str, float]


async def timeline(
    settings: Settings, tasks: ServiceRuntime, notify: ServiceRuntime, produced: Produced,
    received: dict[str, float],
) -> Timeline:  # fmt: skip
    picked = await column_times(tasks, "SELECT event_id, sent_at AS at FROM outbox")
    consumed = await column_times(notify, "SELECT event_id, handled_at AS at FROM inbox")
    published = await stream_times(settings)

    def by_title(times: dict[str, float]) -> dict[str, float]:
        ids = produced.event_ids
        return {title: times[ids[title]] for title in produced.commits if ids[title] in times}

    return Timeline(
        produced.commits, by_title(picked), by_title(published), by_title(consumed), received
    )


def spans(line: Timeline) -> list[tuple[str, list[float]]]:
    """Each segment's durations in ms, over the events that reached its end."""

    def between(a: dict[str, float], b: dict[str, float]) -> list[float]:
        return sorted((b[t] - a[t]) * 1000 for t in a if t in b)

    return [
        ("commit -> subscriber (total)", between(line.committed, line.received)),
        ("commit -> relay picks it up", between(line.committed, line.picked)),
        ("relay pick-up -> stream XADD", between(line.picked, line.published)),
        ("XADD -> notify consumer's transaction", between(line.published, line.consumed)),
        ("consumer's transaction -> subscriber", between(line.consumed, line.received)),
    ]


def print_report(line: Timeline, args: argparse.Namespace) -> None:
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    settings = ", ".join(args.set) or "defaults"
    print(
        f"{args.rate:g}/s for {args.seconds:g} s via {args.via} ({settings}):"
        f" {sum(t in line.received for t in line.committed)}/{len(line.committed)} received"
        f" (load average {load})"
    )
    for name, values in spans(line):
        if not values:
            print(f"  {name}: none")
            continue
        print(
            f"  {name:40} p50 {percentile(values, 0.5):7.1f}  p95 {percentile(values, 0.95):7.1f}"
            f"  p99 {percentile(values, 0.99):7.1f}  max {values[-1]:7.1f}"
            f"  mean {statistics.fmean(values):7.1f} ms"
        )


# --- the run ----------------------------------------------------------------------------------


def pids(group: ProcessGroup) -> dict[str, int]:
    return {name: process.pid for name, (_, process) in group.running.items()}


def cpu_of(processes: Mapping[str, int]) -> dict[str, float]:
    found = {}
    for name, pid in processes.items():
        with contextlib.suppress(OSError):
            found[name] = cpu_seconds(pid)
    return found


async def warm_up(tasks: ServiceRuntime, listener: Subscriber) -> None:
    """Until one event makes it all the way (consumer group made, subscription live)."""
    for attempt in range(60):
        title = f"warm-{attempt}"
        await write_one(tasks, title, Produced())
        if await listener.wait_for([title], 2):
            return
    raise SystemExit("no notification reached the subscriber in 2 minutes")


async def measure(args: argparse.Namespace, settings: Settings, log_dir: Path) -> None:
    tasks = await ServiceRuntime.start("tasks", settings, TASKS_MIGRATIONS)
    notify = await ServiceRuntime.start("notify", settings, NOTIFY_MIGRATIONS)
    try:
        await seed_recipient(notify)
        with running(settings, args.via, log_dir) as group:
            async with subscriber(listen_plan(settings, args.via)) as listener:
                await warm_up(tasks, listener)
                processes = {**pids(group), "bench (producer)": os.getpid()}
                cpu_before, started = cpu_of(processes), time.monotonic()
                produced = await produce(tasks, args.rate, args.seconds)
                await listener.wait_for(list(produced.commits), 30)
                cpu_after, elapsed = cpu_of(processes), time.monotonic() - started
        print_report(await timeline(settings, tasks, notify, produced, listener.received), args)
        if args.cpu:
            for name in processes:
                used = cpu_after.get(name, 0.0) - cpu_before.get(name, 0.0)
                print(f"  CPU {name:18} {used:6.1f} s ({used * 100 / elapsed:5.1f}% of a core)")
    finally:
        await tasks.close()
        await notify.close()


async def backend_pids(settings: Settings) -> list[int]:
    """The PostgreSQL server processes serving connections to the bench databases."""
    assert settings.database_url
    conn = await asyncpg.connect(settings.database_url)
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname LIKE $1 AND pid <> pg_backend_pid()",
            f"{settings.database_prefix}%",
        )
    finally:
        await conn.close()
    return [r["pid"] for r in rows]


async def measure_idle_relay(args: argparse.Namespace, settings: Settings, log_dir: Path) -> None:
    """The relay of all four services with nothing to send: its CPU, its PostgreSQL backends'
    CPU and Redis commands per second."""
    for service in SERVICE_NAMES:  # created and migrated, as the subgraphs would
        runtime = await ServiceRuntime.start(service, settings, service_migrations(service))
        await runtime.close()
    group = process_group(settings, log_dir)
    relay = ProcessSpec("relay", [sys.executable, "-m", "shared.events.relay", *SERVICE_NAMES])
    assert settings.redis_url
    redis = Redis.from_url(settings.redis_url)
    try:
        group.start(relay)
        await asyncio.sleep(5)  # connected, first batches and the hourly prune done
        processes = {"relay": group.running["relay"][1].pid}
        processes |= {f"postgres {pid}": pid for pid in await backend_pids(settings)}
        cpu0, ops0, t0 = cpu_of(processes), await redis_commands(redis), time.monotonic()
        await asyncio.sleep(args.idle)
        cpu1, ops1, t1 = cpu_of(processes), await redis_commands(redis), time.monotonic()
    finally:
        group.stop()
        await redis.aclose()
    elapsed = t1 - t0
    relay_cpu = cpu1["relay"] - cpu0["relay"]
    backends = sum(cpu1[n] - cpu0.get(n, cpu1[n]) for n in cpu1 if n != "relay")
    where = "private server" if args.embedded else "whole shared server"
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"idle relay of {len(SERVICE_NAMES)} databases ({', '.join(args.set) or 'defaults'}):"
        f" relay CPU {relay_cpu * 100 / elapsed:.2f}% of a core, its PostgreSQL backends"
        f" {backends * 100 / elapsed:.2f}%, Redis {(ops1 - ops0 - 1) / elapsed:.1f}"
        f" commands/s ({where}) over {elapsed:.0f} s (load average {load})"
    )


def service_migrations(service: str) -> list[Path]:
    migrations: list[Path] = importlib.import_module(f"services.{service}.app").MIGRATIONS
    return migrations


async def run(args: argparse.Namespace, database_url: str, redis_url: str) -> None:
    settings = bench_settings(database_url, redis_url, parse_overrides(args.set))
    await drop_state(settings)
    log_dir = Path(tempfile.mkdtemp(prefix="liaison-bench-events-"))
    try:
        if args.idle:
            await measure_idle_relay(args, settings, log_dir)
        else:
            await measure(args, settings, log_dir)
    except BaseException:
        print(f"process logs kept in {log_dir}", file=sys.stderr)
        raise
    else:
        shutil.rmtree(log_dir, ignore_errors=True)
    finally:
        await drop_state(settings)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=200.0, help="events a second (200)")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long to write (30)")
    parser.add_argument("--via", choices=("subgraph", "gateway"), default="subgraph")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--cpu", action="store_true", help="each process's CPU over the run")
    parser.add_argument(
        "--idle", type=float, default=0, help="measure the idle relay for SECONDS instead"
    )
    parser.add_argument(
        "--embedded", action="store_true", help="private PostgreSQL and Redis servers"
    )
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
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
