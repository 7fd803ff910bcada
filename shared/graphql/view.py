"""The ``/graphql`` endpoint of a subgraph: authenticates every HTTP call and WebSocket."""

from __future__ import annotations

import json
import logging
from typing import Any

import orjson
from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.schema import BaseSchema
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UnsetType

from shared.auth import GATEWAY_SECRET_HEADER, AuthError, check_gateway_secret
from shared.authority import authenticate
from shared.graphql.compiled.executor import CompiledReads
from shared.graphql.context import Context
from shared.graphql.error_codes import ErrorCode
from shared.graphql.schema import LiaisonSchema
from shared.graphql.ws_sessions import SessionHandler, SessionRefused
from shared.resilience import DATABASE_OUTAGES
from shared.runtime import ServiceRuntime
from shared.tokens import SigningKeysUnavailable

log = logging.getLogger(__name__)


def _refusal(status: int, code: ErrorCode, message: str) -> JSONResponse:
    body = {"data": None, "errors": [{"message": message, "extensions": {"code": code.value}}]}
    return JSONResponse(body, status_code=status)


EXECUTION_HEADER = "liaison-execution"
"""Set to ``compiled`` on a response the compiled read path wrote."""


def _replay(body: bytes) -> Receive:
    """An ASGI ``receive`` that hands Strawberry the body already read."""
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _param(params: dict[str, Any], name: str) -> str | None:
    """A connection_init parameter, whatever the case the client used for its name."""
    for key, value in params.items():
        if key.lower() == name and isinstance(value, str):
            return value
    headers = params.get("headers")
    return _param(headers, name) if isinstance(headers, dict) else None


class SubgraphView(GraphQL[Context, None]):
    """Strawberry's ASGI view with Liaison's authentication and orjson output."""

    # Refusals close with 4401 and sessions end with their tokens (4403).
    graphql_transport_ws_handler_class = SessionHandler

    def __init__(self, schema: BaseSchema, runtime: ServiceRuntime) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if runtime.settings.graphiql else None,
            allow_queries_via_get=False,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            keep_alive=True,
            keep_alive_interval=15,
        )
        self.runtime = runtime
        self.compiled = (
            CompiledReads(schema._schema, schema.validation_rules, runtime)
            if isinstance(schema, LiaisonSchema) and runtime.settings.graphql_compiled
            else None
        )

    def decode_json(self, data: str | bytes) -> object:
        try:
            body = json.loads(data)  # not orjson: it refuses lone surrogates the text rule names
        except RecursionError:  # nested deeper than Python's stack: not JSON we can read
            raise json.JSONDecodeError("the body nests too deep", "", 0) from None
        except UnicodeDecodeError:  # JSON is UTF-8 (RFC 8259); these bytes are not
            raise json.JSONDecodeError("the body is not UTF-8", "", 0) from None
        if not isinstance(body, dict):
            raise HTTPException(400, "The body must be a JSON object with a `query`")
        return body

    def encode_json(self, data: object) -> str:
        # Text, not bytes: WebSocket frames are sent with send_text, which needs a str.
        try:
            return orjson.dumps(data).decode()
        except orjson.JSONEncodeError:
            # An error message echoing a lone surrogate of the request (a DateTime variable
            # "\ud800"): UTF-8 cannot hold it, so orjson refuses; JSON's \u escape can.
            return json.dumps(data, separators=(",", ":"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Authenticate an HTTP call before Strawberry reads it; a refusal is a GraphQL error
        response with its code (401 UNAUTHENTICATED, or 503 SERVICE_UNAVAILABLE when the
        directory or the identity provider's keys cannot be read now), so the gateway passes
        it on to the client as it is."""
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)
        refusal = await self._authenticate(request)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        if self.compiled is not None and request.method == "POST":
            body = await request.body()
            answer = await self.compiled.answer(body, request.state.principal)
            if answer is not None:
                response = Response(answer, media_type="application/json")
                response.headers[EXECUTION_HEADER] = "compiled"
                await response(scope, receive, send)
                return
            receive = _replay(body)
        await super().__call__(scope, receive, send)

    async def _authenticate(self, request: Request) -> JSONResponse | None:
        runtime = self.runtime
        try:
            check_gateway_secret(request.headers.get(GATEWAY_SECRET_HEADER), runtime.settings)
            request.state.principal = await authenticate(
                request.headers.get("authorization"), runtime.tokens, runtime.directory
            )
        except SigningKeysUnavailable as exc:
            return _refusal(503, ErrorCode.SERVICE_UNAVAILABLE, f"{exc}; try again shortly")
        except AuthError as exc:
            return _refusal(401, ErrorCode.UNAUTHENTICATED, str(exc))
        except DATABASE_OUTAGES:
            message = "the directory cannot be read right now; try again shortly"
            return _refusal(503, ErrorCode.SERVICE_UNAVAILABLE, message)
        return None

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        context = Context(runtime=self.runtime, request=request)
        if isinstance(request, Request):
            context.principal_or_none = request.state.principal  # set by __call__
        # A WebSocket is authenticated in on_ws_connect, from its connection_init.
        return context

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        params = context.connection_params or {}
        headers = context.request.headers
        settings = self.runtime.settings
        try:
            check_gateway_secret(
                _param(params, GATEWAY_SECRET_HEADER) or headers.get(GATEWAY_SECRET_HEADER),
                settings,
            )
            context.principal_or_none = await authenticate(
                _param(params, "authorization") or headers.get("authorization"),
                self.runtime.tokens,
                self.runtime.directory,
            )
        except AuthError as exc:
            log.info("WebSocket refused: %s", exc)
            raise SessionRefused() from exc  # closed with 4401 (ws_sessions.py)
        return await super().on_ws_connect(context)
