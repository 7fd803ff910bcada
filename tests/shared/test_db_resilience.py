"""A PostgreSQL restart or failover costs one failed call, not one per pooled connection."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from shared.db import Connection, create_pool, ensure_database, read_with_retry
from shared.settings import Settings

SERVICE = "dbresilience"


@pytest.fixture
async def pool(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    url = settings.service_database_url(SERVICE)
    await ensure_database(url)
    pool = await create_pool(url, min_size=3, max_size=3)
    yield pool
    await pool.close()


async def warm(pool: asyncpg.Pool) -> None:
    """Hold all three connections at once, so each is open."""
    await asyncio.gather(*(pool.fetchval("SELECT pg_sleep(0.05)") for _ in range(3)))


async def kill_backends(settings: Settings) -> int:
    """What a server restart does to established connections."""
    admin = await asyncpg.connect(settings.database_url)
    try:
        killed: int = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = $1 AND pid <> pg_backend_pid()",
            f"{settings.database_prefix}{SERVICE}",
        )
    finally:
        await admin.close()
    await asyncio.sleep(0.1)
    return killed


async def test_after_a_failover_one_refused_write_renews_every_connection(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    """Pooled connections still open to a server that became a read-only standby (SQLSTATE
    25006) are all dropped at the first refusal; new ones reach the writable server."""
    database = f"{settings.database_prefix}{SERVICE}"
    admin = await asyncpg.connect(settings.database_url)
    try:
        await pool.expire_connections()
        await admin.execute(f'ALTER DATABASE "{database}" SET default_transaction_read_only = on')
        await warm(pool)  # three connections to the "standby"
        await admin.execute(f'ALTER DATABASE "{database}" RESET default_transaction_read_only')
    finally:
        await admin.close()
    with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
        await pool.execute("CREATE TEMP TABLE probe (n int)")
    results = await asyncio.gather(
        *(pool.fetchval("SELECT current_setting('transaction_read_only')") for _ in range(6))
    )
    assert results == ["off"] * 6


async def test_a_read_cut_off_by_a_restart_is_retried_on_a_fresh_connection(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    attempts: list[int] = []

    async def read(conn: Connection) -> int:
        attempts.append(1)
        if len(attempts) == 1:
            await conn.fetchval("SELECT pg_sleep(2)")  # the server goes away meanwhile
        value: int = await conn.fetchval("SELECT 42")
        return value

    reading = asyncio.create_task(read_with_retry(pool, read))
    await asyncio.sleep(0.3)
    assert await kill_backends(settings) >= 1
    assert await reading == 42
    assert len(attempts) == 2
