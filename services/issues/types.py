"""GraphQL object types of the issues subgraph and the DataLoaders behind their relations.

``Person``, ``Department`` and ``CollabRequest`` belong to the requests subgraph; here they
are entity stubs carrying only their key, which the gateway completes from requests.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import strawberry
from strawberry.federation.schema_directives import Key
from strawberry.federation.types import FieldSet

from services.issues import models
from services.issues import repository as repo
from shared.graphql.context import Info
from shared.replicas import load_requests
from shared.runtime import ServiceRuntime

# Registering the domain enums lets GraphQL fields use them directly.
strawberry.enum(models.Severity, description="How badly an issue hurts the collaboration.")
strawberry.enum(models.IssueStatus, description="Where an issue is in its lifecycle.")
strawberry.enum(models.SlaMetric, description="What an SLA clock times: the answer or the plan.")
strawberry.enum(models.SlaClockState, description="Whether an SLA clock runs, waits or ended.")

# Stubs only name an entity; the requests subgraph resolves every other field.
_STUB_KEY = Key(fields=FieldSet("id"), resolvable=False)


# --- loaders: one query per relation per request, whatever the page size ---------------------


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


async def load_clocks(runtime: ServiceRuntime, ids: Sequence[str]) -> list[list[models.SlaClock]]:
    async with runtime.pool.acquire() as conn:
        found = await repo.clocks_by_issue_ids(conn, ids)
    return [found.get(i, []) for i in ids]


async def may_see_request(info: Info, request_id: str) -> bool:
    """The caller sees the request (and so its issues): PMO/ADMIN, or a department takes part."""
    principal = info.context.principal
    if principal.sees_everything:
        return True
    replica = await info.context.loader(load_requests).load(request_id)
    return replica is not None and principal.may_see(replica.departments)


# --- entity stubs owned by requests ---------------------------------------------------------


@strawberry.federation.type(keys=[_STUB_KEY], description="A person in the directory.")
class Person:
    id: strawberry.ID = strawberry.field(description="Opaque id; the `sub` of their token.")


@strawberry.federation.type(keys=[_STUB_KEY], description="A department, e.g. East China Sales.")
class Department:
    id: strawberry.ID = strawberry.field(description="Opaque id.")


@strawberry.federation.type(
    keys=["id"], description="A cross-department collaboration request (handbook template 1)."
)
class CollabRequest:
    id: strawberry.ID = strawberry.field(description="Opaque id.")

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> CollabRequest:
        return cls(id=id)

    @strawberry.field(description="Issues raised on the request, newest first.")
    async def issues(self, info: Info) -> list[Issue]:
        if not await may_see_request(info, self.id):
            return []
        found = await info.context.loader(load_issues_of_requests).load(self.id)
        return [Issue.from_model(i) for i in found]


# --- issues ---------------------------------------------------------------------------------


@strawberry.type(description="A deadline on one metric of an issue (24x7 minutes for now).")
class SlaClock:
    metric: models.SlaMetric = strawberry.field(description="What the clock times.")
    target_minutes: int = strawberry.field(description="Time allowed, in minutes.")
    started_at: datetime = strawberry.field(description="When the clock started.")
    due_at: datetime = strawberry.field(
        description="The deadline, moved out by any time spent paused."
    )
    paused_minutes: int = strawberry.field(description="Minutes spent paused so far.")
    met_at: datetime | None = strawberry.field(description="When the target was met, if it was.")
    breached_at: datetime | None = strawberry.field(
        description="When the deadline was found missed, if it was."
    )
    state: models.SlaClockState = strawberry.field(description="Running, paused or ended how.")
    model: strawberry.Private[models.SlaClock]

    @classmethod
    def from_model(cls, clock: models.SlaClock) -> SlaClock:
        return cls(
            metric=clock.metric,
            target_minutes=clock.target_minutes,
            started_at=clock.started_at,
            due_at=clock.due_at,
            paused_minutes=clock.paused_minutes,
            met_at=clock.met_at,
            breached_at=clock.breached_at,
            state=clock.state,
            model=clock,
        )

    @strawberry.field(
        description="Whole minutes left before `dueAt`, counted to now (or to when the clock"
        " was met or paused). Negative once the deadline has passed: how far over it is."
    )
    def remaining_minutes(self) -> int:
        return self.model.remaining_minutes(datetime.now(UTC))


@strawberry.federation.type(keys=["id"], description="A problem raised on a request (template 5).")
class Issue:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    code: str = strawberry.field(description="Readable code, e.g. `ISS-2026-0001`.")
    title: str = strawberry.field(description="Short statement of the problem.")
    description: str = strawberry.field(description="What happened, in detail.")
    impact: str = strawberry.field(description="What the problem affects and how badly.")
    severity: models.Severity = strawberry.field(description="How badly it hurts.")
    urgent: bool = strawberry.field(
        description="Green channel: the plan is due within 2 hours instead of 24."
    )
    status: models.IssueStatus = strawberry.field(description="Lifecycle status.")
    attempted_measures: str = strawberry.field(description="What was tried before reporting.")
    created_at: datetime = strawberry.field(description="When the issue was reported.")
    updated_at: datetime = strawberry.field(description="When it last changed.")
    request_id: strawberry.Private[str]
    reporter_id: strawberry.Private[str]
    lead_department_id: strawberry.Private[str]

    @classmethod
    def from_model(cls, issue: models.Issue) -> Issue:
        return cls(
            id=strawberry.ID(issue.id),
            code=issue.code,
            title=issue.title,
            description=issue.description,
            impact=issue.impact,
            severity=issue.severity,
            urgent=issue.urgent,
            status=issue.status,
            attempted_measures=issue.attempted_measures,
            created_at=issue.created_at,
            updated_at=issue.updated_at,
            request_id=issue.request_id,
            reporter_id=issue.reporter_id,
            lead_department_id=issue.lead_department_id,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Issue | None:
        return await visible_issue(info, id)

    @strawberry.field(description="Who reported it; null if the directory does not know them.")
    def reporter(self) -> Person | None:
        return Person(id=strawberry.ID(self.reporter_id))

    @strawberry.field(description="The request's lead department, which must answer.")
    def lead_department(self) -> Department:
        return Department(id=strawberry.ID(self.lead_department_id))

    @strawberry.field(description="The request the issue was raised on; null if not visible.")
    def request(self) -> CollabRequest | None:
        return CollabRequest(id=strawberry.ID(self.request_id))

    @strawberry.field(description="SLA clocks of the issue, RESPONSE first.")
    async def sla_clocks(self, info: Info) -> list[SlaClock]:
        clocks = await info.context.loader(load_clocks).load(self.id)
        return [SlaClock.from_model(c) for c in clocks]


async def visible_issue(info: Info, issue_id: str) -> Issue | None:
    """The issue, if it exists and the caller may see its request."""
    issue = await info.context.loader(load_issues).load(issue_id)
    if issue is None or not await may_see_request(info, issue.request_id):
        return None
    return Issue.from_model(issue)
