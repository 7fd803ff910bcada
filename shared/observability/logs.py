"""One logging setup for every process: JSON lines on stdout with service, region, request id
and trace id, so a log pipeline can join a request's lines across services.

``LIAISON_LOG_FORMAT=text`` gives the classic one-line format for a terminal.
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson
from opentelemetry import trace

from shared.settings import Settings

request_id_var: ContextVar[str | None] = ContextVar("liaison_request_id", default=None)
"""The id of the HTTP request being served (``x-request-id``), set by the ASGI middleware."""

# Loggers that servers configure themselves; they are routed to the root handler instead.
_SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "arq", "arq.worker")
_STANDARD_ATTRS = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys()
    | {"message", "asctime", "color_message"}
)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, service, region,
    request_id, trace_id/span_id (when a span is recording), exception and ``extra`` fields."""

    def __init__(self, service: str, region: str) -> None:
        super().__init__()
        self.service = service
        self.region = region

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "service": self.service,
            "region": self.region,
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid:
            entry["trace_id"] = format(span_context.trace_id, "032x")
            entry["span_id"] = format(span_context.span_id, "016x")
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        return orjson.dumps(entry, default=str).decode()


def configure_logging(service: str, settings: Settings) -> None:
    """Route every logger (uvicorn's and arq's included) to one stdout handler."""
    handler = logging.StreamHandler(sys.stdout)
    if settings.log_format == "text":
        handler.setFormatter(
            logging.Formatter(f"%(asctime)s {service} %(name)s %(levelname)s %(message)s")
        )
    else:
        handler.setFormatter(JsonFormatter(service, settings.region))
    root = logging.getLogger()
    for existing in list(root.handlers):
        # basicConfig's console handler, or ours from an earlier call; test runners' capture
        # handlers (subclasses) stay.
        if type(existing) is logging.StreamHandler:
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    for name in _SERVER_LOGGERS:
        server_logger = logging.getLogger(name)
        server_logger.handlers.clear()
        server_logger.propagate = True
