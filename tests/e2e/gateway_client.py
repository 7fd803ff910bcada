"""A front end's view of Liaison: GraphQL over HTTP and graphql-transport-ws through the gateway."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import websockets

from shared.auth import issue_token
from shared.settings import Settings
from tests.enrolment import enrol_everywhere
from tests.support import Caller, GraphQLFailure, RuntimeCache


class GatewayClient:
    """Calls as a test's callers, each put in the stack's directory first (tests/enrolment.py)."""

    def __init__(self, url: str, settings: Settings, runtimes: RuntimeCache) -> None:
        self.url = url
        self.settings = settings
        self.runtimes = runtimes
        self._enrolled: dict[str, Caller] = {}

    def token(self, caller: Caller) -> str:
        return issue_token(self.settings, caller.sub)

    async def enrol(self, caller: Caller) -> None:
        if self._enrolled.get(caller.sub) != caller:  # a partner's scopes may change
            await enrol_everywhere(self.runtimes, caller)
            self._enrolled[caller.sub] = caller

    async def post(
        self, query: str, variables: dict[str, Any] | None = None, *, caller: Caller | None
    ) -> httpx.Response:
        if caller is not None:
            await self.enrol(caller)
        headers = {"authorization": f"Bearer {self.token(caller)}"} if caller else {}
        async with httpx.AsyncClient(timeout=10) as http:
            return await http.post(
                self.url, json={"query": query, "variables": variables or {}}, headers=headers
            )

    async def execute(
        self, query: str, variables: dict[str, Any] | None = None, *, caller: Caller
    ) -> dict[str, Any]:
        response = await self.post(query, variables, caller=caller)
        assert response.status_code == 200, response.text
        body = response.json()
        if body.get("errors"):
            raise GraphQLFailure(body["errors"])
        data: dict[str, Any] = body["data"]
        return data

    @asynccontextmanager
    async def subscribe(
        self, query: str, *, caller: Caller
    ) -> AsyncIterator[Callable[[float], Awaitable[dict[str, Any]]]]:
        """Open a subscription; yields ``next_event(seconds)`` returning each event's data."""
        await self.enrol(caller)
        ws_url = self.url.replace("http://", "ws://")
        async with websockets.connect(ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
            auth = {"authorization": f"Bearer {self.token(caller)}"}
            await ws.send(json.dumps({"type": "connection_init", "payload": auth}))
            ack = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert ack["type"] == "connection_ack", ack
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))

            async def next_event(seconds: float) -> dict[str, Any]:
                while True:
                    message = json.loads(await asyncio.wait_for(ws.recv(), seconds))
                    if message["type"] == "next":
                        if message["payload"].get("errors"):
                            raise GraphQLFailure(message["payload"]["errors"])
                        data: dict[str, Any] = message["payload"]["data"]
                        return data
                    if message["type"] in ("error", "complete"):
                        raise GraphQLFailure(message)

            yield next_event
