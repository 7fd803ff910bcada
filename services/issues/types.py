"""GraphQL object types of the issues subgraph (their DataLoaders are in ``loaders``).

``Person``, ``Department``, ``Region`` and ``CollabRequest`` belong to the requests subgraph
and ``Task`` to tasks; here they are entity stubs carrying their key (``CollabRequest`` and
``Task`` add their ``issues``), which the gateway completes from their owners.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum

import strawberry
from strawberry.federation.schema_directives import Key
from strawberry.federation.types import FieldSet

from services.issues import models
from services.issues import repository as repo
from services.issues.loaders import (
    as_key,
    load_clocks,
    load_region_calendars,
    load_visible_issues,
    may_see_request,
)
from services.issues.sla import repository as sla_repo
from services.issues.sla.arithmetic import time_calendar
from shared.graphql.child_pages import After, First, child_connection, empty_connection, page_of
from shared.graphql.compiled import sql
from shared.graphql.context import Info
from shared.graphql.pagination import Connection

# Registering the domain enums lets GraphQL fields use them directly.
strawberry.enum(models.Severity, description="How badly an issue hurts the collaboration.")
strawberry.enum(models.IssueStatus, description="Where an issue is in its lifecycle.")
strawberry.enum(models.SlaMetric, description="What an SLA clock times: the answer or the plan.")
strawberry.enum(models.SlaClockState, description="Whether an SLA clock runs, waits or ended.")
strawberry.enum(
    models.SlaCalendar,
    description="What an SLA clock counts: every minute, or the responsible region's working"
    " hours (weekly hours, public holidays, make-up workdays).",
)
strawberry.enum(models.IssueAction, description="What a timeline entry records.")


def _describe_values(enum: type[StrEnum], descriptions: Mapping[str, str]) -> None:
    """Give each value of a registered domain enum its GraphQL description (the domain
    module stays free of GraphQL)."""
    for value in enum.__strawberry_definition__.values:  # type: ignore[attr-defined]
        value.description = descriptions[value.name]


strawberry.enum(
    models.IssueClockState,
    description="Where an SLA clock not yet stopped stands, for `IssueFilter.clockStates`:"
    " each such clock is in exactly one of these at a time.",
)
_describe_values(
    models.IssueClockState,
    {
        "RUNNING": "Counting, its first warning threshold (`slaPolicy.warnAtPercents`) not"
        " reached yet.",
        "AT_RISK": "Counting, past its first warning threshold but not its deadline.",
        "BREACHED": "Past its deadline, paused or not (also in the moments before the breach"
        " is recorded and `state` reads BREACHED).",
        "PAUSED": "Paused while the issue is WAITING, before its deadline.",
    },
)
strawberry.enum(models.IssueSort, description="Orders of the `issues` list.")
_describe_values(
    models.IssueSort,
    {
        "REPORTED_NEWEST": "Most recently reported first.",
        "REPORTED_OLDEST": "Earliest reported first.",
        "NEAREST_DEADLINE": "The soonest deadline among the issue's RUNNING clocks first"
        " (paused, breached and stopped clocks have none); issues without one last, among"
        " themselves earliest reported first; equal deadlines earliest reported first.",
        "SEVERITY": "Most severe first (CRITICAL, HIGH, MEDIUM, LOW), newest first within a"
        " severity.",
    },
)
strawberry.enum(models.ReportGrouping, description="How `slaReport` groups issues.")

# Stubs only name an entity; the requests subgraph resolves every other field.
_STUB_KEY = Key(fields=FieldSet("id"), resolvable=False)


def stub(column: str) -> dict[str, sql.FieldSql]:
    """The SQL of a field answering the stub of another subgraph's entity whose id is
    ``column`` of the row, or null where it is null or empty (as ``Stub(id=x) if x``)."""
    return sql.to_one(f"(SELECT {{row}}.{column} AS id)", "{target}.id <> ''")


# --- entity stubs owned by requests ---------------------------------------------------------


@strawberry.federation.type(keys=[_STUB_KEY], description="A person in the directory.")
class Person:
    id: strawberry.ID = strawberry.field(description="Opaque id; the `sub` of their token.")


@strawberry.federation.type(keys=[_STUB_KEY], description="A department, e.g. East China Sales.")
class Department:
    id: strawberry.ID = strawberry.field(description="Opaque id.")


@strawberry.federation.type(keys=[_STUB_KEY], description="A region with its work calendar.")
class Region:
    id: strawberry.ID = strawberry.field(description="Opaque id.")


# Fields this subgraph adds to other services' entities are nullable: while the issues service
# is down, the gateway still returns the task or request with null here and an error.
ISSUES_DOWN = (
    " Null, with an error naming the service, only while the issues service is not answering."
)


@sql.entity(repo.stub_entity)
@strawberry.federation.type(keys=["id"], description="A task of a request (tasks subgraph).")
class Task:
    id: strawberry.ID = strawberry.field(description="Opaque id.")

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Task:
        return cls(id=id)

    @strawberry.field(
        description="Issues raised on the task, on requests the caller may see, newest first,"
        " 20 per page by default." + ISSUES_DOWN,
        metadata=sql.nested_connection(repo.ISSUES_OF_TASKS, args=repo.caller_args),
    )
    async def issues(
        self, info: Info, first: First = 20, after: After = None
    ) -> Connection[Issue] | None:
        page = page_of(info, first, after)
        sees_all, departments = repo.caller_args(info.context.principal)
        caller = (sees_all, tuple(departments))
        return await child_connection(
            info, repo.ISSUES_OF_TASKS, self.id, page, Issue.from_model, args=caller
        )


@sql.entity(repo.stub_entity)
@strawberry.federation.type(
    keys=["id"], description="A cross-department collaboration request (handbook template 1)."
)
class CollabRequest:
    id: strawberry.ID = strawberry.field(description="Opaque id.")

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> CollabRequest:
        return cls(id=id)

    @strawberry.field(
        description="Issues raised on the request, newest first, 20 per page by default;"
        " empty if the caller may not see the request." + ISSUES_DOWN,
        metadata=sql.nested_connection(
            repo.ISSUES_OF_REQUESTS, visible=repo.ROW_REQUEST_VISIBLE, args=repo.caller_args
        ),
    )
    async def issues(
        self, info: Info, first: First = 20, after: After = None
    ) -> Connection[Issue] | None:
        page = page_of(info, first, after)
        if not await may_see_request(info, self.id):
            return empty_connection(info, page)
        return await child_connection(
            info, repo.ISSUES_OF_REQUESTS, self.id, page, Issue.from_model
        )


# --- issues ---------------------------------------------------------------------------------


@strawberry.type(description="A deadline on one metric of an issue.")
class SlaClock:
    metric: models.SlaMetric = strawberry.field(description="What the clock times.")
    target_minutes: int = strawberry.field(
        description="Minutes allowed, counted in `calendar` (working minutes for business hours)."
    )
    calendar: models.SlaCalendar = strawberry.field(description="Which minutes count.")
    started_at: datetime = strawberry.field(description="When the clock started.")
    due_at: datetime = strawberry.field(
        description="The deadline, moved out by any working time spent paused."
    )
    paused_minutes: int = strawberry.field(
        description="Minutes of the calendar that passed while paused (how far `dueAt` moved)."
    )
    paused_at: datetime | None = strawberry.field(
        description="Since when it is paused (WAITING), if it is. A breached clock stays"
        " BREACHED while paused; how late it is stops growing and the next escalation level"
        " waits for the resume."
    )
    met_at: datetime | None = strawberry.field(
        description="When the awaited step (acknowledgement or plan) happened, on time or late."
    )
    breached_at: datetime | None = strawberry.field(
        description="When the deadline was found missed, if it was."
    )
    state: models.SlaClockState = strawberry.field(description="Running, paused or ended how.")
    model: strawberry.Private[models.SlaClock]
    shown_region_id: strawberry.Private[str | None]

    @classmethod
    def from_model(cls, clock: models.SlaClock, shown_region_id: str | None) -> SlaClock:
        """``shown_region_id``: the clock's sla_repo.CLOCK_REGION, as the loader reads it."""
        return cls(
            metric=clock.metric,
            target_minutes=clock.target_minutes,
            calendar=clock.calendar,
            started_at=clock.started_at,
            due_at=clock.due_at,
            paused_minutes=clock.paused_minutes,
            paused_at=clock.paused_at,
            met_at=clock.met_at,
            breached_at=clock.breached_at,
            state=clock.state,
            model=clock,
            shown_region_id=shown_region_id,
        )

    @strawberry.field(
        description="Whose working hours count; null for 24x7 clocks.",
        metadata=sql.to_one(f"(SELECT {sla_repo.CLOCK_REGION} AS id)", "{target}.id IS NOT NULL"),
    )
    def region(self) -> Region | None:
        found = self.shown_region_id
        return Region(id=strawberry.ID(found)) if found is not None else None

    @strawberry.field(
        description="Whole minutes of `calendar` left, counted to now (or to when the step"
        " happened or the clock paused). Negative once the deadline has passed: how far over."
    )
    async def remaining_minutes(self, info: Info) -> int:
        stored = None
        if self.model.region_id and self.calendar is models.SlaCalendar.BUSINESS_HOURS:
            stored = await info.context.loader(load_region_calendars).load(self.model.region_id)
        calendar = time_calendar(self.calendar, stored)
        return self.model.remaining_minutes(calendar, datetime.now(UTC))


@strawberry.type(description="One change of an issue: what, who and when.")
class TimelineEntry:
    at: datetime = strawberry.field(description="When it happened.")
    action: models.IssueAction = strawberry.field(description="What happened.")
    from_status: models.IssueStatus | None = strawberry.field(
        description="Status before, for moves."
    )
    to_status: models.IssueStatus | None = strawberry.field(description="Status after, for moves.")
    note: str = strawberry.field(description="Comment, reason or details of the change.")
    actor_id: strawberry.Private[str | None]

    @strawberry.field(
        description="Who did it; null for the system (SLA timers, calendars).",
        metadata=stub("actor_id"),
    )
    def actor(self) -> Person | None:
        return Person(id=strawberry.ID(self.actor_id)) if self.actor_id else None

    @classmethod
    def from_model(cls, entry: models.TimelineEntry) -> TimelineEntry:
        return cls(
            at=entry.at,
            action=entry.action,
            from_status=entry.from_status,
            to_status=entry.to_status,
            note=entry.note,
            actor_id=entry.actor_id,
        )


@sql.entity(repo.issue_entity)
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
    plan: str = strawberry.field(description="The responsible department's plan; empty before.")
    resolution: str = strawberry.field(description="How it was resolved; empty before.")
    escalation_level: int = strawberry.field(
        description="0 none; 1 responsible department's head; 2 lead department's head; 3 PMO."
    )
    source_problem_id: strawberry.ID | None = strawberry.field(
        description="The progress-report problem it was raised from, if any."
    )
    created_at: datetime = strawberry.field(description="When the issue was reported.")
    updated_at: datetime = strawberry.field(description="When it last changed.")
    model: strawberry.Private[models.Issue]

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
            plan=issue.plan,
            resolution=issue.resolution,
            escalation_level=issue.escalation_level,
            source_problem_id=(
                strawberry.ID(issue.source_problem_id) if issue.source_problem_id else None
            ),
            created_at=issue.created_at,
            updated_at=issue.updated_at,
            model=issue,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Issue | None:
        return await visible_issue(info, id)

    @strawberry.field(
        description="Who reported it; null if the directory does not know them.",
        metadata=sql.to_one("(SELECT {row}.reporter_id AS id)", "true"),
    )
    def reporter(self) -> Person | None:
        return Person(id=strawberry.ID(self.model.reporter_id))

    @strawberry.field(
        description="The department the reporter spoke for, if known.",
        metadata=stub("reporting_department_id"),
    )
    def reporting_department(self) -> Department | None:
        found = self.model.reporting_department_id
        return Department(id=strawberry.ID(found)) if found else None

    @strawberry.field(
        description="The region it was reported from, if known.",
        metadata=stub("reporting_region_id"),
    )
    def region(self) -> Region | None:
        found = self.model.reporting_region_id
        return Region(id=strawberry.ID(found)) if found else None

    @strawberry.field(
        description="The department that acknowledges and verifies: the request's lead unless"
        " the reporter named another department taking part in the request.",
        metadata=sql.to_one("(SELECT {row}.lead_department_id AS id)", "true"),
    )
    def lead_department(self) -> Department:
        return Department(id=strawberry.ID(self.model.lead_department_id))

    @strawberry.field(
        description="The department that plans and resolves (the lead until one is named).",
        metadata=sql.to_one("(SELECT {row}.responsible_department_id AS id)", "true"),
    )
    def responsible_department(self) -> Department:
        return Department(id=strawberry.ID(self.model.responsible_department_id))

    @strawberry.field(
        description="The person in the responsible department who owns it.",
        metadata=stub("owner_id"),
    )
    def owner(self) -> Person | None:
        return Person(id=strawberry.ID(self.model.owner_id)) if self.model.owner_id else None

    @strawberry.field(
        description="The request the issue was raised on; null if not visible.",
        metadata=sql.to_one("(SELECT {row}.request_id AS id)", "true"),
    )
    def request(self) -> CollabRequest | None:
        return CollabRequest(id=strawberry.ID(self.model.request_id))

    @strawberry.field(description="The task it blocks, if any.", metadata=stub("task_id"))
    def task(self) -> Task | None:
        return Task(id=strawberry.ID(self.model.task_id)) if self.model.task_id else None

    @strawberry.field(
        description="SLA clocks of the issue, RESPONSE first.",
        metadata=sql.to_many(
            "sla_clocks",
            "{target}.issue_id = {row}.id",
            sla_repo.CLOCK_ORDER.format(row="{target}"),
        ),
    )
    async def sla_clocks(self, info: Info) -> list[SlaClock]:
        clocks = await info.context.loader(load_clocks).load(self.id)
        return [SlaClock.from_model(c, region) for c, region in clocks]

    @strawberry.field(
        description="Every change of the issue, oldest first, 20 per page by default.",
        metadata=sql.nested_connection(repo.TIMELINES),
    )
    async def timeline(
        self, info: Info, first: First = 20, after: After = None
    ) -> Connection[TimelineEntry]:
        page = page_of(info, first, after)
        return await child_connection(info, repo.TIMELINES, self.id, page, TimelineEntry.from_model)


async def visible_issue(info: Info, issue_id: str) -> Issue | None:
    """The issue, if it exists and the caller may see its request or works on it (a
    responsible department from outside the request), as the mutations judge it: read with
    repository.VISIBLE, the predicate of the compiled path's ``issue_entity`` too."""
    issue = await info.context.loader(load_visible_issues).load(as_key(info, issue_id))
    return Issue.from_model(issue) if issue is not None else None
