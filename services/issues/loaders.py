"""DataLoader batch functions of the issues subgraph: one query per relation per request,
whatever the page size (no N+1)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import TypeVar

from services.issues import models
from services.issues import repository as repo
from services.issues.sla import repository as sla_repo
from shared.db import read_with_retry
from shared.graphql.context import Info
from shared.graphql.loaders import many_per_key, one_per_key
from shared.runtime import ServiceRuntime

V = TypeVar("V")

AsKey = tuple[str, bool, tuple[str, ...]]
"""An id and who asks for it: whether they see everything, their departments (the ``$1``
and ``$2`` of repository.VISIBLE and ROW_REQUEST_VISIBLE)."""


def as_key(info: Info, id_: str) -> AsKey:
    sees_all, departments = repo.caller_args(info.context.principal)
    return (str(id_), sees_all, tuple(departments))


async def _per_caller(
    runtime: ServiceRuntime, keys: Sequence[AsKey], fetch: Callable[..., Awaitable[V]]
) -> dict[tuple[bool, tuple[str, ...]], V]:
    """``fetch(conn, ids, sees_all=..., departments=...)`` once per caller (one a request)."""
    callers: dict[tuple[bool, tuple[str, ...]], list[str]] = {}
    for id_, sees_all, departments in keys:
        callers.setdefault((sees_all, departments), []).append(id_)
    found = {}
    for (sees_all, departments), ids in callers.items():
        read = partial(fetch, ids=ids, sees_all=sees_all, departments=departments)
        found[(sees_all, departments)] = await read_with_retry(runtime.pool, read)
    return found


async def load_visible_issues(
    runtime: ServiceRuntime, keys: Sequence[AsKey]
) -> list[models.Issue | None]:
    """The issues asked for; None where missing or not visible (repository.VISIBLE)."""
    found = await _per_caller(runtime, keys, repo.visible_issues)
    return [found[(sees_all, deps)].get(id_) for id_, sees_all, deps in keys]


async def load_visible_requests(runtime: ServiceRuntime, keys: Sequence[AsKey]) -> list[bool]:
    """Whether the caller sees each request (repository.ROW_REQUEST_VISIBLE)."""
    found = await _per_caller(runtime, keys, repo.visible_requests)
    return [id_ in found[(sees_all, deps)] for id_, sees_all, deps in keys]


# Each issue's clocks with the region each shows (sla_repo.CLOCK_REGION).
load_clocks = many_per_key(sla_repo.shown_clocks_by_issue_ids)


# Stored calendar of each region (None until its event arrives).
load_region_calendars = one_per_key(sla_repo.region_calendars)


async def may_see_request(info: Info, request_id: str) -> bool:
    """The caller sees the request (and so its issues): PMO/ADMIN, or one of their
    departments takes part, as our replica says."""
    return await info.context.loader(load_visible_requests).load(as_key(info, request_id))
