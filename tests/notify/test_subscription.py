"""The ``notifications`` subscription end to end over a real WebSocket (graphql-transport-ws)."""

from __future__ import annotations

import asyncio

import pytest
from websockets.exceptions import ConnectionClosed

from shared.auth import GATEWAY_SECRET_HEADER, issue_token
from shared.runtime import ServiceRuntime
from tests.notify.conftest import Events, issue_reported, receive, send, ws_connect
from tests.support import Caller, SubgraphClient

SUBSCRIBE = "subscription { notifications { id type title urgency readAt recipient { id } } }"


async def connection_params(
    api: SubgraphClient, sub: str, *, secret: bool = True
) -> dict[str, str]:
    """connection_init parameters of ``sub``, enrolled in the directory first."""
    await api.enrol(Caller(sub))
    runtime = api.runtime
    token = issue_token(runtime.settings, sub)
    params = {"authorization": f"Bearer {token}"}
    if secret:
        params[GATEWAY_SECRET_HEADER] = runtime.settings.gateway_secret
    return params


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


async def test_new_notification_arrives_over_websocket(
    ws_url: str, notify_api: SubgraphClient, events: Events
) -> None:
    runtime = notify_api.runtime
    async with ws_connect(ws_url) as ws:
        await send(
            ws, {"type": "connection_init", "payload": await connection_params(notify_api, "zhou")}
        )
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
        await send(
            ws, {"type": "connection_init", "payload": await connection_params(notify_api, "li")}
        )
        assert (await receive(ws))["type"] == "connection_ack"
        await send(ws, {"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}})
        await wait_for_subscribers(runtime, "li", 1)
    await wait_for_subscribers(runtime, "li", 0)


async def test_connection_init_without_gateway_secret_is_refused(
    ws_url: str, notify_api: SubgraphClient
) -> None:
    params = await connection_params(notify_api, "zhou", secret=False)
    async with ws_connect(ws_url) as ws:
        await send(ws, {"type": "connection_init", "payload": params})
        with pytest.raises(ConnectionClosed) as closed:
            await receive(ws)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401  # Unauthorized (shared/graphql/ws_sessions.py)
