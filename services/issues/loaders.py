"""DataLoader batch functions of the issues subgraph: one query per relation per request,
whatever the page size (no N+1)."""

from __future__ import annotations

from services.issues import repository as repo
from services.issues.sla import repository as sla_repo
from shared.graphql.context import Info
from shared.graphql.loaders import many_per_key, one_per_key
from shared.replicas import load_requests

load_issues = one_per_key(repo.issues_by_ids)


load_clocks = many_per_key(sla_repo.clocks_by_issue_ids)


# Stored calendar of each region (None until its event arrives).
load_region_calendars = one_per_key(sla_repo.region_calendars)


async def may_see_request(info: Info, request_id: str) -> bool:
    """The caller sees the request (and so its issues): PMO/ADMIN, or a department takes part."""
    principal = info.context.principal
    if principal.sees_everything:
        return True
    replica = await info.context.loader(load_requests).load(request_id)
    return replica is not None and principal.may_see(replica.departments)
