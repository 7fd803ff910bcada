"""The relay: publishes outbox rows to the Redis event stream and marks them sent.

Rows are claimed with ``FOR UPDATE SKIP LOCKED``, so several relays can run against one
database without publishing a row twice in normal operation. A crash between XADD and
commit publishes the batch again on the next pass: delivery is at least once, and
consumers drop duplicates by event id.

A relay is woken as soon as events commit: a trigger on ``outbox`` notifies
:data:`WAKEUP_CHANNEL`, which the relay listens to on a connection of its own. It still
looks every ``relay_poll_seconds`` should a wake-up be lost (that connection broken, a
database without the trigger yet).

Run: ``python -m shared.events.relay requests tasks issues notify``. On SIGTERM it finishes
the batch in hand (publish and mark sent in one transaction) and stops; a batch interrupted
harder is published again by the next relay. Metrics (backlog, lag) are served on
``LIAISON_METRICS_PORT``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import asyncpg
import orjson
from redis.asyncio import Redis

from shared.db import CONNECT_TIMEOUT_SECONDS, create_pool, delete_in_batches
from shared.observability import setup_process
from shared.observability.health import serve_probes
from shared.observability.metrics import (
    RELAY_LAG,
    RELAY_PUBLISHED,
    observe_outbox,
    poll_forever,
    start_metrics_server,
    track_pool,
)
from shared.redis_keys import RedisKeys
from shared.resilience import DATABASE_OUTAGES, REDIS_OUTAGES, Outage, ReplicasBehind, patiently
from shared.runtime import connect_redis
from shared.settings import Settings, get_settings

log = logging.getLogger(__name__)

RELAY_POOL_SIZE = 2
"""Connections of a relay's pool per service database (the connection budget counts them)."""
WAKEUP_CHANNEL = "liaison_outbox"
"""Notified by the ``outbox_wakeup`` trigger (shared migration 0003) when rows commit."""
REPLICA_WAIT_MS = 1000
"""How long a batch waits for ``LIAISON_REDIS_WAIT_REPLICAS`` replicas before it is retried."""


async def relay_batch(
    pool: asyncpg.Pool,
    redis: Redis,
    stream: str,
    *,
    batch_size: int,
    max_length: int,
    service: str = "unknown",
    replicas: int = 0,
) -> int:
    """Publish up to ``batch_size`` unsent rows in order; returns how many.

    ``service`` labels the relay metrics (events published, commit-to-publish lag). With
    ``replicas``, the rows are marked sent only once that many Redis replicas hold the batch
    (``WAIT``), else :class:`~shared.resilience.ReplicasBehind` rolls the claim back."""
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            "SELECT seq, envelope, created_at FROM outbox WHERE sent_at IS NULL"
            " ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED",
            batch_size,
        )
        if not rows:
            return 0
        pipe = redis.pipeline(transaction=False)
        for row in rows:
            pipe.xadd(
                stream,
                {"event": orjson.dumps(row["envelope"])},
                maxlen=max_length,
                approximate=True,
            )
        if replicas:
            pipe.wait(replicas, REPLICA_WAIT_MS)
        results = await pipe.execute()
        if replicas and results[-1] < replicas:
            # Only the master has it: a failover now would lose these events.
            raise ReplicasBehind(f"{results[-1]} of {replicas} Redis replicas hold the events")
        await conn.execute(
            "UPDATE outbox SET sent_at = now() WHERE seq = ANY($1::bigint[])",
            [row["seq"] for row in rows],
        )
    now = datetime.now(UTC)
    lag = RELAY_LAG.labels(service)
    for row in rows:
        lag.observe(max(0.0, (now - row["created_at"]).total_seconds()))
    RELAY_PUBLISHED.labels(service).inc(len(rows))
    return len(rows)


async def republish_after_data_loss(
    pool: asyncpg.Pool, redis: Redis, marker: str, service: str
) -> int:
    """If Redis lost its data (its marker is gone: a FLUSHALL, a fresh server after a
    failover without persistence), mark every kept outbox row unsent so the next batches
    publish them again; consumers' inboxes drop the events they had already handled.

    The rows are reset before the marker is set: a relay that dies in between only makes
    the next one publish them once more. Returns the number of rows to publish again."""
    if await redis.exists(marker):
        return 0
    result: str = await pool.execute("UPDATE outbox SET sent_at = NULL WHERE sent_at IS NOT NULL")
    await redis.set(marker, datetime.now(UTC).isoformat())
    again = int(result.split()[-1])
    if again:
        log.warning("Redis lost the event stream: publishing %d %s events again", again, service)
    return again


# Failures a relay waits out: the database or Redis restarting or failing over.
_TRANSIENT: tuple[type[BaseException], ...] = (*DATABASE_OUTAGES, *REDIS_OUTAGES)
# The relay may start before its service has created and migrated the database: no outage,
# just something to wait for.
_NOT_MIGRATED = (asyncpg.InvalidCatalogNameError, asyncpg.UndefinedTableError)
_NOT_MIGRATED_RETRY_SECONDS = 1.0
_PRUNE_EVERY_SECONDS = 3600.0


async def prune_outbox(pool: asyncpg.Pool, keep: timedelta) -> int:
    """Delete rows published longer than ``keep`` ago; unsent rows are never touched."""
    return await delete_in_batches(
        pool,
        """
        DELETE FROM outbox WHERE seq IN (
            SELECT seq FROM outbox WHERE sent_at < now() - $1::interval ORDER BY seq LIMIT $2)
        """,
        keep,
    )


class Wakeups:
    """The outbox trigger's notifications, on a listening connection of their own."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.notified = asyncio.Event()
        self._conn: asyncpg.Connection | None = None

    async def listen(self) -> None:
        """(Re)connect and listen, unless already listening."""
        if self._conn is not None and not self._conn.is_closed():
            return
        await self.close()
        conn = await asyncpg.connect(self.database_url, timeout=CONNECT_TIMEOUT_SECONDS)
        await conn.add_listener(WAKEUP_CHANNEL, self._wake)
        self._conn = conn
        self.notified.set()  # rows may have committed while nobody listened

    def _wake(self, *_: object) -> None:
        self.notified.set()

    async def wait(self, stop: asyncio.Event, seconds: float, *, wake: bool = True) -> None:
        """Until ``stop``, ``seconds`` or (if ``wake``) a wake-up, whichever comes first."""
        events = (stop, self.notified) if wake else (stop,)
        waits = [asyncio.ensure_future(event.wait()) for event in events]
        try:
            await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()

    async def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(*_TRANSIENT):
                await self._conn.close(timeout=CONNECT_TIMEOUT_SECONDS)
            self._conn = None


async def relay_forever(
    database_url: str,
    redis: Redis,
    settings: Settings,
    stop: asyncio.Event,
    service: str | None = None,
    *,
    listen_url: str | None = None,
) -> None:
    """Drain one service's outbox, then again on each wake-up, at the latest every
    ``relay_poll_seconds``, until ``stop``. The wake-ups are listened for on ``listen_url``
    (default ``database_url``): LISTEN needs a session of its own, which a transaction-mode
    pooler in ``database_url`` does not give."""
    keys = RedisKeys(settings)
    stream = keys.event_stream
    label = service or database_url.rsplit("/", 1)[-1]
    pool: asyncpg.Pool | None = None
    observer: asyncio.Task[None] | None = None
    keep = timedelta(days=settings.outbox_retention_days)
    next_prune = next_marker_check = 0.0
    wakeups = Wakeups(listen_url or database_url)
    loop = asyncio.get_running_loop()
    outage = Outage(f"relay-{label}", "PostgreSQL or Redis")
    waiting_for_migrations = False
    try:
        while not stop.is_set():
            try:
                if pool is None:
                    pool = await create_pool(database_url, max_size=RELAY_POOL_SIZE)
                    track_pool(f"relay-{label}", pool)
                    observer = asyncio.create_task(
                        poll_forever([lambda p=pool: observe_outbox(label, p)], stop)
                    )
                await wakeups.listen()
                if loop.time() >= next_marker_check:
                    # Once a poll period, not on every wake-up: what a Redis that lost its
                    # data took in between is merely published again (inboxes drop it).
                    next_marker_check = loop.time() + settings.relay_poll_seconds
                    await republish_after_data_loss(pool, redis, keys.stream_marker(label), label)
                wakeups.notified.clear()  # what commits from now on wakes the next pass
                sent = await relay_batch(
                    pool,
                    redis,
                    stream,
                    batch_size=settings.relay_batch_size,
                    max_length=settings.stream_max_length,
                    service=label,
                    replicas=settings.redis_wait_replicas,
                )
            except _NOT_MIGRATED as exc:
                if not waiting_for_migrations:
                    log.info("relay for %s waits for its service to migrate: %s", label, exc)
                waiting_for_migrations = True
                sent, delay, healthy = 0, _NOT_MIGRATED_RETRY_SECONDS, False
            except _TRANSIENT as exc:
                sent, delay, healthy = 0, outage.failed(exc), False
            else:
                outage.recovered()
                delay, healthy = settings.relay_poll_seconds, True
            if sent == 0 and pool is not None and loop.time() >= next_prune:
                # Published rows are only history (partners replay from the notify event log):
                # keep the outbox small, hourly, when there is nothing to send.
                next_prune = loop.time() + _PRUNE_EVERY_SECONDS
                with contextlib.suppress(*_TRANSIENT):
                    await prune_outbox(pool, keep)
            if sent == 0:
                # While it cannot publish, a relay waits out its backoff: every commit would
                # otherwise wake it to fail again.
                await wakeups.wait(stop, delay, wake=healthy)
    finally:
        await wakeups.close()
        if observer is not None:
            observer.cancel()
            await asyncio.gather(observer, return_exceptions=True)
        if pool is not None:
            await pool.close()


async def run_relays(services: Sequence[str], settings: Settings, stop: asyncio.Event) -> None:
    """One relay loop per service database, sharing one Redis connection."""
    redis = await patiently(
        lambda: connect_redis(settings), Outage("relay", "Redis"), REDIS_OUTAGES
    )
    urls = [settings.service_database_url(service) for service in services]
    serve_probes(redis=redis, databases=dict(zip(services, urls, strict=True)), stopping=stop)
    try:
        await asyncio.gather(
            *(
                relay_forever(
                    url,
                    redis,
                    settings,
                    stop,
                    service,
                    listen_url=settings.service_direct_database_url(service),
                )
                for url, service in zip(urls, services, strict=True)
            )
        )
    finally:
        await redis.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("services", nargs="+", help="services whose outboxes to relay")
    args = parser.parse_args()
    settings = get_settings()
    setup_process("relay", settings)
    start_metrics_server(settings.metrics_port, settings.host)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await run_relays(args.services, settings, stop)
        log.info("relay stopped")

    asyncio.run(run())


if __name__ == "__main__":
    main()
