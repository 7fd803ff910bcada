"""Test helpers: service runtimes, an HTTP GraphQL client with real tokens, clean-up."""

from __future__ import annotations

import asyncio
import importlib
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from asgi_lifespan import LifespanManager
from asyncpg.connection import LoggedQuery
from redis.asyncio import Redis

from shared.app import create_app
from shared.auth import GATEWAY_SECRET_HEADER, issue_token
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from shared.worker import LiaisonWorker
from tests.enrolment import enrol


@contextmanager
def server_directory() -> Iterator[Path]:
    """A fresh folder for embedded servers that a test starts and stops itself.

    Not under pytest's ``tmp_path``: every pytest session that starts resets its base folder
    to mode 0700, which would lock the unprivileged ``pgserver`` user out of a server of a
    session running beside it (two suites at once on one machine)."""
    directory = Path(tempfile.mkdtemp(prefix="liaison-servers-"))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def service_module(service: str, module: str) -> Any:
    return importlib.import_module(f"services.{service}.{module}")


@asynccontextmanager
async def in_process_worker(
    config: dict[str, Any], **overrides: Any
) -> AsyncIterator[LiaisonWorker]:
    """Run a worker from :func:`shared.worker.worker_settings` in this event loop, yielding
    once it has started (migrated, first housekeeping pass over, consuming events, polling its
    queue). On exit it takes no new job, lets the running ones finish and shuts down."""
    worker = LiaisonWorker(**{**config, "handle_signals": False, "burst": False, **overrides})
    task = asyncio.create_task(worker.async_run())
    try:
        while "runtime" not in worker.ctx:
            assert not task.done(), "the worker did not start"
            await asyncio.sleep(0.01)
        # Its first housekeeping pass is over, so it does not race the test's own writes.
        await asyncio.wait_for(worker.ctx["housekept"].wait(), 10)
        yield worker
    finally:
        await worker.close()
        await asyncio.gather(task, return_exceptions=True)


class RuntimeCache:
    """One migrated runtime per service for the whole session."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._runtimes: dict[str, ServiceRuntime] = {}

    async def get(self, service: str) -> ServiceRuntime:
        if service not in self._runtimes:
            migrations = service_module(service, "app").MIGRATIONS
            self._runtimes[service] = await ServiceRuntime.start(service, self.settings, migrations)
        return self._runtimes[service]

    async def close(self) -> None:
        for runtime in self._runtimes.values():
            await runtime.close()


def in_region(runtime: ServiceRuntime, region: str, home: str = "hq") -> ServiceRuntime:
    """``runtime`` as a process deployed in ``region`` has it: regional queues on, ``home``
    the region next to the databases (deploy/README.md, "Regions")."""
    update = {"regional_queues": True, "region": region, "home_region": home}
    return replace(runtime, settings=runtime.settings.model_copy(update=update))


async def reset_service(runtime: ServiceRuntime) -> None:
    """Empty every table but the migration log, and every Redis key under the test prefix.

    arq's own job keys (``arq:job:<id>``) are left to expire: timer job ids are unique, and
    an end-to-end stack may be using arq in the same Redis.
    """
    async with runtime.pool.acquire() as conn:
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            " AND tablename <> 'schema_migrations'"
        )
        if tables:
            names = ", ".join(f'"{t["tablename"]}"' for t in tables)
            await conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    runtime.directory.forget()
    keys = [
        key async for key in runtime.redis.scan_iter(match=f"{runtime.settings.redis_prefix}:*")
    ]
    if keys:
        await runtime.redis.delete(*keys)


async def drop_test_state(settings: Settings, services: Sequence[str]) -> None:
    """Drop the databases of ``services`` and the Redis keys under the settings' prefix
    that a previous run left (suites that start real processes begin from nothing)."""
    assert settings.database_url
    assert settings.redis_url
    conn = await asyncpg.connect(settings.database_url)
    try:
        for service in services:
            name = f"{settings.database_prefix}{service}"
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
    redis = Redis.from_url(settings.redis_url)
    keys = [k async for k in redis.scan_iter(match=f"{settings.redis_prefix}:*")]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()


@dataclass(frozen=True)
class Caller:
    """Who a test acts as."""

    sub: str
    departments: Sequence[str] = ()
    roles: Sequence[str] = ("MEMBER",)
    region: str | None = None
    scopes: Sequence[str] | None = None
    """Event types a PARTNER token may see."""


ADMIN = Caller("admin", roles=("ADMIN",))


class GraphQLFailure(AssertionError):
    """The response carried GraphQL errors."""


class SubgraphClient:
    """Posts GraphQL to one subgraph the way the gateway does (secret header + bearer)."""

    def __init__(self, http: httpx.AsyncClient, runtime: ServiceRuntime) -> None:
        self.http = http
        self.runtime = runtime
        self._enrolled: dict[str, Caller] = {}

    @classmethod
    @asynccontextmanager
    async def open(cls, service: str, runtime: ServiceRuntime) -> AsyncIterator[SubgraphClient]:
        schema_factory = service_module(service, "schema").create_schema
        app_module = service_module(service, "app")
        app = create_app(
            service,
            schema_factory,
            app_module.MIGRATIONS,
            routes=getattr(app_module, "ROUTES", ()),  # a service's extra HTTP routes, if any
            settings=runtime.settings,
            runtime=runtime,
        )
        async with LifespanManager(app) as manager:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
                yield cls(http, runtime)

    async def headers(self, caller: Caller | None) -> dict[str, str]:
        """What the gateway would send for ``caller`` (enrolled in the directory first)."""
        headers = {GATEWAY_SECRET_HEADER: self.runtime.settings.gateway_secret}
        if caller is not None:
            await self.enrol(caller)
            token = issue_token(self.runtime.settings, caller.sub)
            headers["authorization"] = f"Bearer {token}"
        return headers

    async def enrol(self, caller: Caller) -> None:
        """Put ``caller`` in this service's directory (once per test; see tests/enrolment.py)."""
        if self._enrolled.get(caller.sub) != caller:  # a partner's scopes may change
            await enrol(self.runtime, caller)
            self._enrolled[caller.sub] = caller

    async def post(
        self, query: str, variables: dict[str, Any] | None = None, *, caller: Caller | None = ADMIN
    ) -> httpx.Response:
        body = {"query": query, "variables": variables or {}}
        return await self.http.post("/graphql", json=body, headers=await self.headers(caller))

    async def execute(
        self, query: str, variables: dict[str, Any] | None = None, *, caller: Caller | None = ADMIN
    ) -> dict[str, Any]:
        """Run an operation and return ``data``; any GraphQL error fails the test."""
        response = await self.post(query, variables, caller=caller)
        assert response.status_code == 200, response.text
        body = response.json()
        if body.get("errors"):
            raise GraphQLFailure(body["errors"])
        data: dict[str, Any] = body["data"]
        return data


class StatementCounter:
    """Counts the SQL statements sent on a pool's connections while recording.

    It adds an asyncpg query logger (``Connection.add_query_logger``) to every connection of
    the pool: the database is the real one, nothing is mocked. The pool's own reset on
    release is not counted, so the count is what the code under test sends, ``BEGIN`` and
    ``COMMIT`` of its transactions included.
    """

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.statements: list[str] = []
        self._recording = False
        self._connections: list[asyncpg.Connection] = []
        self._ignored: set[str] = set()

    def _log(self, record: LoggedQuery) -> None:
        if self._recording and record.query not in self._ignored:
            self.statements.append(record.query)

    async def attach(self) -> None:
        """Open the pool's every connection and put the logger on each."""
        proxies: list[Any] = []
        try:
            # Holding all of them at once makes the pool connect each of its slots.
            for _ in range(self.pool.get_max_size()):
                proxies.append(await self.pool.acquire())
            for proxy in proxies:
                # The raw connection, which the pool keeps after the proxy is released.
                con: asyncpg.Connection = proxy._con
                self._ignored.add(con.get_reset_query())
                con.add_query_logger(self._log)
                self._connections.append(con)
        finally:
            for proxy in proxies:
                await self.pool.release(proxy)

    def detach(self) -> None:
        for con in self._connections:
            con.remove_query_logger(self._log)
        self._connections.clear()

    @asynccontextmanager
    async def recording(self) -> AsyncIterator[list[str]]:
        """Record what runs inside the block; the list is complete when the block ends."""
        self.statements = []
        await asyncio.sleep(0)  # loggers run via call_soon: drop what is still queued
        self._recording = True
        try:
            yield self.statements
        finally:
            await asyncio.sleep(0)
            self._recording = False
        # A connection the pool replaced meanwhile would carry no logger: refuse to undercount.
        assert not any(con.is_closed() for con in self._connections), "pool renewed a connection"

    async def count(
        self,
        api: SubgraphClient,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        caller: Caller | None = ADMIN,
        runs: int = 3,
    ) -> tuple[StatementCount, dict[str, Any]]:
        """Run one GraphQL operation ``runs`` times; how many statements the runs sent, and
        the data of the last run."""
        sent: list[list[str]] = []
        data: dict[str, Any] = {}
        for _ in range(runs):
            async with self.recording() as statements:
                data = await api.execute(query, variables, caller=caller)
            sent.append(list(statements))
        return StatementCount(sent), data


@dataclass(frozen=True)
class StatementCount:
    """The statements of a few runs of one operation.

    A DataLoader batches the keys collected until the event loop is idle, so when database
    answers arrive at different moments a relation may now and then take two batches instead
    of one: counts vary a little between runs. An N+1 shows as the fewest statements of a
    larger page exceeding the most of a smaller one.
    """

    runs: list[list[str]]

    @property
    def fewest(self) -> int:
        return min(len(r) for r in self.runs)

    @property
    def most(self) -> int:
        return max(len(r) for r in self.runs)

    def __repr__(self) -> str:
        return f"{self.fewest}..{self.most}"


def nodes(connection: dict[str, Any]) -> list[Any]:
    """The items of one page of a connection (``edges { node { ... } }``), in order."""
    return [edge["node"] for edge in connection["edges"]]


def assert_no_growth(small: StatementCount, large: StatementCount) -> None:
    """``large`` (more items) costs no more statements than ``small``."""
    if large.fewest > small.most:
        shortest = min(large.runs, key=len)
        listing = "\n".join(" ".join(q.split())[:160] for q in shortest)
        raise AssertionError(f"{large!r} statements instead of {small!r}:\n{listing}")


@asynccontextmanager
async def counting_statements(runtime: ServiceRuntime) -> AsyncIterator[StatementCounter]:
    """A :class:`StatementCounter` on ``runtime``'s pool, removed when the block ends."""
    counter = StatementCounter(runtime.pool)
    await counter.attach()
    try:
        yield counter
    finally:
        counter.detach()
