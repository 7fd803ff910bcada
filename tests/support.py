"""Test helpers: service runtimes, an HTTP GraphQL client with real tokens, clean-up."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from asgi_lifespan import LifespanManager

from shared.app import create_app
from shared.auth import GATEWAY_SECRET_HEADER, issue_token
from shared.runtime import ServiceRuntime
from shared.settings import Settings


def service_module(service: str, module: str) -> Any:
    return importlib.import_module(f"services.{service}.{module}")


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
    keys = [
        key async for key in runtime.redis.scan_iter(match=f"{runtime.settings.redis_prefix}:*")
    ]
    if keys:
        await runtime.redis.delete(*keys)


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

    def headers(self, caller: Caller | None) -> dict[str, str]:
        headers = {GATEWAY_SECRET_HEADER: self.runtime.settings.gateway_secret}
        if caller is not None:
            token = issue_token(
                self.runtime.settings,
                caller.sub,
                roles=caller.roles,
                departments=caller.departments,
                region=caller.region,
                scopes=caller.scopes,
            )
            headers["authorization"] = f"Bearer {token}"
        return headers

    async def post(
        self, query: str, variables: dict[str, Any] | None = None, *, caller: Caller | None = ADMIN
    ) -> httpx.Response:
        body = {"query": query, "variables": variables or {}}
        return await self.http.post("/graphql", json=body, headers=self.headers(caller))

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
