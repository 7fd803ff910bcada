"""What a subgraph refuses before its GraphQL view reads anything (the gateway refuses the
same at the edge, gateway/edge.ts):

* a body larger than ``LIAISON_MAX_BODY_BYTES``: HTTP 413, ``PAYLOAD_TOO_LARGE``. The body is
  counted as it arrives; ``Content-Length`` only lets a declared oversize be refused at once,
  and a chunked body or a lying header is cut off at the limit all the same;
* a POST to ``/graphql`` that is not JSON (``application/json`` or
  ``application/graphql-response+json``): HTTP 415, ``UNSUPPORTED_MEDIA_TYPE``. Forms,
  ``multipart/form-data`` and ``text/plain`` are what a browser posts cross-site without a
  preflight; none of them runs.

Either answer is a GraphQL response with the code (docs/errors.md), and nothing executes.
"""

from __future__ import annotations

import logging

import orjson
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.graphql.error_codes import ErrorCode

log = logging.getLogger("shared.graphql.errors")

GRAPHQL_MEDIA_TYPES = frozenset({"application/json", "application/graphql-response+json"})
"""The ``Content-Type`` of a POST that executes."""


def is_graphql_media_type(content_type: str | None) -> bool:
    """``content_type`` (parameters such as ``charset`` aside) is JSON."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return media_type in GRAPHQL_MEDIA_TYPES


FILE_ROUTES = "/files/"
"""Uploads under this path (spreadsheet imports) bound their own bodies, by the file size
they accept (:func:`shared.spreadsheets.upload_bytes`), so the guard passes them on unread."""


class RequestGuard:
    """ASGI middleware: the body limit for every HTTP request but file uploads, the media type
    for POSTs to ``graphql_path``. A body within the limit is read whole and handed on
    unchanged."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, graphql_path: str = "/graphql") -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.graphql_path = graphql_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(FILE_ROUTES):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if (
            scope["method"] == "POST"
            and scope["path"] == self.graphql_path
            and not is_graphql_media_type(headers.get("content-type"))
        ):
            await self._refuse(
                send,
                415,
                ErrorCode.UNSUPPORTED_MEDIA_TYPE,
                "A GraphQL POST must be JSON: send Content-Type: application/json.",
            )
            return
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._too_large(send)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client went away; nothing to answer
            body += message.get("body", b"")
            if len(body) > self.max_body_bytes:
                await self._too_large(send)
                return
            if not message.get("more_body", False):
                break
        if headers.get("content-type", "").lower().startswith(_RESPONSE_JSON):
            # Strawberry reads only application/json; this is the same JSON
            scope = {**scope, "headers": _as_json(scope["headers"])}
        await self.app(scope, _replay(bytes(body), receive), send)

    async def _too_large(self, send: Send) -> None:
        await self._refuse(
            send,
            413,
            ErrorCode.PAYLOAD_TOO_LARGE,
            f"The request body is larger than {self.max_body_bytes} bytes.",
        )

    @staticmethod
    async def _refuse(send: Send, status: int, code: ErrorCode, message: str) -> None:
        log.info("refused (%s): %s", code.value, message)
        body = orjson.dumps({"errors": [{"message": message, "extensions": {"code": code.value}}]})
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),  # the rest of the body is not read
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


_RESPONSE_JSON = "application/graphql-response+json"


def _as_json(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    return [
        (name, b"application/json") if name.lower() == b"content-type" else (name, value)
        for name, value in headers
    ]


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands over ``body`` once, then waits on the real one (for the
    disconnect a streaming response listens for)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
