"""A subgraph's WebSocket sessions (graphql-transport-ws) end with their tokens.

- A ``connection_init`` that ``on_ws_connect`` refuses (:class:`SessionRefused`: no valid
  token or no gateway secret) closes the socket with 4401 Unauthorized, never a
  ``connection_ack``. Strawberry's own refusal, ``ConnectionRejectionError``, always closes with
  4403, which Liaison keeps for the end of a session.
- An admitted connection closes with 4403 Forbidden when its token expires
  (:attr:`shared.auth.Principal.expires_at`); the client (the gateway) reconnects with a
  fresh token. The gateway closes its clients' connections the same way (gateway/ws-sessions.ts).
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
from datetime import UTC, datetime

from starlette.websockets import WebSocketDisconnect, WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ConnectionInitMessage

from shared.graphql.context import Context

UNAUTHORIZED = 4401
EXPIRED = 4403


class SessionRefused(Exception):
    """Raised by ``on_ws_connect``: the socket closes with 4401 and is not acknowledged."""


class SessionHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """Strawberry's graphql-transport-ws handler with Liaison's session rules."""

    _expiry: asyncio.TimerHandle | None = None
    _closing: asyncio.Task[None] | None = None

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        try:
            await super().handle_connection_init(message)
        except SessionRefused:
            await self.websocket.close(code=UNAUTHORIZED, reason="Unauthorized")
            return
        principal = self.context.principal_or_none
        expires_at = principal.expires_at if principal is not None else None
        # Armed once: a second connection_init only makes Strawberry close the socket (4429).
        if self.connection_acknowledged and self._expiry is None and expires_at is not None:
            self._arm(expires_at)

    def _arm(self, expires_at: datetime) -> None:
        delay = max(0.0, (expires_at - datetime.now(UTC)).total_seconds())
        self._expiry = asyncio.get_running_loop().call_later(delay, self._expire)

    def _expire(self) -> None:
        self._closing = asyncio.create_task(self._close_expired())

    async def _close_expired(self) -> None:
        # Operations end first, so none of them sends on the socket once it is closing.
        for operation_id in list(self.operations):
            await self.cleanup_operation(operation_id)
        # The client may have left, or the socket been closed for another reason, meanwhile.
        with suppress(WebSocketDisconnect, WebSocketDisconnected):
            await self.websocket.close(code=EXPIRED, reason="Token expired")

    async def shutdown(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
        # A close under way is let finish (its closing handshake may outlast the receive
        # loop), rather than cancelled halfway.
        if self._closing is not None:
            await self._closing
        await super().shutdown()
