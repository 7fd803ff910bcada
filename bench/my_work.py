"""Time ``myWork`` and ``myWorkSummary`` at the notify subgraph with many open items.

A scratch notify database (``liaison_bench_my_work_notify``) gets ``--items`` open items for
one person (``--mine``: split between their own, their department's and, as its head, their
department's approvals; some overdue, some at risk, some with no due time) and as many more
for everyone else, bulk-loaded with ``generate_series`` and analysed. The notify app then
answers through its real HTTP stack in this process (httpx's ASGI transport: the whole
Starlette + Strawberry path and the authority lookup, no socket), sequentially, after a
warm-up; the same pages' SQL alone is timed too.

    .venv/bin/python -m bench.my_work                      # 10,000 items for the caller
    .venv/bin/python -m bench.my_work --mine 1000 --others 200000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
from asgi_lifespan import LifespanManager

from services.notify.schema import create_schema
from services.notify.work import repository as repo
from shared.app import create_app
from shared.auth import GATEWAY_SECRET_HEADER, issue_token
from shared.replicas import REPLICA_MIGRATIONS
from shared.runtime import ServiceRuntime
from shared.settings import Settings, get_settings

MIGRATIONS = [REPLICA_MIGRATIONS, Path(__file__).parent.parent / "services/notify/migrations"]
ME, MY_DEPARTMENT = "bench-me", "bench-dep"

MY_WORK = """
query($after: String) { myWork(first: 20, after: $after) { totalCount
  pageInfo { hasNextPage endCursor }
  edges { node { id kind role title targetId request { id } dueAt state slaState urgent } } } }
"""
MY_WORK_PAGE = """
query($after: String) { myWork(first: 20, after: $after) {
  pageInfo { hasNextPage endCursor }
  edges { node { id kind role title targetId request { id } dueAt state slaState urgent } } } }
"""
SUMMARY = "{ myWorkSummary { total overdue atRisk byKind { kind count overdue atRisk } } }"

# n is the row number; a third of the caller's items each way, due times spread over two
# weeks around now (a sixth overdue), every tenth without a due time.
LOAD = """
INSERT INTO work_sources (source, changed_at)
SELECT 'TASK:' || n, now() FROM generate_series(1, $1::int + $2::int) n;
"""
LOAD_ITEMS = """
INSERT INTO work_items (source, key, kind, role, title, target, target_id, request_id,
    person_id, department_id, heads_only, due_at, at_risk_at, has_clock, urgency, since)
SELECT 'TASK:' || n, 'k', CASE WHEN n % 3 = 2 THEN 'APPROVE_SECONDMENT' ELSE 'DO_TASK' END,
       'RESPONSIBLE', 'Item ' || n, 'TASK', 't' || n, 'r' || (n % 500),
       CASE WHEN n > $1 THEN 'p' || (n % 5000) WHEN n % 3 = 0 THEN $3::text END,
       CASE WHEN n <= $1 AND n % 3 <> 0 THEN $4::text END,
       n <= $1 AND n % 3 = 2,
       CASE WHEN n % 10 = 0 THEN NULL
            ELSE now() + ((n % 1000) - 170) * interval '20 minutes' END,
       CASE WHEN n % 10 = 0 THEN NULL
            ELSE now() + ((n % 1000) - 200) * interval '20 minutes' END,
       n % 7 = 0, (n % 4)::smallint, now()
  FROM generate_series(1, $1::int + $2::int) n
"""


async def load(runtime: ServiceRuntime, mine: int, others: int) -> None:
    async with runtime.pool.acquire() as conn:
        await conn.execute("TRUNCATE work_sources, work_items")
        await conn.execute(LOAD, mine, others)
        await conn.execute(LOAD_ITEMS, mine, others, ME, MY_DEPARTMENT)
        await conn.execute(
            "INSERT INTO department_replicas (id, code, name, region_id, head_id)"
            " VALUES ($1, 'BENCH', 'Bench', 'hq', $2) ON CONFLICT (id) DO NOTHING",
            MY_DEPARTMENT,
            ME,
        )
        await conn.execute(
            "INSERT INTO person_replicas (id, name, email, department_id, region_id, time_zone)"
            " VALUES ($1, 'Bench', 'bench@example.com', $2, 'hq', 'Asia/Shanghai')"
            " ON CONFLICT (id) DO NOTHING",
            ME,
            MY_DEPARTMENT,
        )
        await conn.execute("VACUUM ANALYZE work_items")  # as autovacuum would


async def timed(label: str, iterations: int, call: Callable[[], Awaitable[object]]) -> None:
    for _ in range(30):  # warm caches, prepared statements, connections
        await call()
    samples = []
    for _ in range(iterations):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p50 = statistics.median(samples)
    p99 = samples[int(len(samples) * 0.99) - 1]
    print(f"{label:<44} p50 {p50:7.2f} ms   p99 {p99:7.2f} ms")


async def main(args: argparse.Namespace) -> None:
    base = get_settings()
    settings = Settings(
        **{**base.model_dump(), "database_prefix": "liaison_bench_my_work_"}  # scratch
    )
    runtime = await ServiceRuntime.start("notify", settings, MIGRATIONS)
    try:
        await load(runtime, args.mine, args.others)
        await run(runtime, settings, args)
    finally:
        await runtime.close()


async def run(runtime: ServiceRuntime, settings: Settings, args: argparse.Namespace) -> None:
    app = create_app("notify", create_schema, MIGRATIONS, settings=settings, runtime=runtime)
    headers = {
        GATEWAY_SECRET_HEADER: settings.gateway_secret,
        "authorization": f"Bearer {issue_token(settings, ME)}",
    }
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:

            async def post(query: str, variables: dict[str, object] | None = None) -> object:
                body = {"query": query, "variables": variables or {}}
                answer = (await http.post("/graphql", json=body, headers=headers)).json()
                assert "errors" not in answer, answer
                return answer["data"]

            first = await post(MY_WORK)
            total = first["myWork"]["totalCount"]  # type: ignore[index]
            cursor = first["myWork"]["pageInfo"]["endCursor"]  # type: ignore[index]
            print(f"{total} items for the caller, {args.others} for others")
            await timed(
                "myWork, first page, with totalCount", args.iterations, lambda: post(MY_WORK)
            )
            await timed("myWork, first page", args.iterations, lambda: post(MY_WORK_PAGE))
            await timed(
                "myWork, second page",
                args.iterations,
                lambda: post(MY_WORK_PAGE, {"after": cursor}),
            )
            await timed("myWorkSummary", args.iterations, lambda: post(SUMMARY))

    async with runtime.pool.acquire() as conn:
        now = datetime.now(UTC)
        departments = (MY_DEPARTMENT,)
        await timed(
            "SQL only: the first page",
            args.iterations,
            lambda: repo.page_of(conn, ME, departments, now=now, kinds=None, after=None, limit=21),
        )
        await timed(
            "SQL only: the count",
            args.iterations,
            lambda: repo.count_of(conn, ME, departments, now=now, kinds=None),
        )
        await timed(
            "SQL only: the summary",
            args.iterations,
            lambda: repo.summary_of(conn, ME, departments, now=now),
        )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mine", type=int, default=10_000, help="open items of the caller")
    parser.add_argument("--others", type=int, default=100_000, help="items of other people")
    parser.add_argument("--iterations", type=int, default=300)
    return parser.parse_args()


if __name__ == "__main__":
    os.environ.setdefault("LIAISON_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    asyncio.run(main(parse_args()))
