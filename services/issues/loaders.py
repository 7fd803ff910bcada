"""DataLoader batch functions of the issues subgraph: one query per relation per request,
whatever the page size (no N+1)."""

from __future__ import annotations

from collections.abc import Sequence

from services.issues import models
from services.issues import repository as repo
from services.issues.sla import repository as sla_repo
from shared.graphql.context import Info
from shared.replicas import load_requests
from shared.runtime import ServiceRuntime


async def load_issues(runtime: ServiceRuntime, ids: Sequence[str]) -> list[models.Issue | None]:
    async with runtime.pool.acquire() as conn:
        found = await repo.issues_by_ids(conn, ids)
    return [found.get(i) for i in ids]


async def load_issues_of_requests(
    runtime: ServiceRuntime, ids: Sequence[str]
) -> list[list[models.Issue]]:
    async with runtime.pool.acquire() as conn:
        found = await repo.issues_by_request_ids(conn, ids)
    return [found.get(i, []) for i in ids]


async def load_issues_of_tasks(
    runtime: ServiceRuntime, ids: Sequence[str]
) -> list[list[models.Issue]]:
    async with runtime.pool.acquire() as conn:
        found = await repo.issues_by_task_ids(conn, ids)
    return [found.get(i, []) for i in ids]


async def load_clocks(runtime: ServiceRuntime, ids: Sequence[str]) -> list[list[models.SlaClock]]:
    async with runtime.pool.acquire() as conn:
        found = await sla_repo.clocks_by_issue_ids(conn, ids)
    return [found.get(i, []) for i in ids]


async def load_timelines(
    runtime: ServiceRuntime, ids: Sequence[str]
) -> list[list[models.TimelineEntry]]:
    async with runtime.pool.acquire() as conn:
        found = await repo.timelines_by_issue_ids(conn, ids)
    return [found.get(i, []) for i in ids]


async def load_region_calendars(runtime: ServiceRuntime, ids: Sequence[str]) -> list[object]:
    """Stored calendar of each region (None until its event arrives)."""
    async with runtime.pool.acquire() as conn:
        found = await sla_repo.region_calendars(conn, ids)
    return [found.get(i) for i in ids]


async def may_see_request(info: Info, request_id: str) -> bool:
    """The caller sees the request (and so its issues): PMO/ADMIN, or a department takes part."""
    principal = info.context.principal
    if principal.sees_everything:
        return True
    replica = await info.context.loader(load_requests).load(request_id)
    return replica is not None and principal.may_see(replica.departments)
