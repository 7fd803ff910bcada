"""Riding out PostgreSQL and Redis outages: what counts as one, how long to wait, what to log.

A server that restarts, fails over or is briefly unreachable must not end a Liaison process:
every long-running loop (relay, event consumer, arq polling, timer sweep, housekeeping)
catches :data:`DATABASE_OUTAGES` and :data:`REDIS_OUTAGES`, waits a :class:`Backoff` delay
and tries again. An :class:`Outage` per dependency logs the outage once when it starts and
once when it ends, with its length, and counts it in ``liaison_dependency_outages_total`` and
``liaison_dependency_outage_seconds``; anything else is a bug and still surfaces.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg
from prometheus_client import Counter, Histogram
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)

DATABASE_OUTAGES: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08
    asyncpg.InterfaceError,  # a connection broken under asyncpg (closed, reset mid-query)
    asyncpg.InternalClientError,  # e.g. "cannot switch to state 15" after a broken connection
    asyncpg.ReadOnlySQLTransactionError,  # 25006: the server became a standby (failover)
    asyncpg.AdminShutdownError,  # 57P01: the server is shutting down
    asyncpg.CrashShutdownError,  # 57P02
    asyncpg.CannotConnectNowError,  # 57P03: starting up or in recovery
    OSError,  # refused, reset, unreachable (ConnectionError is one)
    TimeoutError,  # the connect timeout of the pool
)
"""What a server restart or a failover looks like from asyncpg (DESIGN §8)."""


class ReplicasBehind(RedisConnectionError):
    """Redis took a write that fewer replicas confirmed than ``LIAISON_REDIS_WAIT_REPLICAS``
    asks for (``WAIT``): a failover could lose it, so it counts as an outage and the write is
    made again (the relay publishes the batch again; consumers drop what they had)."""


REDIS_OUTAGES: tuple[type[BaseException], ...] = (
    RedisConnectionError,  # includes BusyLoadingError (LOADING after a restart),
    # MasterNotFoundError (no sentinel names a master yet) and ReplicasBehind
    RedisTimeoutError,
    ReadOnlyError,  # a client without Sentinel still on a server demoted to replica
    OSError,
)
"""What a Redis restart or failover looks like from redis-py and arq. Through Sentinel a
READONLY answer already comes as a ConnectionError (the client then asks the sentinels for
the new master)."""

DEPENDENCY_OUTAGES = Counter(
    "liaison_dependency_outages_total",
    "Outages of PostgreSQL or Redis seen by a process, counted when each one starts.",
    ["process", "dependency"],
)
OUTAGE_SECONDS = Histogram(
    "liaison_dependency_outage_seconds",
    "Length of each outage of PostgreSQL or Redis, from the first failure to the next success.",
    ["process", "dependency"],
    buckets=(0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
)


class Backoff:
    """Capped exponential backoff with full jitter (a random delay up to the current step),
    so processes that lost the same server do not all come back at the same instant."""

    def __init__(self, first: float = 0.2, cap: float = 10.0) -> None:
        self.first, self.cap = first, cap
        self._step = first

    def next_delay(self) -> float:
        delay = random.uniform(self._step / 2, self._step)
        self._step = min(self._step * 2, self.cap)
        return delay

    def step(self, failures: int) -> float:
        """The longest delay after ``failures`` failures in a row (the shortest is half)."""
        return min(self.first * 2.0 ** min(failures - 1, 32), self.cap)

    def delay_after(self, failures: int) -> float:
        """A delay after ``failures`` failures in a row, for a caller that counts them itself
        (an arq job retried with ``Retry`` starts each try afresh but knows its try number)."""
        step = self.step(failures)
        return random.uniform(step / 2, step)

    def reset(self) -> None:
        self._step = self.first


class Outage:
    """The state of one dependency as one loop of a process sees it."""

    def __init__(self, process: str, dependency: str) -> None:
        self.process, self.dependency = process, dependency
        self.since: float | None = None
        self.backoff = Backoff()

    def failed(self, error: BaseException) -> float:
        """Note a failure; returns how long to wait before trying again."""
        if self.since is None:
            self.since = time.monotonic()
            DEPENDENCY_OUTAGES.labels(self.process, self.dependency).inc()
            log.warning(
                "%s: %s unavailable, retrying with backoff: %s: %s",
                self.process,
                self.dependency,
                type(error).__name__,
                error,
            )
        return self.backoff.next_delay()

    def recovered(self) -> None:
        """Note a success; logs the end of an outage, if one was going on."""
        if self.since is None:
            return
        length = time.monotonic() - self.since
        self.since = None
        self.backoff.reset()
        OUTAGE_SECONDS.labels(self.process, self.dependency).observe(length)
        log.warning("%s: %s is back after %.1f s", self.process, self.dependency, length)

    async def wait(self, error: BaseException, stop: asyncio.Event | None = None) -> None:
        """Note a failure and wait its backoff delay (less, if ``stop`` is set meanwhile)."""
        delay = self.failed(error)
        if stop is None:
            await asyncio.sleep(delay)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)


T = TypeVar("T")


async def patiently(
    attempt: Callable[[], Awaitable[T]],
    outage: Outage,
    errors: tuple[type[BaseException], ...] = DATABASE_OUTAGES + REDIS_OUTAGES,
) -> T:
    """``attempt()`` again and again, with the outage's backoff, until it does not fail with
    one of ``errors`` (start-up: connect and migrate once the servers are there)."""
    while True:
        try:
            result = await attempt()
        except errors as exc:
            await outage.wait(exc)
        else:
            outage.recovered()
            return result
