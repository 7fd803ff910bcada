"""Prometheus metrics of every Liaison process, and the ways they are served.

Subgraphs serve ``/metrics`` on their own port; with ``LIAISON_METRICS_PORT`` set, every
process (subgraph, worker, relay) also serves ``/metrics``, ``/healthz`` and ``/readyz`` on that
port (:func:`start_metrics_server`), which is what the Kubernetes manifests scrape and, for
workers and the relay, probe (:mod:`shared.observability.health`).

Names are ``liaison_*``; every series carries ``service``. What to watch is in
``deploy/README.md``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer
from typing import Any, Final

import asyncpg
import orjson
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import MetricsHandler
from prometheus_client.registry import Collector
from redis.asyncio import Redis
from starlette.requests import Request
from starlette.responses import Response
from strawberry.extensions import SchemaExtension

from shared.observability.health import PROBE_PATHS, probe_status
from shared.observability.tracing import tracer

log = logging.getLogger(__name__)

LATENCY_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
LAG_BUCKETS: Final = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)
TIMER_LATE_AFTER_SECONDS: Final = 5.0
"""A timer that fires later than this after its deadline counts as fired late."""

GRAPHQL_REQUESTS = Counter(
    "liaison_graphql_requests_total",
    "GraphQL operations executed by a subgraph, by operation name, type and outcome.",
    ["service", "operation", "operation_type", "outcome"],
)
GRAPHQL_COMPILED = Counter(
    "liaison_graphql_compiled_total",
    "GraphQL operations a subgraph answered on the compiled read path, by operation name.",
    ["service", "operation"],
)
GRAPHQL_DURATION = Histogram(
    "liaison_graphql_request_duration_seconds",
    "Time to parse, validate and execute one GraphQL operation in a subgraph.",
    ["service", "operation", "operation_type"],
    buckets=LATENCY_BUCKETS,
)
HTTP_IN_FLIGHT = Gauge(
    "liaison_http_requests_in_flight",
    "HTTP requests a subgraph is serving right now.",
    ["service"],
)
OUTBOX_BACKLOG = Gauge(
    "liaison_outbox_backlog",
    "Outbox rows not yet published to the event stream.",
    ["service"],
)
OUTBOX_OLDEST_UNSENT = Gauge(
    "liaison_outbox_oldest_unsent_seconds",
    "Age of the oldest unpublished outbox row (0 when the outbox is drained).",
    ["service"],
)
RELAY_PUBLISHED = Counter(
    "liaison_relay_published_total",
    "Events the relay published to the stream.",
    ["service"],
)
RELAY_LAG = Histogram(
    "liaison_relay_lag_seconds",
    "From commit (outbox row written) to publication on the stream.",
    ["service"],
    buckets=LAG_BUCKETS,
)
CONSUMER_LAG = Gauge(
    "liaison_stream_consumer_lag",
    "Stream entries not yet delivered to the service's consumer group.",
    ["service"],
)
CONSUMER_PENDING = Gauge(
    "liaison_stream_consumer_pending",
    "Entries delivered to the group but not yet acknowledged.",
    ["service"],
)
EVENTS_HANDLED = Counter(
    "liaison_events_handled_total",
    "Events a consumer processed: handled, duplicate (already in the inbox), ignored (no"
    " handler) or failed (stays pending and is retried).",
    ["service", "outcome"],
)
EVENT_AGE = Histogram(
    "liaison_event_age_seconds",
    "From an event's time to its handling by a consumer (end-to-end event lag).",
    ["service"],
    buckets=LAG_BUCKETS,
)
TIMERS_ARMED = Counter(
    "liaison_timers_armed_total",
    "Timers armed (set or moved).",
    ["service", "kind"],
)
TIMERS_FIRED = Counter(
    "liaison_timers_fired_total",
    "Timers fired, by the queued job (fast path) or the sweep (the queue lost it).",
    ["service", "kind", "path"],
)
TIMERS_FIRED_LATE = Counter(
    "liaison_timers_fired_late_total",
    f"Timers that fired more than {TIMER_LATE_AFTER_SECONDS:g} s after their deadline.",
    ["service", "kind"],
)
TIMER_LATENESS = Histogram(
    "liaison_timer_lateness_seconds",
    "From a timer's deadline to its firing.",
    ["service", "kind"],
    buckets=LAG_BUCKETS,
)
DELIVERIES = Counter(
    "liaison_deliveries_total",
    "Delivery attempts (webhooks, chat robots, e-mail) by channel and outcome.",
    ["service", "channel", "outcome"],
)
WEBHOOK_ENDPOINTS_DISABLED = Counter(
    "liaison_webhook_endpoints_disabled_total",
    "Webhook endpoints disabled automatically because their deliveries kept failing.",
    ["service"],
)


def record_delivery(service: str, channel: str, outcome: str) -> None:
    """Count one delivery attempt; outcome e.g. succeeded, failed, exhausted."""
    DELIVERIES.labels(service, channel, outcome).inc()


def record_endpoint_disabled(service: str) -> None:
    WEBHOOK_ENDPOINTS_DISABLED.labels(service).inc()


def prime_delivery_metrics(service: str, channels: Iterable[str], outcomes: Iterable[str]) -> None:
    """Export 0 for every delivery series the alerts watch. A counter series that first
    appears at 1 shows Prometheus no increase, so the first exhausted delivery or disabled
    endpoint of a process would otherwise go unalerted."""
    wanted = list(outcomes)
    for channel in channels:
        for outcome in wanted:
            DELIVERIES.labels(service, channel, outcome)
    WEBHOOK_ENDPOINTS_DISABLED.labels(service)


def record_timer_fired(service: str, kind: str, due_at: datetime, path: str) -> None:
    """Count a firing and its lateness (``path``: ``job`` or ``sweep``)."""
    lateness = max(0.0, (datetime.now(UTC) - due_at).total_seconds())
    TIMERS_FIRED.labels(service, kind, path).inc()
    TIMER_LATENESS.labels(service, kind).observe(lateness)
    if lateness > TIMER_LATE_AFTER_SECONDS:
        TIMERS_FIRED_LATE.labels(service, kind).inc()


# -- database pools -----------------------------------------------------------------------

_POOLS: dict[int, tuple[str, asyncpg.Pool]] = {}


def track_pool(service: str, pool: asyncpg.Pool) -> None:
    """Report ``pool``'s size and use until it is closed."""
    _POOLS[id(pool)] = (service, pool)


class _PoolCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        size = GaugeMetricFamily(
            "liaison_db_pool_connections", "Open connections of the pool.", labels=["service"]
        )
        in_use = GaugeMetricFamily(
            "liaison_db_pool_in_use", "Connections checked out of the pool.", labels=["service"]
        )
        maximum = GaugeMetricFamily(
            "liaison_db_pool_max", "Largest size the pool may grow to.", labels=["service"]
        )
        totals: dict[str, list[int]] = {}
        for key, (service, pool) in list(_POOLS.items()):
            if pool.is_closing():
                _POOLS.pop(key, None)
                continue
            row = totals.setdefault(service, [0, 0, 0])
            row[0] += pool.get_size()
            row[1] += pool.get_size() - pool.get_idle_size()
            row[2] += pool.get_max_size()
        for service, (n, used, most) in totals.items():
            size.add_metric([service], n)
            in_use.add_metric([service], used)
            maximum.add_metric([service], most)
        yield from (size, in_use, maximum)


REGISTRY.register(_PoolCollector())


# -- GraphQL ------------------------------------------------------------------------------


def name_operation_span(span: Any, name: str, kind: str) -> None:
    span.update_name(f"{kind} {name}")
    span.set_attribute("graphql.operation.name", name)
    span.set_attribute("graphql.operation.type", kind)


def record_operation(service: str, name: str, kind: str, seconds: float, failed: bool) -> None:
    """Count and time one operation, whichever path executed it."""
    GRAPHQL_DURATION.labels(service, name, kind).observe(seconds)
    GRAPHQL_REQUESTS.labels(service, name, kind, "error" if failed else "ok").inc()


class GraphQLMetrics(SchemaExtension):
    """Counts and times every operation by name, and wraps it in a span."""

    def on_operation(self) -> Iterator[None]:
        context: Any = self.execution_context.context
        runtime = getattr(context, "runtime", None)
        service = getattr(runtime, "service", "unknown")
        start = time.perf_counter()
        with tracer().start_as_current_span("graphql.operation") as span:
            yield
            ec = self.execution_context
            name = ec.operation_name or "anonymous"
            try:
                kind = ec.operation_type.value
            except Exception:  # the document did not parse: no operation type
                kind = "unknown"
            failed = bool(ec.result and ec.result.errors) or bool(ec.pre_execution_errors)
            name_operation_span(span, name, kind)
        record_operation(service, name, kind, time.perf_counter() - start, failed)


# -- serving --------------------------------------------------------------------------------


async def metrics_endpoint(request: Request) -> Response:
    """``GET /metrics`` on a subgraph's own port."""
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


class _Handler(MetricsHandler):
    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path not in PROBE_PATHS:
            super().do_GET()
            return
        status, report = probe_status(path)
        body = orjson.dumps(report)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return  # scrapes every few seconds would drown the log


class _IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def start_metrics_server(port: int, host: str) -> ThreadingHTTPServer | None:
    """Serve ``/metrics``, ``/healthz`` and ``/readyz`` on ``host:port`` in a daemon thread;
    None if port is 0. Processes bind it to ``LIAISON_HOST``, as everything they serve (the
    images set 0.0.0.0, so that the kubelet's probes and Prometheus reach it)."""
    if not port:
        return None
    import threading

    server_class = _IPv6Server if ":" in host else ThreadingHTTPServer
    server = server_class((host.strip("[]"), port), _Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    log.info("metrics on :%d/metrics", port)
    return server


# -- pollers: backlogs that only a query can tell -------------------------------------------

POLL_SECONDS: Final = 5.0


async def observe_outbox(service: str, pool: asyncpg.Pool) -> None:
    """Set the outbox backlog gauges of ``service`` from its database."""
    row = await pool.fetchrow(
        "SELECT count(*) AS n, extract(epoch FROM now() - min(created_at)) AS oldest"
        " FROM outbox WHERE sent_at IS NULL"
    )
    assert row is not None
    OUTBOX_BACKLOG.labels(service).set(row["n"])
    OUTBOX_OLDEST_UNSENT.labels(service).set(float(row["oldest"] or 0.0))


async def observe_consumer_group(service: str, redis: Redis, stream: str, group: str) -> None:
    """Set the consumer lag gauges of ``service``'s group (Redis 7 reports ``lag``)."""
    with contextlib.suppress(Exception):  # no stream or group yet: nothing to report
        for info in await redis.xinfo_groups(stream):
            name = info.get("name")
            if (name.decode() if isinstance(name, bytes) else name) != group:
                continue
            CONSUMER_PENDING.labels(service).set(int(info.get("pending") or 0))
            lag = info.get("lag")
            if lag is not None:
                CONSUMER_LAG.labels(service).set(int(lag))


async def poll_forever(
    probes: Iterable[Any], stop: asyncio.Event, every: float = POLL_SECONDS
) -> None:
    """Run each ``probes`` coroutine factory every ``every`` seconds until ``stop``."""
    factories = list(probes)
    while not stop.is_set():
        for factory in factories:
            try:
                await factory()
            except Exception as exc:  # metrics must never take a process down
                log.debug("metrics probe failed: %s", exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)
