"""Throughput under load: plain asyncpg + orjson, a subgraph, and the gateway.

Against a running system (``./liaison run``; start it with the gateway's per-caller rate
limit raised, see bench/README.md), for three workloads:

* ``page``: ``bench.requests_page``'s 50-row page of requests;
* ``dashboard``: one request with its tasks, their RACI people and departments, and its
  issues: three subgraphs, through the gateway only. ``tasks`` and ``issues`` are asked for
  as connections, or as plain lists where the running schema still has those (the run
  prints which shape it used);
* ``entities``: a batch of ``CollabRequest`` representations sent to the tasks subgraph as
  the gateway sends them, for their tasks: a subgraph only.

each answered by up to three targets: (a) ``plain``, a small Starlette + asyncpg + orjson
server (``bench.plain_server``, started here) running the same SQL and answering a body of
the same size; (b) ``subgraph``, the subgraph directly; (c) ``gateway``. ``--gateway
NAME=URL`` adds another gateway (c', e.g. one with another query planner).

Rounds interleave the targets (a, b, c, a, b, c, ...); the table has each target's median
over the rounds of requests per second, p50 and p99. The load comes from ``wrk`` when it is
installed (one thread, a Lua script for the POST body and headers), else from an asyncio
httpx client with as many requests in flight as ``--connections``. With two CPUs or more,
the load generator (this process and its children) runs on ``--load-cpus`` and the
servers (subgraphs, gateways, the plain server, found by their listening ports) on
``--server-cpus`` for the run; their previous affinity is restored afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import functools
import itertools
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import orjson

from bench.requests_page import PAGE_QUERY, ensure_rows
from devstack.stack import gateway_url, subgraph_url
from services import SERVICE_NAMES
from shared.auth import GATEWAY_SECRET_HEADER, issue_token
from shared.settings import Settings, get_settings

CONNECTION = "connection"
LIST = "list"
"""The two shapes of a child list such as ``CollabRequest.tasks``: a Relay connection
(``tasks(first:, after:) { edges { node } pageInfo totalCount }``) or the older plain list."""

SHAPES = (CONNECTION, LIST)

CHILD_PAGE = 50
"""How many items the connection shape asks for (``tasks(first: 50)``)."""

DASHBOARD_TASK = """
fragment DashboardTask on Task {
  id title status progress dueAt
  raci { role person { id name department { id name } } department { id name } }
}
"""

DASHBOARD_ISSUE = (
    "id code title severity status owner { id name } responsibleDepartment { id name }"
)

DASHBOARD = """
query Dashboard($id: ID!%(signature)s) {
  request(id: $id) {
    id code title status phase
    leadDepartment { id name }
    %(tasks)s
    %(issues)s
  }
}
"""

ENTITIES = """
query Entities($representations: [_Any!]!%(signature)s) {
  _entities(representations: $representations) {
    __typename
    ... on CollabRequest { id %(tasks)s }
  }
}
"""

ENTITY_TASK = "id title status dueAt raci { role person { id } department { id } }"

TOP_TASKS_SQL = """
SELECT request_id FROM tasks GROUP BY request_id ORDER BY count(*) DESC, request_id LIMIT $1
"""
NEWEST_REQUESTS_SQL = "SELECT id FROM collab_requests ORDER BY id DESC LIMIT $1"

WRK_SCRIPT = """
local file = assert(io.open([==[%(body)s]==], "rb"))
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
%(headers)s
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "\\nRESULT %%d %%d %%d %%d %%d %%d\\n", summary.requests, summary.duration,
    math.floor(latency:percentile(50)), math.floor(latency:percentile(99)),
    e.status, e.connect + e.read + e.write + e.timeout))
end
"""

Shape = TypeVar("Shape")

PLAIN = "plain"
SUBGRAPH = "subgraph"
GATEWAY = "gateway"
LABELS = {PLAIN: "a", SUBGRAPH: "b", GATEWAY: "c"}


@dataclass(frozen=True)
class Call:
    """One HTTP POST that a target answers again and again."""

    url: str
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class Sample:
    """What one round of load on one call measured."""

    rps: float
    p50_ms: float
    p99_ms: float
    failures: int
    """Answers that were not 2xx, and connect/read/write errors and timeouts."""


@dataclass
class Workload:
    """One workload: its call per target, the answer's size per target, the samples."""

    name: str
    calls: dict[str, Call] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    samples: dict[str, list[Sample]] = field(default_factory=dict)
    note: str = ""


@dataclass(frozen=True)
class Options:
    duration: float
    warmup: float
    connections: int
    rounds: int
    rows: int
    plain_port: int
    gateways: dict[str, str]
    load_cpus: set[int] | None
    server_cpus: set[int] | None
    tool: str


# --- the workloads' GraphQL calls --------------------------------------------------------


def graphql_call(url: str, query: str, variables: dict[str, Any], headers: dict[str, str]) -> Call:
    body = orjson.dumps({"query": query, "variables": variables})
    return Call(url, body, {"content-type": "application/json", **headers})


def child(shape: str, name: str, selection: str) -> str:
    """The selection of the child list ``name`` in ``shape``."""
    if shape == LIST:
        return f"{name} {{ {selection} }}"
    page = "totalCount pageInfo { hasNextPage endCursor }"
    return f"{name}(first: $first) {{ {page} edges {{ node {{ {selection} }} }} }}"


def page_arguments(shapes: Sequence[str]) -> tuple[str, dict[str, int]]:
    """The operation's ``$first`` and its value, when one of the children is a connection."""
    if CONNECTION in shapes:
        return ", $first: Int!", {"first": CHILD_PAGE}
    return "", {}


def dashboard_call(
    shapes: tuple[str, str], url: str, request_id: str, headers: dict[str, str]
) -> Call:
    """The dashboard query, with ``tasks`` and ``issues`` in the ``shapes`` given."""
    signature, variables = page_arguments(shapes)
    query = DASHBOARD % {
        "signature": signature,
        "tasks": child(shapes[0], "tasks", "...DashboardTask"),
        "issues": child(shapes[1], "issues", DASHBOARD_ISSUE),
    }
    return graphql_call(url, query + DASHBOARD_TASK, {"id": request_id, **variables}, headers)


def entities_call(
    shape: str, url: str, request_ids: Sequence[str], headers: dict[str, str]
) -> Call:
    """An ``_entities`` batch of ``CollabRequest`` representations, for their tasks."""
    signature, variables = page_arguments([shape])
    query = ENTITIES % {"signature": signature, "tasks": child(shape, "tasks", ENTITY_TASK)}
    representations = [{"__typename": "CollabRequest", "id": i} for i in request_ids]
    return graphql_call(url, query, {"representations": representations, **variables}, headers)


def plain_call(port: int, workload: str, variables: dict[str, Any], size: int) -> Call:
    """The plain server's route for ``workload``, padding its answer to ``size`` bytes."""
    body = orjson.dumps({"variables": variables, "size": size})
    return Call(f"http://127.0.0.1:{port}/{workload}", body, {"content-type": "application/json"})


async def answer(http: httpx.AsyncClient, call: Call) -> bytes | str:
    """The answer's bytes when it is a 200 with data and no errors, else what went wrong."""
    response = await http.post(call.url, content=call.body, headers=call.headers)
    try:
        document = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        document = {}
    if response.status_code != 200 or document.get("errors") or not document.get("data"):
        return f"{response.status_code} {response.text[:400]}"
    return response.content


async def checked(http: httpx.AsyncClient, call: Call) -> int:
    """The size of the call's answer; stop the benchmark if it fails."""
    result = await answer(http, call)
    if isinstance(result, str):
        raise SystemExit(f"{call.url} did not answer the benchmark's query: {result}")
    return len(result)


async def pick_shape(
    http: httpx.AsyncClient, build: Callable[[Shape], Call], shapes: Sequence[Shape]
) -> tuple[Shape, Call]:
    """The first of ``shapes`` whose call the server answers with data (the connection
    shapes come first), and that call."""
    failures = []
    for shape in shapes:
        call = build(shape)
        result = await answer(http, call)
        if not isinstance(result, str):
            return shape, call
        failures.append(f"{shape}: {result}")
    raise SystemExit(f"{call.url} answered no shape of the query:\n" + "\n".join(failures))


# --- setting up ---------------------------------------------------------------------------


async def fetch_ids(settings: Settings, rows: int) -> tuple[str, list[str]]:
    """The request with the most tasks (the dashboard's), and ``rows`` request ids for the
    entity batch: those with tasks first, then the newest."""
    tasks_db = await asyncpg.connect(settings.service_database_url("tasks"))
    requests_db = await asyncpg.connect(settings.service_database_url("requests"))
    try:
        with_tasks = [r[0] for r in await tasks_db.fetch(TOP_TASKS_SQL, rows)]
        newest = [r[0] for r in await requests_db.fetch(NEWEST_REQUESTS_SQL, rows)]
    finally:
        await tasks_db.close()
        await requests_db.close()
    if not with_tasks:
        raise SystemExit("no request has tasks: load the demo data (./liaison run does)")
    return with_tasks[0], list(dict.fromkeys(with_tasks + newest))[:rows]


@dataclass(frozen=True)
class Setup:
    """What the workloads' calls are made of."""

    settings: Settings
    rows: int
    request_id: str
    """The dashboard's request."""
    batch: list[str]
    """The requests of the entity batch."""
    gateways: dict[str, str]
    """Every gateway's URL by target name: ``gateway`` and the extra ones."""
    subgraph_headers: dict[str, str]
    client_headers: dict[str, str]


async def make_setup(http: httpx.AsyncClient, settings: Settings, options: Options) -> Setup:
    """Enough requests for the page, the ids to ask for, the headers to send."""
    await ensure_rows(http, gateway_url(settings), issue_token(settings, "li-mkt"), options.rows)
    request_id, batch = await fetch_ids(settings, options.rows)
    client = {"authorization": f"Bearer {issue_token(settings, 'zhou-pmo')}"}
    return Setup(
        settings=settings,
        rows=options.rows,
        request_id=request_id,
        batch=batch,
        gateways={GATEWAY: gateway_url(settings), **options.gateways},
        subgraph_headers={**client, GATEWAY_SECRET_HEADER: settings.gateway_secret},
        client_headers=client,
    )


def page_workload(setup: Setup) -> Workload:
    """The page of requests from the requests subgraph and from every gateway."""
    variables = {"first": setup.rows}
    page = Workload("page")
    url = subgraph_url(setup.settings, "requests")
    page.calls[SUBGRAPH] = graphql_call(url, PAGE_QUERY, variables, setup.subgraph_headers)
    for name, url in setup.gateways.items():
        page.calls[name] = graphql_call(url, PAGE_QUERY, variables, setup.client_headers)
    return page


async def dashboard_workload(http: httpx.AsyncClient, setup: Setup) -> Workload:
    """The dashboard from every gateway, with tasks and issues in the shapes it answers."""
    dashboard = Workload("dashboard")
    shapes = []
    for name, url in setup.gateways.items():
        build = functools.partial(
            dashboard_call, url=url, request_id=setup.request_id, headers=setup.client_headers
        )
        (tasks, issues), dashboard.calls[name] = await pick_shape(
            http, build, list(itertools.product(SHAPES, SHAPES))
        )
        shapes.append(f"at {name} tasks as a {tasks}, issues as a {issues}")
    dashboard.note = f"request {setup.request_id}; " + "; ".join(shapes)
    return dashboard


async def entities_workload(http: httpx.AsyncClient, setup: Setup) -> Workload:
    """The entity batch to the tasks subgraph, in the shape of tasks it answers."""
    entities = Workload("entities")
    build = functools.partial(
        entities_call,
        url=subgraph_url(setup.settings, "tasks"),
        request_ids=setup.batch,
        headers=setup.subgraph_headers,
    )
    shape, entities.calls[SUBGRAPH] = await pick_shape(http, build, SHAPES)
    entities.note = f"{len(setup.batch)} CollabRequest representations to tasks, tasks as a {shape}"
    return entities


async def build_workloads(
    http: httpx.AsyncClient, settings: Settings, options: Options
) -> list[Workload]:
    """The three workloads' calls, each GraphQL one checked once, with its answer's size."""
    setup = await make_setup(http, settings, options)
    workloads = [
        page_workload(setup),
        await dashboard_workload(http, setup),
        await entities_workload(http, setup),
    ]
    for workload in workloads:
        for target, call in workload.calls.items():
            workload.sizes[target] = await checked(http, call)
    add_plain_calls(workloads, options.plain_port, setup)
    return workloads


def add_plain_calls(workloads: Sequence[Workload], port: int, setup: Setup) -> None:
    """The plain server's call for each workload, as large as the subgraph's answer (or the
    gateway's, where no subgraph answers the workload alone)."""
    variables: dict[str, dict[str, Any]] = {
        "page": {"first": setup.rows},
        "dashboard": {"id": setup.request_id},
        "entities": {"ids": setup.batch},
    }
    for workload in workloads:
        size = workload.sizes.get(SUBGRAPH) or workload.sizes[GATEWAY]
        workload.calls = {
            PLAIN: plain_call(port, workload.name, variables[workload.name], size),
            **workload.calls,
        }


# --- the plain server and CPU affinity ----------------------------------------------------


@contextlib.contextmanager
def plain_server(port: int, cpus: set[int] | None) -> Iterator[subprocess.Popen[bytes]]:
    """``bench.plain_server`` on ``port`` (on ``cpus``), until the block ends."""
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.plain_server", "--port", str(port)],
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        if cpus:
            pin(server.pid, cpus)
        wait_ready(f"http://127.0.0.1:{port}/readyz", server)
        yield server
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def wait_ready(url: str, server: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"bench.plain_server exited with {server.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.2)
    raise SystemExit(f"bench.plain_server not ready after {timeout:.0f} s")


def listening_pids(port: int) -> set[int]:
    """The processes listening on TCP ``port`` on this machine (from ``ss``)."""
    if shutil.which("ss") is None:
        return set()
    listing = subprocess.run(
        ["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True, check=False
    ).stdout
    return {int(pid) for pid in re.findall(r"pid=(\d+)", listing)}


def pin(pid: int, cpus: set[int]) -> set[int]:
    """Move every thread of ``pid`` to ``cpus`` (as ``taskset -a -p``); its former CPUs."""
    before = os.sched_getaffinity(pid)
    for tid in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(OSError):  # a thread that ended meanwhile
            os.sched_setaffinity(int(tid), cpus)
    return before


@contextlib.contextmanager
def servers_pinned(ports: Sequence[int], cpus: set[int] | None) -> Iterator[list[int]]:
    """The processes listening on ``ports`` on ``cpus`` until the block ends."""
    pids = sorted({pid for port in ports for pid in listening_pids(port)})
    before = {pid: pin(pid, cpus) for pid in pids} if cpus else {}
    try:
        yield pids
    finally:
        for pid, cpus_before in before.items():
            with contextlib.suppress(OSError):
                pin(pid, cpus_before)


def default_cpus() -> tuple[set[int] | None, set[int] | None]:
    """The last CPU for the load generator and the others for the servers, when there are
    two or more."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None, None
    return {cpus[-1]}, set(cpus[:-1])


# --- load generators ----------------------------------------------------------------------


def lua_headers(headers: dict[str, str]) -> str:
    return "\n".join(f'wrk.headers["{name}"] = [==[{value}]==]' for name, value in headers.items())


async def wrk_load(call: Call, seconds: float, connections: int, scratch: Path) -> Sample:
    """One run of ``wrk`` (one thread) posting ``call``."""
    body = scratch / "body.json"
    body.write_bytes(call.body)
    script = scratch / "post.lua"
    script.write_text(WRK_SCRIPT % {"body": body, "headers": lua_headers(call.headers)})
    process = await asyncio.create_subprocess_exec(
        *("wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "30s"),
        *("-s", str(script), call.url),
        stdout=asyncio.subprocess.PIPE,
    )
    output, _ = await process.communicate()
    match = re.search(rb"^RESULT (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)$", output, re.MULTILINE)
    if match is None:
        raise SystemExit(f"wrk printed no result:\n{output.decode(errors='replace')}")
    requests, duration_us, p50_us, p99_us, non2xx, errors = map(int, match.groups())
    return Sample(requests / (duration_us / 1e6), p50_us / 1000, p99_us / 1000, non2xx + errors)


async def httpx_load(call: Call, seconds: float, connections: int, scratch: Path) -> Sample:
    """``connections`` asyncio loops posting ``call`` on one httpx client for ``seconds``."""
    latencies: list[float] = []
    failures = 0
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(limits=limits, timeout=30) as http:
        started = time.perf_counter()
        deadline = started + seconds

        async def loop() -> None:
            nonlocal failures
            while (sent := time.perf_counter()) < deadline:
                try:
                    response = await http.post(call.url, content=call.body, headers=call.headers)
                    failures += response.status_code >= 300
                except httpx.HTTPError:
                    failures += 1
                latencies.append(time.perf_counter() - sent)

        await asyncio.gather(*(loop() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    p50, p99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
    return Sample(len(latencies) / elapsed, p50 * 1000, p99 * 1000, failures)


def percentile(ordered: Sequence[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] if ordered else 0.0


LoadGenerator = Callable[[Call, float, int, Path], Awaitable[Sample]]
LOAD_GENERATORS: dict[str, LoadGenerator] = {"wrk": wrk_load, "httpx": httpx_load}


# --- the run ------------------------------------------------------------------------------


async def warm_up(workloads: Sequence[Workload], options: Options, scratch: Path) -> None:
    """A short run of every call; stop if a target refuses requests under load (the
    gateway's rate limit, most likely)."""
    load = LOAD_GENERATORS[options.tool]
    for workload in workloads:
        for target, call in workload.calls.items():
            sample = await load(call, options.warmup, options.connections, scratch)
            if sample.failures:
                raise SystemExit(warm_up_failure(workload.name, target, sample.failures))


def warm_up_failure(workload: str, target: str, failures: int) -> str:
    hint = (
        "the gateway's per-caller rate limit? Start the system with "
        "LIAISON_GATEWAY_RATE_LIMIT_PER_MINUTE=6000000 LIAISON_GATEWAY_RATE_LIMIT_BURST=1000000 "
        "(bench/README.md)"
        if target not in (PLAIN, SUBGRAPH)
        else "see the server's log (PostgreSQL out of connections, a crash?)"
    )
    return f"{target} failed {failures} of the {workload} requests while warming up: {hint}"


async def run_rounds(workloads: Sequence[Workload], options: Options, scratch: Path) -> None:
    """``options.rounds`` rounds; each runs every workload's targets in turn."""
    load = LOAD_GENERATORS[options.tool]
    for round_number in range(1, options.rounds + 1):
        for workload in workloads:
            for target, call in workload.calls.items():
                sample = await load(call, options.duration, options.connections, scratch)
                workload.samples.setdefault(target, []).append(sample)
                print(f"  round {round_number} {workload.name:<9} {target:<9} {describe(sample)}")


def describe(sample: Sample) -> str:
    failed = f"  {sample.failures} failed" if sample.failures else ""
    return (
        f"{sample.rps:8.0f} rps  p50 {sample.p50_ms:7.2f} ms  p99 {sample.p99_ms:7.2f} ms{failed}"
    )


async def recheck(workloads: Sequence[Workload]) -> list[str]:
    """Each call once more after the rounds: a GraphQL error is a 200 that wrk counts as a
    success, so an answer that changed size says the run measured something else."""
    changed = []
    async with httpx.AsyncClient(timeout=30) as http:
        for workload in workloads:
            for target, call in workload.calls.items():
                size = await checked(http, call)
                if size != workload.sizes[target]:
                    changed.append(
                        f"warning: {workload.name} at {target} answered {size} bytes after the "
                        f"rounds, {workload.sizes[target]} before"
                    )
    return changed


def labels(gateways: Sequence[str]) -> dict[str, str]:
    """Letters of the targets: a, b, c, then c', c'', ... for the extra gateways."""
    return {**LABELS, **{name: "c" + "'" * n for n, name in enumerate(gateways, start=1)}}


def medians(samples: Sequence[Sample]) -> Sample:
    return Sample(
        statistics.median(s.rps for s in samples),
        statistics.median(s.p50_ms for s in samples),
        statistics.median(s.p99_ms for s in samples),
        sum(s.failures for s in samples),
    )


def rps_range(samples: Sequence[Sample]) -> tuple[float, float]:
    """The lowest and the highest rate of the rounds."""
    rates = [s.rps for s in samples]
    return min(rates), max(rates)


def comparisons(targets: Sequence[str]) -> list[tuple[str, str]]:
    """The (numerator, denominator) pairs of the ratios: b/a, c/b (c/a without b), and each
    extra gateway over c."""
    pairs = []
    if SUBGRAPH in targets and PLAIN in targets:
        pairs.append((SUBGRAPH, PLAIN))
    if GATEWAY in targets:
        pairs.append((GATEWAY, SUBGRAPH if SUBGRAPH in targets else PLAIN))
        pairs += [(t, GATEWAY) for t in targets if t not in LABELS]
    return pairs


def table(workloads: Sequence[Workload], letters: dict[str, str]) -> list[str]:
    """The results as a Markdown table, then one of the ratios between targets."""
    lines = [
        "| workload | target | rps | rps per round | p50 ms | p99 ms | body bytes |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    ratios = ["| workload | ratio | rps | p50 | p99 |", "|---|---|---:|---:|---:|"]
    for workload in workloads:
        results = {target: medians(samples) for target, samples in workload.samples.items()}
        for target, m in results.items():
            failed = f" ({m.failures} failed)" if m.failures else ""
            spread = "–".join(f"{rps:.0f}" for rps in rps_range(workload.samples[target]))
            lines.append(
                f"| {workload.name} | {letters[target]} {target}{failed} | {m.rps:.0f} | "
                f"{spread} | {m.p50_ms:.2f} | {m.p99_ms:.2f} | {workload.sizes.get(target, 0)} |"
            )
        for over, under in comparisons(list(results)):
            a, b = results[over], results[under]
            ratios.append(
                f"| {workload.name} | {letters[over]}/{letters[under]} | {a.rps / b.rps:.2f} | "
                f"{a.p50_ms / b.p50_ms:.2f} | {a.p99_ms / b.p99_ms:.2f} |"
            )
    return [*lines, "", *ratios]


def header(
    options: Options, pids: Sequence[int], workloads: Sequence[Workload], load_before: float
) -> list[str]:
    """When, on what, with which command: the lines above the table."""
    load1, load5, load15 = os.getloadavg()
    pinning = (
        f"load generator on CPU {sorted(options.load_cpus)}, servers (pids "
        f"{', '.join(map(str, pids))}) on CPU {sorted(options.server_cpus)}"
        if options.load_cpus and options.server_cpus
        else "no CPU pinning"
    )
    return [
        f"date: {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}; "
        f"load average {load_before:.2f} at the start, {load1:.2f} {load5:.2f} {load15:.2f} "
        f"at the end; {os.cpu_count()} CPUs",
        f"command: {shlex.join(['.venv/bin/python', '-m', 'bench.throughput', *sys.argv[1:]])}",
        f"{options.tool}: {options.connections} connections, {options.rounds} rounds of "
        f"{options.duration:g} s per target (medians), {pinning}",
        *(f"{w.name}: {w.note}" for w in workloads if w.note),
    ]


async def run(settings: Settings, options: Options) -> None:
    load_before = os.getloadavg()[0]
    async with httpx.AsyncClient(timeout=30) as http:
        workloads = await build_workloads(http, settings, options)
    ports = [settings.service_port(name) for name in SERVICE_NAMES]
    ports += [settings.gateway_port, options.plain_port]
    ports += [httpx.URL(url).port or 80 for url in options.gateways.values()]
    if options.load_cpus:
        os.sched_setaffinity(0, options.load_cpus)  # wrk, a child, inherits it
    with (
        plain_server(options.plain_port, options.server_cpus),
        servers_pinned(ports, options.server_cpus) as pids,
        tempfile.TemporaryDirectory(prefix="bench-throughput-") as scratch,
    ):
        async with httpx.AsyncClient(timeout=30) as http:
            for workload in workloads:
                workload.sizes[PLAIN] = await checked(http, workload.calls[PLAIN])
        await warm_up(workloads, options, Path(scratch))
        await run_rounds(workloads, options, Path(scratch))
        lines = [*header(options, pids, workloads, load_before), *await recheck(workloads)]
    print("\n" + "\n".join([*lines, "", *table(workloads, labels(list(options.gateways)))]))


def cpu_set(text: str) -> set[int]:
    """``0`` or ``0,1`` or ``0-3`` as a set of CPU numbers."""
    cpus: set[int] = set()
    for part in text.split(","):
        low, _, high = part.partition("-")
        cpus.update(range(int(low), int(high or low) + 1))
    return cpus


def gateway_option(text: str) -> tuple[str, str]:
    name, _, url = text.partition("=")
    if not url or name in LABELS:
        raise argparse.ArgumentTypeError(f"NAME=URL with a new name, not {text!r}")
    return name, url


def parse_options(argv: Sequence[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add = parser.add_argument
    add("--duration", type=float, default=10.0, help="seconds of load per round and target")
    add("--warmup", type=float, default=2.0, help="seconds of load per target before rounds")
    add("--connections", type=int, default=8, help="connections (requests in flight)")
    add("--rounds", type=int, default=3)
    add("--rows", type=int, default=50, help="rows of the page, requests in the entity batch")
    add("--plain-port", type=int, default=4090, help="port of bench.plain_server")
    add(
        "--gateway",
        type=gateway_option,
        action="append",
        default=[],
        metavar="NAME=URL",
        help="another gateway to measure (c'), e.g. router=http://127.0.0.1:4100/graphql",
    )
    add("--load-cpus", type=cpu_set, help="CPUs of the load generator (default: the last)")
    add("--server-cpus", type=cpu_set, help="CPUs of the servers (default: the others)")
    add("--no-pin", action="store_true", help="leave every process's CPU affinity alone")
    add("--tool", choices=sorted(LOAD_GENERATORS), help="default: wrk if installed, else httpx")
    args = parser.parse_args(argv)
    load_cpus, server_cpus = (None, None) if args.no_pin else default_cpus()
    return Options(
        duration=args.duration,
        warmup=args.warmup,
        connections=args.connections,
        rounds=args.rounds,
        rows=args.rows,
        plain_port=args.plain_port,
        gateways=dict(args.gateway),
        load_cpus=None if args.no_pin else args.load_cpus or load_cpus,
        server_cpus=None if args.no_pin else args.server_cpus or server_cpus,
        tool=args.tool or ("wrk" if shutil.which("wrk") else "httpx"),
    )


def main() -> None:
    options = parse_options()
    settings = get_settings()
    if settings.database_url is None:
        raise SystemExit("set LIAISON_DATABASE_URL (the URL `./liaison run` uses) to run this")
    asyncio.run(run(settings, options))


if __name__ == "__main__":
    main()
