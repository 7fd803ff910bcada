"""WebSocket sessions at the real gateway end with their tokens (gateway/ws-sessions.ts): a
connection_init without a valid token is closed with 4401 and never acknowledged; an admitted
connection is closed with 4403 when its token expires, and a fresh token connects again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import jwt
import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from shared.auth import issue_token
from shared.settings import Settings
from tests.gateway.conftest import Gateway, Gateways

SHORT_TTL = timedelta(seconds=3)


@pytest.fixture(scope="module")
def gateway(gateway_packages: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """One gateway for the module's tests: none of them changes its settings."""
    started = Gateways(tmp_path_factory.mktemp("ws-sessions"))
    gateway = started.start("ws-sessions", {})
    started.wait_ready()
    yield gateway
    started.group.stop()


def ws_connect(gateway: Gateway) -> Any:
    url = gateway.url.replace("http://", "ws://") + "/graphql"
    return connect(url, subprotocols=[Subprotocol("graphql-transport-ws")], open_timeout=5)


async def answer(ws: ClientConnection, seconds: float = 5.0) -> dict[str, Any] | int:
    """The gateway's next protocol message, or the code it closes the socket with instead."""
    try:
        while True:
            message: dict[str, Any] = orjson.loads(await asyncio.wait_for(ws.recv(), seconds))
            if message["type"] not in ("ping", "pong"):
                return message
    except ConnectionClosed as closed:
        frame = closed.rcvd
    assert frame is not None, "the socket closed without a close frame"
    return frame.code


async def answer_to_init(ws: ClientConnection, payload: dict[str, Any]) -> dict[str, Any] | int:
    await ws.send(orjson.dumps({"type": "connection_init", "payload": payload}).decode())
    return await answer(ws)


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param({}, id="no-token"),
        pytest.param(
            bearer(issue_token(Settings(), "zhou-pmo", ttl=-timedelta(minutes=10))), id="expired"
        ),
        pytest.param(
            bearer(issue_token(Settings(jwt_secret="not-the-gateways-" * 4), "zhou-pmo")),
            id="bad-signature",
        ),
        pytest.param({"authorization": "Bearer not-a-jwt"}, id="not-a-jwt"),
    ],
)
async def test_a_connection_init_without_a_valid_token_is_closed_with_4401(
    gateway: Gateway, payload: dict[str, Any]
) -> None:
    async with ws_connect(gateway) as ws:
        assert await answer_to_init(ws, payload) == 4401


async def test_a_session_closes_with_4403_when_its_token_expires(gateway: Gateway) -> None:
    token = issue_token(Settings(), "zhou-pmo", ttl=SHORT_TTL)
    expires_at = jwt.decode(token, options={"verify_signature": False})["exp"]
    async with ws_connect(gateway) as ws:
        assert await answer_to_init(ws, bearer(token)) == {"type": "connection_ack"}
        # Waits for the close frame (with a timeout), whenever before that it comes.
        assert await answer(ws, seconds=SHORT_TTL.total_seconds() + 5) == 4403
        assert time.time() >= expires_at, "closed before the token expired"

    async with ws_connect(gateway) as ws:
        fresh = issue_token(Settings(), "zhou-pmo")
        assert await answer_to_init(ws, bearer(fresh)) == {"type": "connection_ack"}
