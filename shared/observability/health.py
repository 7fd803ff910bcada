"""Liveness and readiness of a process without an HTTP app of its own (workers, the relay).

Such a process registers its probes once, from inside its event loop
(:func:`serve_probes`); the metrics listener (:func:`shared.observability.metrics.
start_metrics_server`) then answers:

* ``/healthz``: 200 while the event loop is alive, i.e. a heartbeat the loop reschedules every
  :data:`HEARTBEAT_SECONDS` is younger than ``stale_after``; 503 once the loop is blocked or
  gone (a stuck job that never yields, a dead loop with the thread still up), so the kubelet
  restarts the pod.
* ``/readyz``: 200 when every database and Redis answers within :data:`CHECK_TIMEOUT_SECONDS`
  (the checks run on the process's own loop, with its own pools); 503 with the failing
  checks otherwise, and once the process is stopping.

A process that registers nothing (a subgraph, whose probes are on its own port) keeps the
listener's plain 200 on both paths.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Final

import asyncpg
from redis.asyncio import Redis

HEARTBEAT_SECONDS: Final = 1.0
STALE_AFTER_SECONDS: Final = 10.0
"""A heartbeat older than this means a blocked loop (liveness fails)."""
CHECK_TIMEOUT_SECONDS: Final = 2.0
PROBE_PATHS: Final = ("/healthz", "/readyz")

Check = Callable[[], Awaitable[object]]
Status = tuple[int, dict[str, str]]


def _database_check(database: asyncpg.Pool | str) -> Check:
    """``SELECT 1`` on a pool, or on a fresh connection to a URL (a process whose pools come
    and go, like the relay's, is checked against the server itself)."""
    if isinstance(database, asyncpg.Pool):
        pool = database
        return lambda: pool.fetchval("SELECT 1")

    async def connect_and_select() -> None:
        conn = await asyncpg.connect(database, timeout=CHECK_TIMEOUT_SECONDS)
        try:
            await conn.fetchval("SELECT 1")
        finally:
            await conn.close()

    return connect_and_select


class Probes:
    """The heartbeat and readiness checks of one process's event loop."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        checks: Mapping[str, Check],
        stopping: asyncio.Event,
        stale_after: float,
    ) -> None:
        self.loop = loop
        self.checks = dict(checks)
        self.stopping = stopping
        self.stale_after = stale_after
        self.beat_at = time.monotonic()

    def beat(self) -> None:
        """Record that the loop ran, and come back in a heartbeat (until replaced)."""
        self.beat_at = time.monotonic()
        if _current is self:
            self.loop.call_later(HEARTBEAT_SECONDS, self.beat)

    def liveness(self) -> Status:
        """Called from the listener's thread: is the heartbeat fresh?"""
        age = time.monotonic() - self.beat_at
        if age > self.stale_after:
            return 503, {"status": "unavailable", "heartbeat": f"stale: {age:.1f}s"}
        return 200, {"status": "ok"}

    def readiness(self) -> Status:
        """Called from the listener's thread: run the checks on the process's loop."""
        if self.stopping.is_set():
            return 503, {"status": "stopping"}
        try:
            future = asyncio.run_coroutine_threadsafe(self._run_checks(), self.loop)
            checks = future.result(CHECK_TIMEOUT_SECONDS + 1)
        except (RuntimeError, TimeoutError, concurrent.futures.TimeoutError):
            return 503, {"status": "unavailable", "loop": "not answering"}
        ready = all(value == "ok" for value in checks.values())
        return (200 if ready else 503), {"status": "ok" if ready else "unavailable", **checks}

    async def _run_checks(self) -> dict[str, str]:
        return await run_checks(self.checks)


async def run_checks(checks: Mapping[str, Check]) -> dict[str, str]:
    """Each check's outcome, ``ok`` or ``error: <type>``, all within the check timeout."""

    async def one(check: Check) -> str:
        try:
            await asyncio.wait_for(check(), CHECK_TIMEOUT_SECONDS)
        except Exception as exc:  # any failure means "not ready", reported, not raised
            return f"error: {type(exc).__name__}"
        return "ok"

    results = await asyncio.gather(*(one(check) for check in checks.values()))
    return dict(zip(checks, results, strict=True))


_current: Probes | None = None


def serve_probes(
    *,
    redis: Redis,
    databases: Mapping[str, asyncpg.Pool | str],
    stopping: asyncio.Event,
    stale_after: float = STALE_AFTER_SECONDS,
) -> Probes:
    """Answer the metrics listener's ``/healthz`` and ``/readyz`` for the running loop.

    ``databases`` maps a name (the service) to its pool or URL; ``stopping`` set means the
    process is shutting down (not ready, still alive). Call once, inside the loop; a later
    call replaces the earlier probes."""
    global _current
    checks: dict[str, Check] = {
        f"database:{name}": _database_check(db) for name, db in databases.items()
    }
    checks["redis"] = redis.ping
    _current = Probes(asyncio.get_running_loop(), checks, stopping, stale_after)
    _current.beat()
    return _current


def probe_status(path: str) -> Status:
    """The answer to ``path`` (one of :data:`PROBE_PATHS`) from the registered probes."""
    if _current is None:  # nothing registered: a subgraph, probed on its own port
        return 200, {"status": "ok"}
    return _current.liveness() if path == "/healthz" else _current.readiness()
