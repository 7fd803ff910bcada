"""The ``/graphql`` endpoint of a subgraph: authenticates every HTTP call and WebSocket."""

from __future__ import annotations

import json
import logging
from typing import Any

import orjson
from cross_web import HTTPException
from starlette.requests import Request
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.schema import BaseSchema
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UnsetType

from shared.auth import (
    GATEWAY_SECRET_HEADER,
    AuthError,
    check_gateway_secret,
    principal_from_authorization,
)
from shared.graphql.context import Context
from shared.runtime import ServiceRuntime

log = logging.getLogger(__name__)


def _param(params: dict[str, Any], name: str) -> str | None:
    """A connection_init parameter, whatever the case the client used for its name."""
    for key, value in params.items():
        if key.lower() == name and isinstance(value, str):
            return value
    headers = params.get("headers")
    return _param(headers, name) if isinstance(headers, dict) else None


class SubgraphView(GraphQL[Context, None]):
    """Strawberry's ASGI view with Liaison's authentication and orjson output."""

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

    def decode_json(self, data: str | bytes) -> object:
        try:
            body = json.loads(data)  # not orjson: it refuses lone surrogates the text rule names
        except RecursionError:  # nested deeper than Python's stack: not JSON we can read
            raise json.JSONDecodeError("the body nests too deep", "", 0) from None
        if not isinstance(body, dict):
            raise HTTPException(400, "The body must be a JSON object with a `query`")
        return body

    def encode_json(self, data: object) -> str:
        # Text, not bytes: WebSocket frames are sent with send_text, which needs a str.
        return orjson.dumps(data).decode()

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        context = Context(runtime=self.runtime, request=request)
        if isinstance(request, WebSocket):
            return context  # authenticated in on_ws_connect, from connection_init
        settings = self.runtime.settings
        try:
            check_gateway_secret(request.headers.get(GATEWAY_SECRET_HEADER), settings)
            context.principal_or_none = principal_from_authorization(
                request.headers.get("authorization"), settings
            )
        except AuthError as exc:
            raise HTTPException(401, str(exc)) from exc
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
            context.principal_or_none = principal_from_authorization(
                _param(params, "authorization") or headers.get("authorization"), settings
            )
        except AuthError as exc:
            log.info("WebSocket refused: %s", exc)
            raise ConnectionRejectionError() from exc
        return await super().on_ws_connect(context)
