"""Embedded PostgreSQL + Redis: start, use, stop, restart, and recover from a killed launcher."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import psutil  # type: ignore[import-untyped, unused-ignore]
import pytest
import redis.asyncio as aioredis
from arq.connections import RedisSettings, create_pool

from shared.embedded import EmbeddedInfra, EmbeddedInfraError
from tests.support import server_directory

REPO_ROOT = Path(__file__).resolve().parents[2]


def _gone(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return True


async def _pg_reachable(url: str) -> bool:
    try:
        conn = await asyncpg.connect(url, timeout=2)
    except (OSError, asyncpg.PostgresError):
        return False
    await conn.close()
    return True


async def _redis_reachable(url: str) -> bool:
    client = aioredis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        return bool(await client.ping())
    except (OSError, aioredis.ConnectionError):
        return False
    finally:
        await client.aclose()


@pytest.fixture
async def infra(server_dir: Path) -> AsyncIterator[EmbeddedInfra]:
    started = await asyncio.to_thread(EmbeddedInfra(server_dir).start)
    yield started
    await asyncio.to_thread(started.stop)


async def test_postgres_select_and_create_database(infra: EmbeddedInfra) -> None:
    assert infra.database_url.startswith("postgresql://postgres@127.0.0.1:")
    conn = await asyncpg.connect(infra.database_url)
    try:
        assert await conn.fetchval("SELECT 1") == 1
        await conn.execute("CREATE DATABASE liaison_embedded_test")
    finally:
        await conn.close()
    other = await asyncpg.connect(infra.database_url.rsplit("/", 1)[0] + "/liaison_embedded_test")
    try:
        assert await other.fetchval("SELECT current_database()") == "liaison_embedded_test"
    finally:
        await other.close()


async def test_redis_settings_and_arq(infra: EmbeddedInfra) -> None:
    client = aioredis.Redis.from_url(infra.redis_url, decode_responses=True)
    try:
        await client.set("k", "v")
        assert await client.get("k") == "v"
        assert await client.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
        assert await client.config_get("appendonly") == {"appendonly": "yes"}
    finally:
        await client.aclose()
    pool = await create_pool(RedisSettings.from_dsn(infra.redis_url))
    try:
        assert await pool.ping()
    finally:
        await pool.aclose()


async def test_stop_then_restart_keeps_data(server_dir: Path) -> None:
    infra = await asyncio.to_thread(EmbeddedInfra(server_dir).start)
    conn = await asyncpg.connect(infra.database_url)
    await conn.execute("CREATE TABLE t (x int); INSERT INTO t VALUES (42)")
    await conn.close()
    client = aioredis.Redis.from_url(infra.redis_url)
    await client.set("persisted", "yes")
    await client.aclose()
    pids = [infra.postgres.pid, infra.redis.pid]
    urls = (infra.database_url, infra.redis_url)

    await asyncio.to_thread(infra.stop)
    assert all(pid is not None and _gone(pid) for pid in pids)
    assert not await _pg_reachable(urls[0])
    assert not await _redis_reachable(urls[1])
    with pytest.raises(EmbeddedInfraError):
        _ = infra.database_url

    with EmbeddedInfra(server_dir) as again:
        conn = await asyncpg.connect(again.database_url)
        assert await conn.fetchval("SELECT x FROM t") == 42
        await conn.close()
        client = aioredis.Redis.from_url(again.redis_url)
        assert await client.get("persisted") == b"yes"
        await client.aclose()


async def test_second_launcher_on_same_dir_is_refused(infra: EmbeddedInfra) -> None:
    with pytest.raises(EmbeddedInfraError, match="held by running process"):
        EmbeddedInfra(infra.data_dir).start()
    assert await _pg_reachable(infra.database_url)  # the failed start left the first one alone


async def test_recovers_from_killed_launcher(server_dir: Path) -> None:
    """A launcher killed with SIGKILL leaves both servers running and stale pid files."""
    script = textwrap.dedent(f"""
        import os
        from pathlib import Path
        from shared.embedded import EmbeddedInfra
        infra = EmbeddedInfra(Path({str(server_dir)!r})).start()
        print(infra.postgres.pid, infra.redis.pid, flush=True)
        os.kill(os.getpid(), 9)
    """)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-c", script], env=env, capture_output=True, text=True
    )
    orphans = [int(pid) for pid in done.stdout.split()]
    assert len(orphans) == 2, done.stderr
    assert not any(_gone(pid) for pid in orphans)

    with EmbeddedInfra(server_dir) as infra:
        assert all(_gone(pid) for pid in orphans)
        assert await _pg_reachable(infra.database_url)
        assert await _redis_reachable(infra.redis_url)


async def test_stale_postmaster_pid_of_unrelated_process(server_dir: Path) -> None:
    """After a reboot the pid in ``postmaster.pid`` may belong to some other live process."""
    with EmbeddedInfra(server_dir):
        pass
    stale = server_dir / "postgres" / "postmaster.pid"
    stale.write_text(f"{os.getpid()}\n{server_dir}\n0\n5432\n\n127.0.0.1\n0 0\nready\n")
    with EmbeddedInfra(server_dir) as infra:
        assert await _pg_reachable(infra.database_url)


def test_signalling_orphans_survives_a_process_that_exits_while_looked_at() -> None:
    """A backend that exits between being listed and being inspected is skipped; the main
    process of the same server still gets its signal."""
    from shared.embedded import _signal_main_processes

    main = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    short = subprocess.Popen([sys.executable, "-c", "pass"])
    listed = [psutil.Process(short.pid), psutil.Process(main.pid)]
    short.wait()  # exited (and reaped) after it was listed, as a PostgreSQL backend may
    try:
        _signal_main_processes(listed, signal.SIGTERM)
        assert main.wait(timeout=10) == -signal.SIGTERM
    finally:
        main.kill()


@pytest.fixture
def server_dir() -> Iterator[Path]:
    with server_directory() as directory:
        yield directory
