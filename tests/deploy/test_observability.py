"""Metrics, traces, logs and region-local queues, in process against real PostgreSQL/Redis."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from opentelemetry import trace
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import REGISTRY

from shared.events.consumer import Consumer
from shared.events.contracts.requests import DepartmentUpserted
from shared.events.envelope import EventEnvelope
from shared.events.relay import relay_batch
from shared.observability.logs import JsonFormatter, request_id_var
from shared.observability.metrics import observe_consumer_group, observe_outbox
from shared.observability.tracing import instrument_asyncpg
from shared.runtime import ServiceRuntime, job_queue_name
from shared.settings import Settings
from shared.timer_firing import fire_timer
from shared.unit_of_work import UnitOfWork, unit_of_work
from tests.support import ADMIN, Caller, SubgraphClient, reset_service

SERVICE = "sreprobe"
EVENT = "requests.department.upserted"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
GATEWAY_SPAN = "00f067aa0ba902b7"


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
async def probe(settings: Settings) -> AsyncIterator[ServiceRuntime]:
    runtime = await ServiceRuntime.start(SERVICE, settings, [])
    await reset_service(runtime)
    yield runtime
    await runtime.close()


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    """A global tracer provider recording to memory (the process keeps it; the exporter is
    shut down afterwards, so later tests record nothing), with asyncpg instrumented."""
    exporter = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrument_asyncpg()
    yield exporter
    AsyncPGInstrumentor().uninstrument()  # type: ignore[no-untyped-call]
    exporter.shutdown()


async def emit_department(runtime: ServiceRuntime, n: int = 1) -> list[EventEnvelope]:
    async with unit_of_work(runtime) as uow:
        return [
            await uow.emit(
                EVENT, f"d{i}", DepartmentUpserted(id=f"d{i}", code="D", name="n", region_id="hq")
            )
            for i in range(n)
        ]


# -- metrics --------------------------------------------------------------------------------


async def test_subgraph_metrics_count_operations_and_pool(requests_api: SubgraphClient) -> None:
    before = sample(
        "liaison_graphql_requests_total",
        service="requests",
        operation="Regions",
        operation_type="query",
        outcome="ok",
    )
    response = await requests_api.post("query Regions { regions { id } }")
    assert response.status_code == 200
    assert "errors" not in response.json()
    metrics = (await requests_api.http.get("/metrics")).text
    after = sample(
        "liaison_graphql_requests_total",
        service="requests",
        operation="Regions",
        operation_type="query",
        outcome="ok",
    )
    assert after == before + 1
    assert 'liaison_graphql_request_duration_seconds_count{operation="Regions"' in metrics
    assert 'liaison_db_pool_max{service="requests"}' in metrics
    assert 'liaison_db_pool_in_use{service="requests"}' in metrics


async def test_outbox_relay_and_consumer_metrics(probe: ServiceRuntime) -> None:
    await emit_department(probe, 3)
    await observe_outbox(SERVICE, probe.pool)
    assert sample("liaison_outbox_backlog", service=SERVICE) == 3
    assert sample("liaison_outbox_oldest_unsent_seconds", service=SERVICE) >= 0
    published = sample("liaison_relay_published_total", service=SERVICE)
    lags = sample("liaison_relay_lag_seconds_count", service=SERVICE)
    keys = probe.keys
    sent = await relay_batch(
        probe.pool,
        probe.redis,
        keys.event_stream,
        batch_size=10,
        max_length=1000,
        service=SERVICE,
    )
    assert sent == 3
    assert sample("liaison_relay_published_total", service=SERVICE) == published + 3
    assert sample("liaison_relay_lag_seconds_count", service=SERVICE) == lags + 3
    await observe_outbox(SERVICE, probe.pool)
    assert sample("liaison_outbox_backlog", service=SERVICE) == 0

    consumer = Consumer(probe, {EVENT: _noop})
    await consumer.ensure_group()
    await observe_consumer_group(SERVICE, probe.redis, keys.event_stream, consumer.group)
    info = {i["name"]: i for i in await probe.redis.xinfo_groups(keys.event_stream)}
    group_info = info.get(consumer.group.encode()) or info[consumer.group]
    if group_info.get("lag") is not None:  # Redis 7 reports it; the embedded 6.2 does not
        assert sample("liaison_stream_consumer_lag", service=SERVICE) == 3
    handled = sample("liaison_events_handled_total", service=SERVICE, outcome="handled")
    entries = await consumer._read(">", block=None)
    await consumer._process(entries)
    assert sample("liaison_events_handled_total", service=SERVICE, outcome="handled") == (
        handled + 3
    )
    assert sample("liaison_event_age_seconds_count", service=SERVICE) >= 3
    await observe_consumer_group(SERVICE, probe.redis, keys.event_stream, consumer.group)
    assert sample("liaison_stream_consumer_pending", service=SERVICE) == 0


async def _noop(uow: UnitOfWork, envelope: EventEnvelope) -> None:
    return None


async def test_timer_metrics_count_armed_fired_and_lateness(probe: ServiceRuntime) -> None:
    kind = "metrics-probe"
    armed = sample("liaison_timers_armed_total", service=SERVICE, kind=kind)
    late = sample("liaison_timers_fired_late_total", service=SERVICE, kind=kind)
    async with unit_of_work(probe) as uow:
        timer = await uow.arm_timer(kind, "x", datetime.now(UTC) - timedelta(seconds=30))
    assert sample("liaison_timers_armed_total", service=SERVICE, kind=kind) == armed + 1
    assert await fire_timer(probe, {kind: _noop_timer}, str(timer.id), timer.version)
    assert sample("liaison_timers_fired_total", service=SERVICE, kind=kind, path="job") >= 1
    assert sample("liaison_timers_fired_late_total", service=SERVICE, kind=kind) == late + 1
    assert sample("liaison_timer_lateness_seconds_sum", service=SERVICE, kind=kind) >= 30


async def _noop_timer(uow: UnitOfWork, timer: object) -> None:
    return None


# -- traces ---------------------------------------------------------------------------------


def _by_name(exported: tuple[ReadableSpan, ...], prefix: str) -> list[ReadableSpan]:
    return [s for s in exported if s.name.startswith(prefix)]


async def test_one_mutation_and_its_fan_out_are_one_trace(
    spans: InMemorySpanExporter, probe: ServiceRuntime
) -> None:
    spans.clear()
    with trace.get_tracer("test").start_as_current_span("mutation") as producer:
        (envelope,) = await emit_department(probe)
    trace_id = format(producer.get_span_context().trace_id, "032x")
    assert envelope.traceparent is not None
    assert envelope.traceparent.split("-")[1] == trace_id

    seen: list[int] = []

    async def handler(uow: UnitOfWork, event: EventEnvelope) -> None:
        seen.append(trace.get_current_span().get_span_context().trace_id)
        await uow.emit(EVENT, "next", DepartmentUpserted(id="n", code="N", name="n", region_id="x"))

    # the envelope as a consumer reads it from the stream
    wire = EventEnvelope.model_validate(
        orjson.loads(orjson.dumps(envelope.model_dump(mode="json")))
    )
    assert await Consumer(probe, {EVENT: handler}).handle(wire)
    consume = _by_name(spans.get_finished_spans(), f"consume {EVENT}")
    assert len(consume) == 1
    assert consume[0].context.trace_id == producer.get_span_context().trace_id
    assert consume[0].parent is not None
    assert consume[0].parent.span_id == producer.get_span_context().span_id
    assert seen == [producer.get_span_context().trace_id]
    # what the handler emitted carries the same trace onward
    onward = await probe.pool.fetchval(
        "SELECT envelope->>'traceparent' FROM outbox WHERE envelope->>'subject' = 'next'"
    )
    assert onward.split("-")[1] == trace_id
    db_spans = [s for s in spans.get_finished_spans() if s.attributes and "db.system" in str(
        dict(s.attributes))]  # fmt: skip
    assert any(s.context.trace_id == producer.get_span_context().trace_id for s in db_spans)


async def test_subgraph_continues_the_gateway_trace(
    spans: InMemorySpanExporter, requests_api: SubgraphClient
) -> None:
    spans.clear()
    headers = {
        **await requests_api.headers(requests_api_admin()),
        "traceparent": f"00-{TRACE_ID}-{GATEWAY_SPAN}-01",
        "x-request-id": "req-42",
    }
    response = await requests_api.http.post(
        "/graphql", json={"query": "query Regions { regions { id } }"}, headers=headers
    )
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "req-42"
    exported = spans.get_finished_spans()
    server = _by_name(exported, "POST /graphql")
    assert len(server) == 1
    assert format(server[0].context.trace_id, "032x") == TRACE_ID
    assert server[0].parent is not None
    assert format(server[0].parent.span_id, "016x") == GATEWAY_SPAN
    operation = _by_name(exported, "query Regions")
    assert len(operation) == 1
    assert operation[0].parent is not None
    assert operation[0].parent.span_id == server[0].context.span_id
    in_trace = [s for s in exported if format(s.context.trace_id, "032x") == TRACE_ID]
    assert len(in_trace) > 2, "database spans under the request"


def requests_api_admin() -> Caller:
    return ADMIN


# -- logs -----------------------------------------------------------------------------------


def test_log_lines_are_json_with_request_and_trace_ids(spans: InMemorySpanExporter) -> None:
    formatter = JsonFormatter("issues", "east")
    token = request_id_var.set("req-7")
    try:
        with trace.get_tracer("test").start_as_current_span("work") as span:
            record = logging.LogRecord(
                "liaison", logging.INFO, __file__, 1, "hello %s", ("x",), None
            )
            line = orjson.loads(formatter.format(record))
    finally:
        request_id_var.reset(token)
    assert line["message"] == "hello x"
    assert line["service"] == "issues"
    assert line["region"] == "east"
    assert line["request_id"] == "req-7"
    assert line["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert line["level"] == "INFO"


# -- regions --------------------------------------------------------------------------------


async def test_regional_queues_keep_a_regions_jobs_in_the_region(
    probe: ServiceRuntime,
) -> None:
    east = probe.settings.model_copy(update={"region": "east", "regional_queues": True})
    runtime = ServiceRuntime(service=SERVICE, settings=east, pool=probe.pool, redis=probe.redis)
    prefix = probe.settings.redis_prefix
    assert runtime.queue_name == f"{prefix}:queue:{SERVICE}:east"
    assert job_queue_name(probe.settings, SERVICE) == f"{prefix}:queue:{SERVICE}"
    async with unit_of_work(runtime) as uow:
        await uow.arm_timer("regional", "r1", datetime.now(UTC) + timedelta(hours=1), region="east")
    assert await probe.redis.zcard(f"{prefix}:queue:{SERVICE}:east") == 1
    assert await probe.redis.zcard(f"{prefix}:queue:{SERVICE}") == 0
    from shared.worker import worker_settings

    assert worker_settings(SERVICE, [], settings=east)["queue_name"] == runtime.queue_name
