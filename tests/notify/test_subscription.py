"""The ``notifications`` subscription end to end over a real WebSocket (graphql-transport-ws)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
import uvicorn
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from services.notify.app import MIGRATIONS
from services.notify.schema import create_schema
from shared.app import create_app
from shared.auth import GATEWAY_SECRET_HEADER, issue_token
from shared.runtime import ServiceRuntime
from tests.notify.conftest import Events, issue_reported
from tests.support import SubgraphClient

SUBSCRIBE = "subscription { notifications { id type title urgency readAt recipient { id } } }"


@pytest.fixture
async def ws_url(notify_api: SubgraphClient) -> AsyncIterator[str]:
    """The notify app served by uvicorn on a free port, sharing the test's runtime."""
    runtime = notify_api.runtime
    app = create_app(
        "notify", create_schema, MIGRATIONS, settings=runtime.settings, runtime=runtime
    )
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "uvicorn did not start"
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"ws://127.0.0.1:{port}/graphql"
    server.should_exit = True
    await asyncio.wait_for(task, 10)


def connection_params(runtime: ServiceRuntime, sub: str, *, secret: bool = True) -> dict[str, str]:
    token = issue_token(runtime.settings, sub, departments=["ops"])
    params = {"authorization": f"Bearer {token}"}
    if secret:
        params[GATEWAY_SECRET_HEADER] = runtime.settings.gateway_secret
    return params


async def send(ws: ClientConnection, message: dict[str, Any]) -> None:
    await ws.send(orjson.dumps(message).decode())


async def receive(ws: ClientConnection, seconds: float = 2.0) -> dict[str, Any]:
    """The next protocol message other than keep-alive pings."""
    while True:
        message: dict[str, Any] = orjson.loads(await asyncio.wait_for(ws.recv(), seconds))
        if message["type"] not in ("ping", "pong"):
            return message


async def subscribers(runtime: ServiceRuntime, person_id: str) -> int:
    channel = runtime.keys.notifications_channel(person_id)
    [(_, count)] = await runtime.redis.pubsub_numsub(channel)
    return int(count)


async def wait_for_subscribers(runtime: ServiceRuntime, person_id: str, expected: int) -> None:
    # graphql-transport-ws does not acknowledge a subscribe; watch Redis for it instead.
    for _ in range(200):
        if await subscribers(runtime, person_id) == expected:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{person_id} has {await subscribers(runtime, person_id)} subscribers")


def ws_connect(url: str) -> Any:
    return connect(url, subprotocols=[Subprotocol("graphql-transport-ws")], open_timeout=5)


async def test_new_notification_arrives_over_websocket(
    ws_url: str, notify_api: SubgraphClient, events: Events
) -> None:
    runtime = notify_api.runtime
    async with ws_connect(ws_url) as ws:
        await send(ws, {"type": "connection_init", "payload": connection_params(runtime, "zhou")})
        assert (await receive(ws))["type"] == "connection_ack"
        await send(ws, {"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}})
        await wait_for_subscribers(runtime, "zhou", 1)

        assert await events.handle(issue_reported("i0", lead="rd"))  # chen's: not delivered
        assert await events.handle(issue_reported("i1", lead="ops", urgent=True))

        message = await receive(ws, seconds=2.0)
        assert message["type"] == "next"
        assert message["id"] == "1"
        notification = message["payload"]["data"]["notifications"]
        assert notification["recipient"] == {"id": "zhou"}
        assert notification["type"] == "issues.issue.reported"
        assert notification["urgency"] == "URGENT"
        assert notification["readAt"] is None
        stored = await runtime.pool.fetchval(
            "SELECT id FROM notifications WHERE recipient_id = 'zhou'"
        )
        assert notification["id"] == stored

        await send(ws, {"id": "1", "type": "complete"})
        await wait_for_subscribers(runtime, "zhou", 0)  # the pub/sub connection is released


async def test_closing_the_socket_releases_the_subscription(
    ws_url: str, notify_api: SubgraphClient
) -> None:
    runtime = notify_api.runtime
    async with ws_connect(ws_url) as ws:
        await send(ws, {"type": "connection_init", "payload": connection_params(runtime, "li")})
        assert (await receive(ws))["type"] == "connection_ack"
        await send(ws, {"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}})
        await wait_for_subscribers(runtime, "li", 1)
    await wait_for_subscribers(runtime, "li", 0)


async def test_connection_init_without_gateway_secret_is_refused(
    ws_url: str, notify_api: SubgraphClient
) -> None:
    params = connection_params(notify_api.runtime, "zhou", secret=False)
    async with ws_connect(ws_url) as ws:
        await send(ws, {"type": "connection_init", "payload": params})
        with pytest.raises(ConnectionClosed) as closed:
            await receive(ws)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4403
