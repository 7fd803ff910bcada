"""The metrics listener's ``/healthz`` and ``/readyz``, which probe workers and the relay.

In process: the real listener thread and real PostgreSQL and Redis, reached through a TCP
forwarder the test can cut (the database becomes unreachable, not merely a closed pool). Then
real worker and relay processes, as the manifests probe them.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis

from devstack.processes import ProcessSpec
from devstack.stack import process_group
from shared.observability import health
from shared.observability.metrics import start_metrics_server
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from tests.deploy.shutdown_worker import SERVICE

STALE_AFTER = 0.5


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Forwarder:
    """A TCP forwarder to PostgreSQL; ``cut()`` closes it and every connection through it."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self.writers += [writer, up_writer]
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        writer.close()

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.writers:
            writer.close()
        await self.server.wait_closed()


@pytest.fixture
def listener(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The metrics listener on a free port, with no probes registered before the test."""
    monkeypatch.setattr(health, "_current", None)
    port = free_port()
    server = start_metrics_server(port, "127.0.0.1")
    assert server is not None
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    assert settings.redis_url
    client = Redis.from_url(settings.redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def forwarded_pool(settings: Settings) -> AsyncIterator[tuple[asyncpg.Pool, Forwarder]]:
    """A pool to the test PostgreSQL through a forwarder the test can cut."""
    assert settings.database_url
    url = urlsplit(settings.database_url)
    forwarder = Forwarder((url.hostname or "127.0.0.1", url.port or 5432))
    port = await forwarder.start()
    dsn = url._replace(netloc=f"{url.username or 'postgres'}@127.0.0.1:{port}").geturl()
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    yield pool, forwarder
    with contextlib.suppress(Exception):
        await forwarder.cut()
    pool.terminate()


async def get(base: str, path: str) -> tuple[int, dict[str, Any]]:
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        response = await client.get(path)
    return response.status_code, response.json()


async def test_ready_when_database_and_redis_answer_then_503_when_the_database_is_cut(
    listener: str, redis: Redis, forwarded_pool: tuple[asyncpg.Pool, Forwarder]
) -> None:
    pool, forwarder = forwarded_pool
    health.serve_probes(redis=redis, databases={"probe": pool}, stopping=asyncio.Event())

    assert await get(listener, "/readyz") == (
        200,
        {"status": "ok", "database:probe": "ok", "redis": "ok"},
    )
    assert await get(listener, "/healthz") == (200, {"status": "ok"})

    await forwarder.cut()
    started = time.monotonic()
    status, body = await get(listener, "/readyz")
    assert status == 503
    assert body["status"] == "unavailable"
    assert body["database:probe"].startswith("error: ")
    assert body["redis"] == "ok"
    assert time.monotonic() - started < health.CHECK_TIMEOUT_SECONDS + 1
    # unreachable dependencies do not make the process dead: no restart for that
    assert await get(listener, "/healthz") == (200, {"status": "ok"})


async def test_a_database_url_is_checked_on_a_fresh_connection(
    listener: str, redis: Redis, settings: Settings
) -> None:
    """The relay's form: a URL per service; one that refuses connections is not ready."""
    assert settings.database_url
    health.serve_probes(
        redis=redis,
        databases={
            "up": settings.database_url,
            "down": f"postgresql://postgres@127.0.0.1:{free_port()}/postgres",
        },
        stopping=asyncio.Event(),
    )
    status, body = await get(listener, "/readyz")
    assert status == 503
    assert body["database:up"] == "ok"
    assert body["database:down"].startswith("error: ")


async def test_stopping_is_not_ready_but_alive(
    listener: str, redis: Redis, forwarded_pool: tuple[asyncpg.Pool, Forwarder]
) -> None:
    stopping = asyncio.Event()
    health.serve_probes(redis=redis, databases={"probe": forwarded_pool[0]}, stopping=stopping)
    stopping.set()
    assert await get(listener, "/readyz") == (503, {"status": "stopping"})
    assert await get(listener, "/healthz") == (200, {"status": "ok"})


def stuck_loop_probes(listener: str) -> tuple[httpx.Response, httpx.Response]:
    """Called from the loop, this blocks it like a job that never yields; only the
    listener's thread answers meanwhile."""
    time.sleep(STALE_AFTER + 0.2)
    return httpx.get(f"{listener}/healthz", timeout=10), httpx.get(f"{listener}/readyz", timeout=10)


async def test_a_blocked_event_loop_fails_liveness(
    listener: str, redis: Redis, forwarded_pool: tuple[asyncpg.Pool, Forwarder]
) -> None:
    health.serve_probes(
        redis=redis,
        databases={"probe": forwarded_pool[0]},
        stopping=asyncio.Event(),
        stale_after=STALE_AFTER,
    )
    await asyncio.sleep(STALE_AFTER * 2)  # the loop runs: the heartbeat stays fresh
    assert await get(listener, "/healthz") == (200, {"status": "ok"})

    alive, ready = stuck_loop_probes(listener)
    assert alive.status_code == 503
    assert alive.json()["heartbeat"].startswith("stale: ")
    assert ready.status_code == 503
    assert ready.json() == {"status": "unavailable", "loop": "not answering"}

    await asyncio.sleep(health.HEARTBEAT_SECONDS * 2)  # unblocked: alive again
    assert await get(listener, "/healthz") == (200, {"status": "ok"})


def test_a_process_that_registers_nothing_answers_ok(listener: str) -> None:
    """A subgraph's metrics listener: its real probes are on its own port."""
    assert httpx.get(f"{listener}/readyz").status_code == 200
    assert httpx.get(f"{listener}/healthz").status_code == 200


async def test_real_worker_and_relay_serve_their_probes(
    probe: ServiceRuntime, probe_settings: Settings, tmp_path: Path
) -> None:
    """What the manifests probe: ``/readyz`` and ``/healthz`` on the metrics port of a real
    worker and relay."""
    worker_port, relay_port = free_port(), free_port()
    group = process_group(probe_settings, tmp_path)
    group.env["LIAISON_METRICS_PORT"] = str(worker_port)
    worker_url = f"http://127.0.0.1:{worker_port}"
    group.start(
        ProcessSpec(
            "worker",
            [sys.executable, "-m", "tests.deploy.shutdown_worker"],
            ready_url=f"{worker_url}/readyz",
        )
    )
    group.env["LIAISON_METRICS_PORT"] = str(relay_port)
    relay_url = f"http://127.0.0.1:{relay_port}"
    group.start(
        ProcessSpec(
            "relay",
            [sys.executable, "-m", "shared.events.relay", SERVICE],
            ready_url=f"{relay_url}/readyz",
        )
    )
    try:
        await asyncio.to_thread(group.wait_ready, 60)
        assert await get(worker_url, "/readyz") == (
            200,
            {"status": "ok", f"database:{SERVICE}": "ok", "redis": "ok"},
        )
        assert await get(relay_url, "/readyz") == (
            200,
            {"status": "ok", f"database:{SERVICE}": "ok", "redis": "ok"},
        )
        for base in (worker_url, relay_url):
            assert await get(base, "/healthz") == (200, {"status": "ok"})
    finally:
        group.stop()
