"""OpenTelemetry traces: off unless ``LIAISON_TRACES_EXPORTER`` names an exporter.

The trace crosses every hop of a mutation: the gateway's span (W3C ``traceparent`` header)
is the parent of the subgraph's server span, asyncpg queries are its children, the
``traceparent`` of the active span rides on each event envelope the transaction emits
(:func:`current_traceparent`), and a consumer continues it (:func:`context_from_traceparent`),
so one mutation and its fan-out are one trace.
"""

from __future__ import annotations

import logging
from typing import Final

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.propagate import extract, inject
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

from shared.settings import Settings

log = logging.getLogger(__name__)

TRACER_NAME: Final = "liaison"
EXPORTERS: Final = ("none", "otlp", "console")
_configured = False


def tracer() -> trace.Tracer:
    return trace.get_tracer(TRACER_NAME)


def _span_processor(exporter: str) -> SpanProcessor:
    if exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return BatchSpanProcessor(OTLPSpanExporter())  # endpoint from OTEL_EXPORTER_OTLP_*
    return BatchSpanProcessor(ConsoleSpanExporter())


def configure_tracing(service: str, settings: Settings) -> bool:
    """Install a tracer provider exporting to ``settings.traces_exporter``; False when off.

    Also instruments asyncpg, so database calls are spans under the request or job.
    """
    global _configured
    exporter = settings.traces_exporter.lower()
    if exporter not in EXPORTERS:
        raise ValueError(f"LIAISON_TRACES_EXPORTER must be one of {EXPORTERS}, not {exporter!r}")
    if exporter == "none" or _configured:
        return _configured
    provider = TracerProvider(
        resource=Resource.create(
            {
                "service.name": f"liaison-{service}",
                "service.namespace": "liaison",
                "deployment.region": settings.region,
            }
        )
    )
    provider.add_span_processor(_span_processor(exporter))
    trace.set_tracer_provider(provider)
    instrument_asyncpg()
    _configured = True
    log.info("tracing on, exporting with %s", exporter)
    return True


def instrument_asyncpg() -> None:
    """Spans for asyncpg queries (idempotent)."""
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor

    instrumentor = AsyncPGInstrumentor()  # type: ignore[no-untyped-call]
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument()


def current_traceparent() -> str | None:
    """The W3C ``traceparent`` of the active span, if one is recording or was propagated."""
    carrier: dict[str, str] = {}
    inject(carrier)
    return carrier.get("traceparent")


def context_from_traceparent(traceparent: str | None) -> otel_context.Context:
    """The context to continue a trace from an event's ``traceparent`` (empty if none)."""
    return extract({"traceparent": traceparent} if traceparent else {})
