"""The Starlette application of a subgraph: ``/graphql``, ``/healthz``, ``/readyz`` and
``/metrics``. Bodies over ``LIAISON_MAX_BODY_BYTES`` and POSTs that are not JSON are refused
before any of them (:mod:`shared.http_guard`).

On SIGTERM uvicorn stops accepting connections and lets requests in flight finish (up to
``--timeout-graceful-shutdown``, ``LIAISON_SHUTDOWN_GRACE_SECONDS`` in :mod:`shared.serve`);
the lifespan then closes the database pool and Redis.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from strawberry.federation import Schema

from shared.graphql.view import SubgraphView
from shared.http_guard import RequestGuard
from shared.observability import setup_process
from shared.observability.asgi import ObservabilityMiddleware
from shared.observability.health import run_checks
from shared.observability.metrics import metrics_endpoint, start_metrics_server, track_pool
from shared.runtime import ServiceRuntime
from shared.settings import Settings, get_settings

log = logging.getLogger(__name__)


class _GraphQLEndpoint:
    """Delegates to the view built at start-up (it needs the runtime the lifespan makes)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        view: SubgraphView = scope["app"].state.graphql
        await view(scope, receive, send)


async def healthz(request: Request) -> JSONResponse:
    """Alive: the process answers. Says nothing about dependencies (that is /readyz)."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """Ready: the database and Redis answer within a short timeout."""
    runtime: ServiceRuntime = request.app.state.runtime
    checks = await run_checks(
        {"database": lambda: runtime.pool.fetchval("SELECT 1"), "redis": runtime.redis.ping}
    )
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", **checks}, status_code=200 if ready else 503
    )


def create_app(
    service: str,
    schema_factory: Callable[[Settings], Schema],
    migrations: Path | Sequence[Path],
    routes: Sequence[BaseRoute] = (),
    settings: Settings | None = None,
    runtime: ServiceRuntime | None = None,
) -> Starlette:
    """Build a subgraph app; its database is created and migrated at start-up.

    Pass ``runtime`` to share connections the caller owns (tests); it is then not closed,
    and the process-wide logging, tracing and metrics listener are left as they are.
    """
    settings = settings or get_settings()
    schema = schema_factory(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        metrics_server = None
        if runtime is None:
            setup_process(service, settings)
            metrics_server = start_metrics_server(settings.metrics_port, settings.host)
        own = runtime or await ServiceRuntime.start(service, settings, migrations)
        track_pool(service, own.pool)
        app.state.runtime = own
        app.state.graphql = SubgraphView(schema, own)
        log.info("%s subgraph ready", service)
        try:
            yield
        finally:
            if runtime is None:
                await own.close()
                log.info("%s subgraph stopped; pools closed", service)
            if metrics_server is not None:
                metrics_server.shutdown()
                metrics_server.server_close()

    return Starlette(
        routes=[
            Route("/graphql", _GraphQLEndpoint(), methods=["GET", "POST"]),
            WebSocketRoute("/graphql", _GraphQLEndpoint()),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint),
            *routes,
        ],
        middleware=[
            Middleware(ObservabilityMiddleware, service=service),
            # inside: a refused request is still logged, counted and given its request id
            Middleware(RequestGuard, max_body_bytes=settings.max_body_bytes),
        ],
        lifespan=lifespan,
    )
