"""Operations: structured logs, Prometheus metrics and OpenTelemetry traces, set up once per
process (:func:`setup_process`) by the subgraph app, the worker and the relay."""

from __future__ import annotations

from shared.observability.logs import configure_logging
from shared.observability.tracing import configure_tracing
from shared.settings import Settings


def setup_process(service: str, settings: Settings) -> None:
    """Logging and tracing for a process of ``service`` (idempotent)."""
    configure_logging(service, settings)
    configure_tracing(service, settings)
