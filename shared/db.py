"""asyncpg pools, per-service databases and the migrations runner.

Migrations are numbered plain SQL files (``0001_name.sql``). Each service applies the shared
set (outbox, inbox, timers: :data:`SHARED_MIGRATIONS`) and then its own, under one advisory
lock so replicas starting together do not race. Each file runs in its own transaction and
is recorded in ``schema_migrations``; a failing file rolls back and stops start-up. A
numbered Python file (``0006_name.py`` with ``async def apply(conn)``) is a step SQL cannot
express, such as filling a column whose value only Python computes; it runs the same way.

The pools may go through PgBouncer in transaction mode, where consecutive statements of a
client may run on different server connections: nothing here relies on session state over a
pool. What needs a session of its own (the migrations' advisory lock, the relay's LISTEN)
connects to ``LIAISON_DATABASE_DIRECT_URL`` instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import importlib.util
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import orjson
from asyncpg.pool import PoolAcquireContext, PoolConnectionProxy

from shared.resilience import DATABASE_OUTAGES

log = logging.getLogger(__name__)

SHARED_MIGRATIONS = Path(__file__).parent / "migrations"
_MIGRATION_LOCK_KEY = 0x4C494149  # "LIAI": one advisory lock id for all migration runs
MIGRATION_LOCK_TIMEOUT = "10s"
"""How long a migration run waits for the migration lock, and a migration's statement for a
table lock, before it lets go and tries again (:data:`MIGRATION_RETRY_SECONDS` later). A DDL
statement waiting for a lock queues every later query of its table behind it, so it must not
wait long for a long transaction; and a run stuck behind another says so in the log."""
MIGRATION_RETRY_SECONDS = 2.0
_DELETE_BATCH = 5000

T = TypeVar("T")

Pool = asyncpg.Pool
Connection = asyncpg.Connection | PoolConnectionProxy
"""A connection, whether held directly or borrowed from a pool."""


class MigrationError(RuntimeError):
    """A migration file failed; the message names the file."""


async def _init_connection(conn: asyncpg.Connection) -> None:
    # jsonb in and out as Python objects, serialised with orjson (faster than json).
    await conn.set_type_codec(
        "jsonb",
        encoder=lambda value: orjson.dumps(value).decode(),
        decoder=orjson.loads,
        schema="pg_catalog",
    )


DISCONNECTS = DATABASE_OUTAGES
"""What a server restart or a failover looks like from a pooled connection."""
CONNECT_TIMEOUT_SECONDS = 5.0
"""A connection attempt gives up after this, so callers fail fast while the server is away."""


class _AcquireContext(PoolAcquireContext):
    __slots__ = ()

    async def __aexit__(self, *exc: object) -> None:
        if len(exc) > 1 and isinstance(exc[1], DISCONNECTS):
            # When one pooled connection finds the server gone, all of them are stale: expire
            # them so the next acquisitions reconnect instead of each failing once in turn.
            await self.pool.expire_connections()
        await super().__aexit__(*exc)


class ResilientPool(asyncpg.Pool):
    """An asyncpg pool that drops every connection after a disconnect or a failover."""

    def acquire(self, *, timeout: float | None = None) -> _AcquireContext:
        return _AcquireContext(self, timeout)


async def create_pool(url: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    """A pool whose connections decode jsonb and are renewed after a server restart."""
    pool = ResilientPool(
        url,
        min_size=min_size,
        max_size=max_size,
        max_queries=50_000,
        max_inactive_connection_lifetime=60,
        init=_init_connection,
        timeout=CONNECT_TIMEOUT_SECONDS,
        loop=None,
        connection_class=asyncpg.Connection,
        record_class=asyncpg.Record,
    )
    await pool
    return pool


async def read_with_retry(pool: asyncpg.Pool, read: Callable[[Connection], Awaitable[T]]) -> T:
    """Run a read-only ``read``; once more on a fresh connection if the server went away."""
    try:
        async with pool.acquire() as conn:
            return await read(conn)
    except DISCONNECTS:
        async with pool.acquire() as conn:
            return await read(conn)


async def delete_in_batches(pool: asyncpg.Pool, statement: str, *args: Any) -> int:
    """Run a pruning DELETE again and again until it deletes less than a batch; the number
    of rows deleted.

    ``statement`` takes the batch size as its last parameter, to LIMIT a sub-select of the
    keys to delete. Short transactions keep the locks and the WAL of each step small, so
    pruning a large backlog does not hold up the writers of the table.
    """
    total = 0
    while True:
        result: str = await pool.execute(statement, *args, _DELETE_BATCH)
        deleted = int(result.split()[-1])
        total += deleted
        if deleted < _DELETE_BATCH:
            return total


async def ensure_database(url: str) -> None:
    """Create the database named in ``url`` if it does not exist (development and tests)."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    conn = await asyncpg.connect(admin_url)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            # Another process may create it between our check and our CREATE.
            with contextlib.suppress(asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
                await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


MIGRATION_SUFFIXES = (".sql", ".py")


def migration_files(directory: Path) -> list[Path]:
    """The numbered SQL files and Python steps of one directory, in the order they apply."""
    return sorted(
        p for p in directory.iterdir() if p.name[:4].isdigit() and p.suffix in MIGRATION_SUFFIXES
    )


MigrationStep = Callable[[Connection], Awaitable[None]]


def _python_step(path: Path) -> MigrationStep:
    """The ``apply`` function of a Python migration file (not importable by name: it starts
    with a digit, and its directory is no package)."""
    spec = importlib.util.spec_from_file_location(f"liaison_migration_{path.stem}", path)
    assert spec is not None, path
    assert spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    apply: MigrationStep = module.apply

    async def run(conn: Connection) -> None:
        try:
            await apply(conn)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
            raise  # the database's errors, handled as a SQL file's are
        except Exception as exc:  # a bug in the step: it stops start-up like a bad file
            raise MigrationError(f"migration {path} failed: {exc!r}") from exc

    return run


def _sql_step(path: Path) -> MigrationStep:
    sql = path.read_text(encoding="utf-8")  # start-up only, small files

    async def run(conn: Connection) -> None:
        await conn.execute(sql)

    return run


class _LockBusy(Exception):
    """The migration lock, or a table lock a migration needs, was not had in time."""


async def migrate(
    database: asyncpg.Pool | asyncpg.Connection, directories: Sequence[Path]
) -> list[str]:
    """Apply every not-yet-applied file of ``directories``; returns the names applied.

    ``database`` is a direct connection (or a pool of them, never a transaction-mode
    pooler's): the advisory lock belongs to the session. While another run holds the lock, or
    a migration cannot have a table lock within :data:`MIGRATION_LOCK_TIMEOUT`, the run
    waits and tries again."""
    while True:
        try:
            async with _session(database) as conn:
                return await _migrate_locked(conn, directories)
        except _LockBusy as exc:
            log.info("migrations wait (%s); trying again in %.0f s", exc, MIGRATION_RETRY_SECONDS)
            await asyncio.sleep(MIGRATION_RETRY_SECONDS)


@contextlib.asynccontextmanager
async def _session(database: asyncpg.Pool | asyncpg.Connection) -> AsyncIterator[Connection]:
    if isinstance(database, asyncpg.Pool):
        async with database.acquire() as conn:
            yield conn
    else:
        yield database


async def _migrate_locked(conn: Connection, directories: Sequence[Path]) -> list[str]:
    applied_now: list[str] = []
    await conn.execute(f"SET lock_timeout = '{MIGRATION_LOCK_TIMEOUT}'")
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK_KEY)
    except asyncpg.LockNotAvailableError as exc:
        raise _LockBusy("another process is migrating this database") from exc
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}
        for directory in directories:
            for path in migration_files(directory):
                name = f"{directory.parent.name}/{directory.name}/{path.name}"
                if name not in done:
                    await _apply(conn, path, name)
                    applied_now.append(name)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK_KEY)
        await conn.execute("RESET lock_timeout")
    return applied_now


async def _apply(conn: Connection, path: Path, name: str) -> None:
    step = _python_step(path) if path.suffix == ".py" else _sql_step(path)
    try:
        async with conn.transaction():
            await step(conn)
            await conn.execute("INSERT INTO schema_migrations (name) VALUES ($1)", name)
    except asyncpg.LockNotAvailableError as exc:  # rolled back: the next run applies it
        raise _LockBusy(f"{name} waits for a lock: {exc}") from exc
    except asyncpg.PostgresError as exc:
        raise MigrationError(f"migration {path} failed: {exc}") from exc
    log.info("applied migration %s", name)


async def prepare_database(
    url: str,
    directories: Sequence[Path],
    *,
    direct_url: str | None = None,
    **pool_args: Any,
) -> asyncpg.Pool:
    """Create (if needed) and migrate a service database, returning its pool on ``url``.

    Creating and migrating go to ``direct_url`` (default ``url``) on one connection of
    their own: through a transaction-mode pooler the advisory lock would not hold."""
    direct_url = direct_url or url
    await ensure_database(direct_url)
    conn = await asyncpg.connect(direct_url, timeout=CONNECT_TIMEOUT_SECONDS)
    try:
        await migrate(conn, directories)
    finally:
        await conn.close()
    return await create_pool(url, **pool_args)


class StatementParams:
    """The parameters of a statement being written: each value added becomes the next $n."""

    def __init__(self) -> None:
        self.values: list[object] = []

    def add(self, value: object) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


_CUSTOM_PLANS = "plan_cache_mode = force_custom_plan"
_PLANNING: contextvars.ContextVar[Connection | None] = contextvars.ContextVar(
    "plan_with_values", default=None
)
"""The connection whose :func:`plan_with_values` block this task is in: a block inside it adds
no round trip."""


@contextlib.asynccontextmanager
async def plan_with_values(conn: Connection) -> AsyncIterator[None]:
    """Have the server plan each statement run on ``conn`` inside this block for the values
    it runs with. After a few runs of a prepared statement the server may keep a generic plan
    made for average values, which for a filtered list is a walk of the newest rows even when
    the filter matches nothing.

    The setting is the block's transaction's own (``SET LOCAL``): behind a transaction-mode
    pooler a session ``SET`` would stay on whichever server connection ran it, for other
    clients, and the next statement might run on another. Outside a transaction the block is
    one; BEGIN and SET go in one round trip (``conn.transaction()`` takes one for BEGIN alone),
    so no ``conn.transaction()`` may be opened inside. In a transaction already, the setting
    lasts until that one ends; inside another block on ``conn`` nothing more is sent."""
    if _PLANNING.get() is conn:
        yield
        return
    token = _PLANNING.set(conn)
    try:
        async with _planned_transaction(conn):
            yield
    finally:
        _PLANNING.reset(token)


@contextlib.asynccontextmanager
async def _planned_transaction(conn: Connection) -> AsyncIterator[None]:
    if conn.is_in_transaction():
        await conn.execute(f"SET LOCAL {_CUSTOM_PLANS}")
        yield
        return
    await conn.execute(f"BEGIN; SET LOCAL {_CUSTOM_PLANS}")
    try:
        yield
    except BaseException:
        if not conn.is_closed():
            with contextlib.suppress(*DISCONNECTS, asyncpg.InterfaceError):
                await conn.execute("ROLLBACK")
        raise
    await conn.execute("COMMIT")
