"""Notify test helpers: feed events to the notify service the way its worker does."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage
from typing import Any

import orjson
import pytest
import uvicorn
from aiosmtpd.controller import Controller
from pydantic import BaseModel
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from services.notify import worker as notify_worker
from services.notify.app import MIGRATIONS
from services.notify.handlers import EVENT_HANDLERS
from services.notify.schema import create_schema
from shared.app import create_app
from shared.events.consumer import Consumer
from shared.events.contracts.issues import IssueReported, IssueSlaBreached
from shared.events.contracts.requests import DepartmentUpserted, PersonUpserted
from shared.events.contracts.tasks import RaciEntry, TaskCreated
from shared.events.envelope import EventEnvelope, new_event
from shared.settings import Settings
from shared.worker import LiaisonWorker
from tests.support import (
    Caller,
    RuntimeCache,
    SubgraphClient,
    in_process_worker,
    reset_service,
)

# Department -> head; "legal" has no head.
HEADS = {"mkt": "li", "rd": "chen", "ops": "zhou", "legal": None}


class Events:
    """Hands events to notify's consumer (replica + routing handlers), as the worker would."""

    def __init__(self, api: SubgraphClient) -> None:
        self.consumer = Consumer(api.runtime, EVENT_HANDLERS)

    async def handle(self, envelope: EventEnvelope) -> bool:
        return await self.consumer.handle(envelope)

    async def emit(self, source: str, type_: str, subject: str, data: BaseModel) -> EventEnvelope:
        envelope = new_event(source, type_, subject, data)
        assert await self.handle(envelope)
        return envelope

    async def seed_directory(self) -> None:
        for department, head in HEADS.items():
            data = DepartmentUpserted(
                id=department,
                code=department.upper(),
                name=department,
                region_id="hq",
                head_id=head,
            )
            await self.emit("requests", "requests.department.upserted", department, data)


@pytest.fixture
async def events(notify_api: SubgraphClient) -> Events:
    """An event feed into a clean notify service whose directory replica knows ``HEADS``."""
    feed = Events(notify_api)
    await feed.seed_directory()
    return feed


def task_created(
    task_id: str, raci: list[RaciEntry], title: str = "Launch posters"
) -> EventEnvelope:
    data = TaskCreated(id=task_id, request_id="cr1", title=title, raci=raci, created_by="li")
    return new_event("tasks", "tasks.task.created", task_id, data)


def issue_reported(issue_id: str, lead: str = "ops", *, urgent: bool = False) -> EventEnvelope:
    data = IssueReported(
        id=issue_id,
        code="IS-0001",
        request_id="cr1",
        title="Stock shortfall in East China",
        severity="HIGH",
        urgent=urgent,
        lead_department_id=lead,
        reporter_id="wang",
    )
    return new_event("issues", "issues.issue.reported", issue_id, data)


def sla_breached(issue_id: str, lead: str = "ops") -> EventEnvelope:
    now = datetime.now(UTC)
    data = IssueSlaBreached(
        issue_id=issue_id,
        metric="RESPONSE",
        due_at=now - timedelta(minutes=1),
        breached_at=now,
        lead_department_id=lead,
    )
    return new_event("issues", "issues.issue.sla_breached", issue_id, data)


# --- fan-out: per-test settings, a real arq worker, a real SMTP server, partner tokens ---------

NOTIFY_OVERRIDES: dict[str, Any] = {
    "notify_allow_private_urls": True,  # the fake partners and robots listen on 127.0.0.1
    "notify_retry_schedule": [0.2, 0.2, 0.2],
    "notify_delivery_lease_seconds": 2.0,
    "notify_webhook_timeout_seconds": 2.0,
    "smtp_host": "127.0.0.1",
}


class Mailbox:
    """aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=email_policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    """A real SMTP server (aiosmtpd) on a free local port."""
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield mailbox, port
    controller.stop()


@pytest.fixture
def mailbox(smtp_server: tuple[Mailbox, int]) -> Mailbox:
    smtp_server[0].messages.clear()
    return smtp_server[0]


@pytest.fixture
async def notify_api(
    runtimes: RuntimeCache, settings: Settings, smtp_server: tuple[Mailbox, int]
) -> AsyncIterator[SubgraphClient]:
    """notify over HTTP on an empty database, with settings of its own for this test."""
    own = settings.model_copy(update={**NOTIFY_OVERRIDES, "smtp_port": smtp_server[1]})
    runtime = dataclasses.replace(await runtimes.get("notify"), settings=own)
    await reset_service(runtime)
    async with SubgraphClient.open("notify", runtime) as client:
        yield client


@pytest.fixture
async def worker(notify_api: SubgraphClient) -> AsyncIterator[LiaisonWorker]:
    """The notify arq worker, in process, running jobs as deliveries are queued."""
    config = notify_worker.settings(notify_api.runtime.settings)
    async with in_process_worker(config, poll_delay=0.02) as running:
        yield running


def partner(sub: str, scopes: list[str]) -> Caller:
    """A partner client scoped to ``scopes`` (event types, ``prefix.*`` or ``*``): enrolled
    with them, since the directory, not the token, says what it may see."""
    return Caller(sub, roles=("PARTNER",), scopes=tuple(scopes))


async def execute_as_partner(
    api: SubgraphClient,
    sub: str,
    scopes: list[str],
    query: str,
    variables: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run an operation as the partner client ``sub`` scoped to ``scopes``."""
    return await api.execute(query, variables, caller=partner(sub, scopes))


async def wait_for(
    check: Callable[[], Awaitable[bool]], seconds: float = 15.0, what: str = "condition"
) -> None:
    """Poll ``check`` until it holds (deliveries run in the worker, asynchronously)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def delivery_rows(api: SubgraphClient, kind: str | None = None) -> list[dict[str, Any]]:
    rows = await api.runtime.pool.fetch(
        "SELECT * FROM deliveries WHERE $1::text IS NULL OR target_kind = $1 ORDER BY id", kind
    )
    return [dict(r) for r in rows]


async def seed_people(events: Events, *people: tuple[str, str, str]) -> None:
    """Directory entries (id, department, time zone) with e-mail ``<id>@x.example``."""
    for person_id, department, zone in people:
        data = PersonUpserted(
            id=person_id,
            name=person_id.capitalize(),
            email=f"{person_id}@x.example",
            department_id=department,
            region_id="hq",
            time_zone=zone,
            roles=["MEMBER"],
        )
        await events.emit("requests", "requests.person.upserted", person_id, data)


# --- WebSocket (graphql-transport-ws) -------------------------------------------------------


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


async def send(ws: ClientConnection, message: dict[str, Any]) -> None:
    await ws.send(orjson.dumps(message).decode())


async def receive(ws: ClientConnection, seconds: float = 2.0) -> dict[str, Any]:
    """The next protocol message other than keep-alive pings."""
    while True:
        message: dict[str, Any] = orjson.loads(await asyncio.wait_for(ws.recv(), seconds))
        if message["type"] not in ("ping", "pong"):
            return message


def ws_connect(url: str) -> Any:
    return connect(url, subprotocols=[Subprotocol("graphql-transport-ws")], open_timeout=5)
