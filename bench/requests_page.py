"""Time one page of requests: plain asyncpg + orjson, the subgraph, and the gateway."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

import asyncpg
import httpx
import orjson

from devstack.stack import gateway_url, subgraph_url
from services.requests.demo import DEPARTMENTS
from shared.auth import GATEWAY_SECRET_HEADER, issue_token
from shared.settings import Settings, get_settings

PAGE_QUERY = """
query($first: Int!) {
  requests(first: $first) {
    edges { node { id code kind title status phase createdAt updatedAt
                   leadDepartment { id name } goals { metric target unit dueDate } } }
  }
}
"""

CREATE = """
mutation($input: CreateRequestInput!) { createRequest(input: $input) { userErrors { code } } }
"""

SQL = """
SELECT r.id, r.code, r.kind, r.title, r.status, r.phase, r.created_at, r.updated_at,
       d.id AS lead_id, d.name AS lead_name,
       coalesce(json_agg(json_build_object('metric', g.metric, 'target', g.target,
                'unit', g.unit, 'dueDate', g.due_date)) FILTER (WHERE g.id IS NOT NULL), '[]')
         AS goals
  FROM collab_requests r
  JOIN departments d ON d.id = r.lead_department_id
  LEFT JOIN goals g ON g.request_id = r.id
 GROUP BY r.id, d.id
 ORDER BY r.id DESC
 LIMIT $1
"""


async def ensure_rows(http: httpx.AsyncClient, url: str, token: str, rows: int) -> None:
    """Create requests through the gateway until at least ``rows`` exist."""
    headers = {"authorization": f"Bearer {token}"}
    body = {"query": "{ requests(first: 100) { edges { node { id } } } }"}
    existing = len(
        (await http.post(url, json=body, headers=headers)).json()["data"]["requests"]["edges"]
    )
    others = [d[0] for d in DEPARTMENTS if d[0] != "mkt"][:3]
    for n in range(existing, rows):
        request = {
            "kind": "PROJECT",
            "title": f"Benchmark request {n}",
            "leadDepartmentId": "mkt",
            "participantDepartmentIds": others,
            "goals": [{"metric": "sales", "target": "100", "unit": "CNY", "dueDate": "2027-06-30"}],
        }
        await http.post(
            url, json={"query": CREATE, "variables": {"input": request}}, headers=headers
        )


async def timed(label: str, iterations: int, call: Callable[[], Awaitable[int]]) -> float:
    for _ in range(20):  # warm caches and connections
        await call()
    samples = []
    size = 0
    for _ in range(iterations):
        started = time.perf_counter()
        size = await call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    mean = statistics.fmean(samples)
    p95 = samples[int(len(samples) * 0.95) - 1]
    print(
        f"{label:<28} mean {mean:7.2f} ms  p50 {samples[len(samples) // 2]:7.2f} ms  "
        f"p95 {p95:7.2f} ms  ({size} bytes)"
    )
    return mean


async def main(rows: int, iterations: int, settings: Settings) -> None:
    token = issue_token(settings, "zhou-pmo")  # demo people: the PMO and marketing's head
    lead_token = issue_token(settings, "li-mkt")
    variables = {"first": rows}
    async with httpx.AsyncClient(timeout=30) as http:
        await ensure_rows(http, gateway_url(settings), lead_token, rows)
        conn = await asyncpg.connect(settings.service_database_url("requests"))

        async def plain() -> int:
            return len(orjson.dumps([dict(r) for r in await conn.fetch(SQL, rows)], default=str))

        async def subgraph() -> int:
            headers = {
                "authorization": f"Bearer {token}",
                GATEWAY_SECRET_HEADER: settings.gateway_secret,
            }
            response = await http.post(
                subgraph_url(settings, "requests"),
                json={"query": PAGE_QUERY, "variables": variables},
                headers=headers,
            )
            return len(response.content)

        async def gateway() -> int:
            headers = {"authorization": f"Bearer {token}"}
            response = await http.post(
                gateway_url(settings),
                json={"query": PAGE_QUERY, "variables": variables},
                headers=headers,
            )
            return len(response.content)

        print(f"{rows}-row page of requests, {iterations} sequential iterations")
        floor = await timed("asyncpg + orjson", iterations, plain)
        direct = await timed("requests subgraph", iterations, subgraph)
        through = await timed("gateway", iterations, gateway)
        print(f"subgraph / plain = {direct / floor:.1f}x")
        print(f"gateway / subgraph = {through / direct:.2f}x")
        await conn.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=50)
    parser.add_argument("--iterations", type=int, default=200)
    args = parser.parse_args()
    settings = get_settings()
    if settings.database_url is None:
        raise SystemExit("set LIAISON_DATABASE_URL (the URL `./liaison run` uses) to run this")
    asyncio.run(main(args.rows, args.iterations, settings))
