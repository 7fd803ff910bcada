"""The migrations runner: once, in order, recorded, serialised by an advisory lock, atomic."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from shared.db import (
    SHARED_MIGRATIONS,
    Connection,
    MigrationError,
    create_pool,
    ensure_database,
    migrate,
)
from shared.ids import new_id
from shared.search_text import fill_missing
from shared.settings import Settings


@pytest.fixture
async def db_url(settings: Settings) -> AsyncIterator[str]:
    """A brand-new database, dropped after the test."""
    url = settings.service_database_url(f"platformtest_mig_{new_id()[-12:]}")
    await ensure_database(url)
    yield url
    parts = urlsplit(url)
    admin = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres")))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)')
    finally:
        await admin.close()


def write(directory: Path, name: str, sql: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(sql, encoding="utf-8")


@pytest.fixture
def migrations(tmp_path: Path) -> Path:
    directory = tmp_path / "svc" / "migrations"
    # 0002 depends on 0001 and 0010 on both: any other order fails.
    write(directory, "0001_widgets.sql", "CREATE TABLE widgets (id int PRIMARY KEY);")
    write(directory, "0002_parts.sql", "CREATE TABLE parts (w int REFERENCES widgets (id));")
    write(
        directory, "0010_seed.sql", "INSERT INTO widgets VALUES (1); INSERT INTO parts VALUES (1);"
    )
    write(directory, "README.md", "not a migration")
    write(directory, "notes.sql", "this is not SQL and must be ignored")
    return directory


async def applied(conn: Connection) -> list[str]:
    rows = await conn.fetch("SELECT name FROM schema_migrations ORDER BY applied_at, name")
    return [r["name"] for r in rows]


async def test_applies_each_file_once_in_order_and_records_it(
    db_url: str, migrations: Path
) -> None:
    pool = await create_pool(db_url)
    try:
        first = await migrate(pool, [SHARED_MIGRATIONS, migrations])
        expected_own = [
            "svc/migrations/0001_widgets.sql",
            "svc/migrations/0002_parts.sql",
            "svc/migrations/0010_seed.sql",
        ]
        assert first[0] == "shared/migrations/0001_outbox_inbox_timers.sql"
        assert first[-3:] == expected_own
        async with pool.acquire() as conn:
            assert sorted(await applied(conn)) == sorted(first)
            assert await conn.fetchval("SELECT count(*) FROM parts") == 1
            assert await conn.fetchval("SELECT to_regclass('outbox') IS NOT NULL")

        # Re-running applies nothing (the seed would fail on its primary key otherwise).
        assert await migrate(pool, [SHARED_MIGRATIONS, migrations]) == []

        # A new file is picked up on its own.
        write(migrations, "0011_more.sql", "INSERT INTO widgets VALUES (2);")
        assert await migrate(pool, [SHARED_MIGRATIONS, migrations]) == [
            "svc/migrations/0011_more.sql"
        ]
        assert await pool.fetchval("SELECT count(*) FROM widgets") == 2
    finally:
        await pool.close()


async def test_concurrent_runs_apply_each_file_once(db_url: str, migrations: Path) -> None:
    # A slow file widens the window in which the two runs overlap.
    write(migrations, "0003_slow.sql", "SELECT pg_sleep(0.3); CREATE TABLE slow (x int);")
    pools = [await create_pool(db_url), await create_pool(db_url)]
    try:
        results = await asyncio.gather(
            *(migrate(pool, [SHARED_MIGRATIONS, migrations]) for pool in pools)
        )
        all_files = sorted(results[0] + results[1])
        # Every file was applied by exactly one of the two runs.
        assert len(all_files) == len(set(all_files))
        # One run did all the work, the other found it done once it had the lock.
        assert sorted(map(bool, results)) == [False, True], results
        async with pools[0].acquire() as conn:
            assert sorted(await applied(conn)) == all_files
            assert await conn.fetchval("SELECT count(*) FROM widgets") == 1
    finally:
        for pool in pools:
            await pool.close()


async def test_failing_file_rolls_back_and_stops(db_url: str, migrations: Path) -> None:
    write(
        migrations,
        "0005_broken.sql",
        "CREATE TABLE half_done (x int); INSERT INTO widgets VALUES (99); SELECT no_such_column;",
    )
    write(migrations, "0006_after.sql", "CREATE TABLE after_broken (x int);")
    pool = await create_pool(db_url)
    try:
        with pytest.raises(MigrationError, match=r"0005_broken\.sql"):
            await migrate(pool, [SHARED_MIGRATIONS, migrations])
        async with pool.acquire() as conn:
            names = await applied(conn)
            assert "svc/migrations/0002_parts.sql" in names  # earlier files stay applied
            assert not [n for n in names if "0005" in n or "0006" in n or "0010" in n]
            assert await conn.fetchval("SELECT to_regclass('half_done')") is None
            assert await conn.fetchval("SELECT to_regclass('after_broken')") is None
            assert await conn.fetchval("SELECT count(*) FROM widgets WHERE id = 99") == 0
            # The advisory lock was released: another run is not blocked.
            held = await conn.fetchval(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database ="
                " (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
            assert held == 0

        # Once fixed, the run resumes at the broken file.
        write(migrations, "0005_broken.sql", "CREATE TABLE half_done (x int);")
        assert await asyncio.wait_for(migrate(pool, [SHARED_MIGRATIONS, migrations]), 5) == [
            "svc/migrations/0005_broken.sql",
            "svc/migrations/0006_after.sql",
            "svc/migrations/0010_seed.sql",
        ]
    finally:
        await pool.close()


PYTHON_STEP = """
async def apply(conn):
    ids = [r["id"] for r in await conn.fetch("SELECT id FROM widgets ORDER BY id")]
    await conn.executemany("INSERT INTO parts VALUES ($1)", [(i,) for i in ids])
"""
BROKEN_PYTHON_STEP = """
async def apply(conn):
    await conn.execute("INSERT INTO widgets VALUES (98)")
    raise RuntimeError("a step that fails half-way")
"""


async def test_a_python_step_runs_in_order_once_and_atomically(
    db_url: str, migrations: Path
) -> None:
    write(migrations, "0003_copy.py", PYTHON_STEP)  # between 0002 (parts) and 0010 (seed)
    write(migrations, "helper.py", "raise SystemExit('not a migration: never imported')")
    pool = await create_pool(db_url)
    try:
        applied_now = await migrate(pool, [SHARED_MIGRATIONS, migrations])
        assert applied_now[-3:] == [
            "svc/migrations/0002_parts.sql",
            "svc/migrations/0003_copy.py",
            "svc/migrations/0010_seed.sql",
        ]
        assert await pool.fetchval("SELECT count(*) FROM parts") == 1  # the seed's alone
        assert await migrate(pool, [SHARED_MIGRATIONS, migrations]) == []

        write(migrations, "0011_broken.py", BROKEN_PYTHON_STEP)
        with pytest.raises(MigrationError, match=r"0011_broken\.py"):
            await migrate(pool, [SHARED_MIGRATIONS, migrations])
        assert await pool.fetchval("SELECT count(*) FROM widgets WHERE id = 98") == 0
    finally:
        await pool.close()


async def test_fill_missing_search_columns_in_batches(db_url: str) -> None:
    pool = await create_pool(db_url)
    try:
        await pool.execute(
            "CREATE TABLE notes (id text PRIMARY KEY, title text, tags text[],"
            " search_text text, search_grams text[])"
        )
        rows = [(f"n{i}", f"复盘会 Review {i}", ["Ops"]) for i in range(5)]
        await pool.executemany("INSERT INTO notes (id, title, tags) VALUES ($1, $2, $3)", rows)
        await pool.execute("UPDATE notes SET search_text = 'kept' WHERE id = 'n2'")
        async with pool.acquire() as conn:
            assert await fill_missing(conn, "notes", ["title", "tags"], batch=2) == 4
        stored = {r["id"]: r for r in await pool.fetch("SELECT * FROM notes")}
        assert stored["n2"]["search_text"] == "kept"  # rows with search text are left alone
        assert stored["n0"]["search_text"] == "复盘会 review 0\nops"
        assert {"复盘", "rev", "ops"} <= set(stored["n4"]["search_grams"])
    finally:
        await pool.close()
