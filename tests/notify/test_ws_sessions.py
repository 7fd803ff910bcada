"""A subgraph's WebSocket sessions end with their tokens (shared/graphql/ws_sessions.py), over a
real uvicorn server of the notify app: a connection_init without a valid token is closed with
4401 and never acknowledged; an admitted connection is closed with 4403 when its token expires,
ending its subscriptions, and a fresh token connects again."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import jwt
import pytest
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from shared.auth import GATEWAY_SECRET_HEADER, issue_token
from shared.settings import Settings
from tests.notify.conftest import receive, send, ws_connect
from tests.notify.test_subscription import SUBSCRIBE, wait_for_subscribers
from tests.support import Caller, SubgraphClient

SHORT_TTL = timedelta(seconds=3)
ZHOU = Caller("zhou")


async def answer(ws: ClientConnection, seconds: float = 5.0) -> dict[str, Any] | int:
    """The server's next protocol message, or the code it closes the socket with instead."""
    try:
        return await receive(ws, seconds)
    except ConnectionClosed as closed:
        frame = closed.rcvd
    assert frame is not None, "the socket closed without a close frame"
    return frame.code


async def answer_to_init(ws: ClientConnection, payload: dict[str, Any]) -> dict[str, Any] | int:
    await send(ws, {"type": "connection_init", "payload": payload})
    return await answer(ws)


def params(settings: Settings, token: str | None) -> dict[str, str]:
    """connection_init payload as the gateway sends it: its secret, the client's token."""
    payload = {GATEWAY_SECRET_HEADER: settings.gateway_secret}
    if token is not None:
        payload["authorization"] = f"Bearer {token}"
    return payload


@pytest.mark.parametrize("token", ["none", "expired", "bad-signature", "not-a-jwt"])
async def test_a_connection_init_without_a_valid_token_is_closed_with_4401(
    ws_url: str, notify_api: SubgraphClient, token: str
) -> None:
    settings = notify_api.runtime.settings
    await notify_api.enrol(ZHOU)
    tokens = {
        "none": None,
        "expired": issue_token(settings, ZHOU.sub, ttl=-timedelta(minutes=10)),
        "bad-signature": issue_token(
            settings.model_copy(update={"jwt_secret": "not-the-subgraphs-" * 4}), ZHOU.sub
        ),
        "not-a-jwt": "not-a-jwt",
    }
    async with ws_connect(ws_url) as ws:
        assert await answer_to_init(ws, params(settings, tokens[token])) == 4401


async def test_a_session_closes_with_4403_when_its_token_expires(
    ws_url: str, notify_api: SubgraphClient
) -> None:
    runtime = notify_api.runtime
    await notify_api.enrol(ZHOU)
    token = issue_token(runtime.settings, ZHOU.sub, ttl=SHORT_TTL)
    expires_at = jwt.decode(token, options={"verify_signature": False})["exp"]
    async with ws_connect(ws_url) as ws:
        assert await answer_to_init(ws, params(runtime.settings, token)) == {
            "type": "connection_ack"
        }
        await send(ws, {"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}})
        await wait_for_subscribers(runtime, ZHOU.sub, 1)

        # Waits for the close frame (with a timeout), whenever before that it comes.
        assert await answer(ws, seconds=SHORT_TTL.total_seconds() + 5) == 4403
        assert time.time() >= expires_at, "closed before the token expired"
    await wait_for_subscribers(runtime, ZHOU.sub, 0)  # the subscription ended with the session

    async with ws_connect(ws_url) as ws:
        fresh = issue_token(runtime.settings, ZHOU.sub)
        assert await answer_to_init(ws, params(runtime.settings, fresh)) == {
            "type": "connection_ack"
        }
