"""The floor of ``bench.throughput``: the benchmark's reads with no GraphQL at all.

A Starlette app on asyncpg pools (as large as a subgraph's, but whose connections are never
closed for being idle, since the benchmark leaves this server idle between its turns) that
answers each workload of the benchmark with plain SQL and orjson:

* ``POST /page``: ``bench.requests_page.SQL``, the 50-row page of requests;
* ``POST /dashboard``: one request, its tasks with their RACI people and departments, and
  its issues, read from the requests, tasks and issues databases as the gateway's plan
  reads them (the request first, tasks and issues at once, then the people and departments);
* ``POST /entities``: the tasks of a batch of requests, as the tasks subgraph resolves a
  batch of ``CollabRequest`` representations.

The body is ``{"variables": {...}, "size": N}``: the answer is padded with spaces inside a
``pad`` string to ``N`` bytes, so that it weighs what the GraphQL answer it stands for weighs.
No permission checks: this is what the SQL and the JSON cost, nothing else.

Run as ``python -m bench.plain_server --port 4090`` (``bench.throughput`` starts it).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.requests_page import SQL as PAGE_SQL
from shared.settings import get_settings

DATABASES = ("requests", "tasks", "issues")
POOL_SIZE = 10
"""Connections per database: a subgraph's pool holds up to 10 (``shared.db.create_pool``)."""

REQUEST_SQL = """
SELECT r.id, r.code, r.title, r.status, r.phase, d.id AS lead_id, d.name AS lead_name
  FROM collab_requests r
  JOIN departments d ON d.id = r.lead_department_id
 WHERE r.id = $1
"""

TASKS_SQL = """
SELECT t.request_id, t.id, t.title, t.status, t.progress, t.due_at,
       coalesce(json_agg(json_build_object('role', a.role, 'person', a.person_id,
                'department', a.department_id) ORDER BY a.position)
                FILTER (WHERE a.task_id IS NOT NULL), '[]') AS raci
  FROM tasks t
  LEFT JOIN raci_assignments a ON a.task_id = t.id
 WHERE t.request_id = ANY($1::text[])
 GROUP BY t.id
 ORDER BY t.request_id, t.created_at, t.id
"""

ISSUES_SQL = """
SELECT id, code, title, severity, status, owner_id, responsible_department_id
  FROM issues
 WHERE request_id = $1
 ORDER BY created_at DESC, id DESC
"""

PEOPLE_SQL = """
SELECT p.id, p.name, d.id AS department_id, d.name AS department_name
  FROM people p
  JOIN departments d ON d.id = p.department_id
 WHERE p.id = ANY($1::text[])
"""

DEPARTMENTS_SQL = "SELECT id, name FROM departments WHERE id = ANY($1::text[])"

Pools = dict[str, asyncpg.Pool]
Handler = Callable[[Pools, dict[str, Any]], Awaitable[Any]]


def padded(data: Any, size: int) -> bytes:
    """``{"data": ..., "pad": "   "}`` as JSON, with as many spaces as make ``size`` bytes
    (none when the data alone is that large). The data is serialised once."""
    head, tail = b'{"data":' + orjson.dumps(data), b'"}'
    pad = b',"pad":"' + b" " * max(0, size - len(head) - len(tail) - 8)
    return head + pad + tail


async def page(pools: Pools, variables: dict[str, Any]) -> Any:
    """The page as rows; ``goals`` is JSON text already, embedded as it is."""
    rows = await pools["requests"].fetch(PAGE_SQL, variables["first"])
    return [{**dict(row), "goals": orjson.Fragment(row["goals"])} for row in rows]


def task_json(row: asyncpg.Record, people: dict[str, Any], departments: dict[str, Any]) -> Any:
    """One task of the dashboard, its RACI entries with their people and departments."""
    raci = [
        {
            "role": entry["role"],
            "person": people.get(entry["person"]),
            "department": departments.get(entry["department"]),
        }
        for entry in orjson.loads(row["raci"])
    ]
    fields = ("id", "title", "status", "progress", "due_at")
    return {**{name: row[name] for name in fields}, "raci": raci}


async def people_and_departments(
    pool: asyncpg.Pool, person_ids: set[str], department_ids: set[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The named people (with their departments) and departments, by id."""
    async with pool.acquire() as conn:
        people = await conn.fetch(PEOPLE_SQL, sorted(person_ids))
        departments = await conn.fetch(DEPARTMENTS_SQL, sorted(department_ids))
    return (
        {
            p["id"]: {
                "id": p["id"],
                "name": p["name"],
                "department": {"id": p["department_id"], "name": p["department_name"]},
            }
            for p in people
        },
        {d["id"]: dict(d) for d in departments},
    )


def referenced_ids(
    tasks: Sequence[asyncpg.Record], issues: Sequence[asyncpg.Record]
) -> tuple[set[str], set[str]]:
    """The people and departments the tasks' RACI entries and the issues name."""
    people = {i["owner_id"] for i in issues if i["owner_id"]}
    departments = {i["responsible_department_id"] for i in issues}
    for task in tasks:
        for entry in orjson.loads(task["raci"]):
            people.update([entry["person"]] if entry["person"] else [])
            departments.update([entry["department"]] if entry["department"] else [])
    return people, departments


async def dashboard(pools: Pools, variables: dict[str, Any]) -> Any:
    """One request with its tasks (RACI people, departments) and its issues."""
    request_id = variables["id"]
    request = await pools["requests"].fetchrow(REQUEST_SQL, request_id)
    tasks, issues = await asyncio.gather(
        pools["tasks"].fetch(TASKS_SQL, [request_id]),
        pools["issues"].fetch(ISSUES_SQL, request_id),
    )
    people, departments = await people_and_departments(
        pools["requests"], *referenced_ids(tasks, issues)
    )
    issue_list = [
        {
            **{name: i[name] for name in ("id", "code", "title", "severity", "status")},
            "owner": people.get(i["owner_id"]),
            "responsibleDepartment": departments.get(i["responsible_department_id"]),
        }
        for i in issues
    ]
    task_list = [task_json(t, people, departments) for t in tasks]
    return {"request": {**dict(request or {}), "tasks": task_list, "issues": issue_list}}


async def entities(pools: Pools, variables: dict[str, Any]) -> Any:
    """The tasks of each request of ``ids``, in the order of ``ids``."""
    ids: list[str] = variables["ids"]
    by_request: dict[str, list[Any]] = {request_id: [] for request_id in ids}
    for row in await pools["tasks"].fetch(TASKS_SQL, ids):
        task = {name: row[name] for name in ("id", "title", "status", "due_at")}
        by_request[row["request_id"]].append({**task, "raci": orjson.Fragment(row["raci"])})
    return [{"id": request_id, "tasks": by_request[request_id]} for request_id in ids]


def endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """A route answering ``handler``'s data, padded to the size the body asks for."""

    async def route(request: Request) -> Response:
        body = orjson.loads(await request.body())
        data = await handler(request.app.state.pools, body.get("variables") or {})
        return Response(padded(data, int(body.get("size", 0))), media_type="application/json")

    return route


async def ready(request: Request) -> Response:
    return Response(b"ok")


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    settings = get_settings()
    app.state.pools = {
        name: await asyncpg.create_pool(
            settings.service_database_url(name),
            min_size=1,
            max_size=POOL_SIZE,
            max_inactive_connection_lifetime=0,
        )
        for name in DATABASES
    }
    try:
        yield
    finally:
        for pool in app.state.pools.values():
            await pool.close()


app = Starlette(
    routes=[
        Route("/page", endpoint(page), methods=["POST"]),
        Route("/dashboard", endpoint(dashboard), methods=["POST"]),
        Route("/entities", endpoint(entities), methods=["POST"]),
        Route("/readyz", ready, methods=["GET"]),
    ],
    lifespan=lifespan,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4090)
    args = parser.parse_args()
    uvicorn.run(app, host=args.host, port=args.port, access_log=False, log_level="warning")


if __name__ == "__main__":
    main()
