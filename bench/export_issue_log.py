"""Time the issue log download (``GET /files/issues.xlsx`` and ``.csv``) of 10,000 issues
through the issues subgraph's HTTP route, and how much memory Python allocates at its peak.

The subgraph runs in process (ASGI, real PostgreSQL and Redis from ``LIAISON_DATABASE_URL``
and ``LIAISON_REDIS_URL``) on a scratch database ``<prefix>issues`` (default prefix
``liaison_bench_export_``), bulk-loaded with ``INSERT ... SELECT generate_series``: issues
with both SLA clocks and an acknowledged step each. The database is dropped at the end.

    .venv/bin/python -m bench.export_issue_log
    .venv/bin/python -m bench.export_issue_log --rows 2000 20000   # is memory flat in size?
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from pathlib import Path

from shared.settings import Settings
from tests.support import Caller, RuntimeCache, SubgraphClient, drop_test_state, reset_service

PMO = Caller("bench-pmo", roles=("PMO",))

LOAD = [
    """INSERT INTO request_replicas (id, code, title, status, lead_department_id,
                                     participant_department_ids)
       SELECT 'r' || k, 'CR-B-' || k, 'Request ' || k, 'ACTIVE', 'mkt', ARRAY['rd']
         FROM generate_series(1, greatest($1::int / 20, 1)) k""",
    """INSERT INTO issues (id, code, request_id, title, description, impact, severity, urgent,
                           status, reporter_id, lead_department_id, responsible_department_id,
                           created_at, updated_at)
       SELECT lpad(g::text, 12, '0'), 'ISS-B-' || g, 'r' || (1 + g % greatest($1::int / 20, 1)),
              '货物在海关滞留 ' || g, 'Units held at customs, batch ' || g, 'launch may slip',
              'HIGH', g % 30 = 0, 'ACKNOWLEDGED', 'li', 'mkt', 'rd',
              now() - (g || ' minutes')::interval, now()
         FROM generate_series(1, $1::int) g""",
    """INSERT INTO sla_clocks (id, issue_id, metric, target_minutes, started_at, due_at, state,
                               calendar, segment_started_at, met_at, elapsed_minutes,
                               warn_at_percents)
       SELECT i.id || m.metric, i.id, m.metric, 120, i.created_at,
              i.created_at + interval '2 hours', 'MET', 'AROUND_THE_CLOCK', i.created_at,
              i.created_at + interval '1 hour', 60, ARRAY[50, 75]
         FROM issues i CROSS JOIN (VALUES ('RESPONSE'), ('PLAN')) m(metric)""",
    """INSERT INTO issue_timeline (issue_id, at, actor_id, action, note)
       SELECT id, created_at + interval '1 hour', 'li', 'ACKNOWLEDGED', '' FROM issues""",
]


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def _reset_peak() -> None:
    """Bring the peak RSS (VmHWM) down to the RSS now."""
    Path("/proc/self/clear_refs").write_text("5")


async def measure(api: SubgraphClient, fmt: str) -> tuple[float, int, int]:
    """Seconds, bytes downloaded and how far the process's peak RSS rose above its RSS
    before the download (tracemalloc would slow openpyxl several times over)."""
    headers = await api.headers(PMO)
    _reset_peak()
    before = _status_kb("VmRSS")
    started = time.perf_counter()
    response = await api.http.get(f"/files/issues.{fmt}", headers=headers)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.text
    return elapsed, len(response.content), (_status_kb("VmHWM") - before) * 1024


async def run(rows: int, settings: Settings) -> None:
    runtimes = RuntimeCache(settings)
    try:
        runtime = await runtimes.get("issues")
        await reset_service(runtime)
        for statement in LOAD:
            await runtime.pool.execute(statement, *([rows] if "$1" in statement else []))
        await runtime.pool.execute("VACUUM ANALYZE")
        async with SubgraphClient.open("issues", runtime) as api:
            await measure(api, "csv")  # warm-up: connections, prepared statements
            for fmt in ("xlsx", "csv"):
                seconds, size, peak = await measure(api, fmt)
                print(
                    f"{rows:>7,} rows  {fmt:<4}  {seconds:6.2f} s  {size / 2**20:6.1f} MB file"
                    f"  peak RSS growth {peak / 2**20:6.1f} MB",
                    flush=True,
                )
    finally:
        await runtimes.close()


async def main(args: argparse.Namespace) -> None:
    settings = Settings(
        database_url=os.environ["LIAISON_DATABASE_URL"],
        redis_url=os.environ["LIAISON_REDIS_URL"],
        database_prefix=args.prefix,
        redis_prefix=args.prefix.rstrip("_"),
    )
    try:
        for rows in args.rows:
            await run(rows, settings)
    finally:
        await drop_test_state(settings, ["issues"])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000])
    parser.add_argument("--prefix", default="liaison_bench_export_")
    asyncio.run(main(parser.parse_args()))
