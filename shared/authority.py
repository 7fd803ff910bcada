"""Authority from the directory: a verified caller's roles, departments and scopes.

A token only proves who is calling (:class:`~shared.auth.Identity`). What they may do is read
from the service's ``directory_principals`` view: the requests service defines it over its
directory, the other services over their copies of it (``shared/replica_migrations``), so a
change made by an administrator reaches every service as the copies catch up. Lookups are
cached per process for ``LIAISON_DIRECTORY_CACHE_SECONDS``; a role change or a person
leaving takes effect within that plus the replication lag (well under a second normally).

The rules:

- a ``sub`` the directory does not know is refused, as is a person who left
  (``active = false``) or a disabled partner client;
- a person's departments are their home department and any department they head;
- a partner client is only ever a PARTNER with the scopes registered for it, never a
  person; an id that names both a person and a partner client is refused as ambiguous.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from dataclasses import dataclass

import asyncpg

from shared.auth import AuthError, Identity, Principal, Role, bearer_token, identify
from shared.tokens import TokenVerifier

log = logging.getLogger(__name__)

CACHE_ENTRIES = 10_000
"""Callers remembered per process; the least recently used go first. An unknown id is not
remembered: a person added a moment ago may sign in at once (their copy permitting), and
only tokens the identity provider signed get this far."""

_LOOKUP = """
SELECT id, kind, roles, departments, region_id, scopes, active
FROM directory_principals WHERE id = $1
"""


@dataclass(frozen=True)
class DirectoryEntry:
    """One caller as the directory describes them."""

    sub: str
    kind: str
    roles: frozenset[Role]
    departments: tuple[str, ...]
    region: str | None
    scopes: tuple[str, ...]
    active: bool

    def principal(self, identity: Identity) -> Principal:
        return Principal(
            sub=self.sub,
            roles=self.roles,
            departments=self.departments,
            region=self.region,
            scopes=self.scopes,
            expires_at=identity.expires_at,
        )


def _known_roles(sub: str, names: list[str]) -> frozenset[Role]:
    """The directory's roles for ``sub``; a name this code does not know grants nothing."""
    roles = set()
    for name in names:
        try:
            roles.add(Role(name))
        except ValueError:
            log.warning("directory entry %s has an unknown role %r; ignored", sub, name)
    return frozenset(roles)


def _entry(rows: list[asyncpg.Record], sub: str) -> DirectoryEntry | None:
    if not rows:
        return None
    if len(rows) > 1:
        raise AuthError(f"{sub!r} names both a person and a partner client in the directory")
    row = rows[0]
    return DirectoryEntry(
        sub=sub,
        kind=row["kind"],
        roles=_known_roles(sub, row["roles"]),
        departments=tuple(row["departments"]),
        region=row["region_id"],
        scopes=tuple(row["scopes"]),
        active=row["active"],
    )


class Directory:
    """Reads callers from a service's ``directory_principals`` view, with a short cache."""

    def __init__(self, pool: asyncpg.Pool, cache_seconds: float) -> None:
        self._pool = pool
        self._cache_seconds = cache_seconds
        self._cache: OrderedDict[str, tuple[float, DirectoryEntry]] = OrderedDict()

    async def principal(self, identity: Identity) -> Principal:
        """The caller's authority; AuthError (with a message for the caller) if none."""
        entry = await self._lookup(identity.sub)
        if entry is None:
            raise AuthError(
                f"{identity.sub!r} is not in Liaison's directory: an administrator must add"
                " this person (or partner client) before they can sign in"
            )
        if not entry.active:
            what = "partner client is disabled" if entry.kind == "PARTNER" else "person has left"
            raise AuthError(f"{identity.sub!r}: this {what} in Liaison's directory")
        return entry.principal(identity)

    def forget(self) -> None:
        """Drop every cached entry (the next call of each caller reads the directory)."""
        self._cache.clear()

    async def _lookup(self, sub: str) -> DirectoryEntry | None:
        now = time.monotonic()
        cached = self._cache.get(sub)
        if cached is not None and now - cached[0] < self._cache_seconds:
            self._cache.move_to_end(sub)
            return cached[1]
        entry = _entry(await self._pool.fetch(_LOOKUP, sub), sub)
        if entry is None:
            self._cache.pop(sub, None)
            return None
        self._cache[sub] = (now, entry)
        self._cache.move_to_end(sub)
        while len(self._cache) > CACHE_ENTRIES:
            self._cache.popitem(last=False)
        return entry


async def authenticate(
    authorization: str | None, verifier: TokenVerifier, directory: Directory
) -> Principal:
    """``Authorization: Bearer <jwt>`` to the caller's authority, or AuthError."""
    identity = await identify(bearer_token(authorization), verifier)
    return await directory.principal(identity)
