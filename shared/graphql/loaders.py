"""DataLoader batch functions made from repository lookups.

A repository answers "these ids -> rows by id" in one query; these wrappers give it the
shape :meth:`shared.graphql.context.Context.loader` expects, so a page of N objects costs one
query per relation instead of N. Lookups are reads, so they are tried once more on a fresh
connection when the database went away under the first (restart, failover).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from typing import TypeVar

from shared.db import Connection, read_with_retry
from shared.runtime import ServiceRuntime

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def one_per_key(
    fetch: Callable[[Connection, Sequence[K]], Awaitable[Mapping[K, V]]],
) -> Callable[[ServiceRuntime, Sequence[K]], Awaitable[list[V | None]]]:
    """Batch function for to-one relations: ``None`` where a key has no row."""

    async def load(runtime: ServiceRuntime, keys: Sequence[K]) -> list[V | None]:
        found = await read_with_retry(runtime.pool, lambda conn: fetch(conn, keys))
        return [found.get(key) for key in keys]

    return load


def many_per_key(
    fetch: Callable[[Connection, Sequence[K]], Awaitable[Mapping[K, list[V]]]],
) -> Callable[[ServiceRuntime, Sequence[K]], Awaitable[list[list[V]]]]:
    """Batch function for to-many relations: an empty list where a key has no rows."""

    async def load(runtime: ServiceRuntime, keys: Sequence[K]) -> list[list[V]]:
        found = await read_with_retry(runtime.pool, lambda conn: fetch(conn, keys))
        return [found.get(key, []) for key in keys]

    return load
