"""ASGI middleware of a subgraph: request id, server span, in-flight gauge."""

from __future__ import annotations

import uuid

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.propagate import extract
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.observability.logs import request_id_var
from shared.observability.metrics import HTTP_IN_FLIGHT
from shared.observability.tracing import tracer

REQUEST_ID_HEADER = "x-request-id"
_UNTRACED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class ObservabilityMiddleware:
    """Gives each HTTP request an id (the caller's ``x-request-id`` or a new one, echoed in
    the response), continues the caller's trace (``traceparent``) in a server span, and
    counts requests in flight."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        request_id = headers.get(REQUEST_ID_HEADER) or uuid.uuid4().hex
        id_token = request_id_var.set(request_id)
        path = scope.get("path", "")
        if path in _UNTRACED_PATHS or scope["type"] == "websocket":  # no connection-long spans
            try:
                await self.app(scope, receive, send)
            finally:
                request_id_var.reset(id_token)
            return

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (REQUEST_ID_HEADER.encode(), request_id.encode()),
                ]
                span.set_attribute("http.response.status_code", message["status"])
            await send(message)

        ctx_token = otel_context.attach(extract(headers))
        in_flight = HTTP_IN_FLIGHT.labels(self.service)
        in_flight.inc()
        try:
            with tracer().start_as_current_span(
                f"{scope['method']} {path}", kind=trace.SpanKind.SERVER
            ) as span:
                span.set_attribute("http.route", path)
                span.set_attribute("liaison.request_id", request_id)
                await self.app(scope, receive, send_with_id)
        finally:
            in_flight.dec()
            otel_context.detach(ctx_token)
            request_id_var.reset(id_token)
