"""The issues subgraph: queries and mutations (types in :mod:`services.issues.types`, inputs
and payloads in :mod:`services.issues.inputs`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from services.issues import lifecycle, models, reports, service
from services.issues import repository as repo
from services.issues.inputs import (
    AcknowledgeIssueInput,
    EscalateIssueInput,
    IssueFilter,
    IssueMoveInput,
    IssuePayload,
    ProposePlanInput,
    ReassignIssueInput,
    ReportIssueInput,
    ReportIssuePayload,
    ResolveIssueInput,
    VerifyResolutionInput,
)
from services.issues.lifecycle import moves
from services.issues.lifecycle.rules import Rule
from services.issues.sla_types import SlaPolicy, SlaReportRow
from services.issues.types import CollabRequest, Issue, Task, visible_issue
from shared.db import plan_with_values
from shared.graphql.compiled import sql
from shared.graphql.context import Info
from shared.graphql.errors import run_mutation
from shared.graphql.pagination import Connection, build_connection, page_request, wants_total_count
from shared.graphql.schema import build_schema
from shared.settings import Settings


@strawberry.type
class Query:
    @strawberry.field(
        description="One issue, if the caller may see its request.",
        metadata=sql.root_one(repo.issue_source),
    )
    async def issue(self, info: Info, id: strawberry.ID) -> Issue | None:
        return await visible_issue(info, id)

    @strawberry.field(
        description="Issues on requests the caller may see, newest first.",
        metadata=sql.root_connection(repo.issues_source),
    )
    async def issues(
        self,
        info: Info,
        filter: IssueFilter | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[Issue]:
        context = info.context
        page = page_request(first, after, context.runtime.settings.graphql_max_page)
        where = filter or IssueFilter()
        chosen = repo.ListFilter(
            where.statuses, where.request_id, where.responsible_department_id, where.urgent
        )
        principal = context.principal
        # the page and its count in one transaction, both planned for their values
        async with context.runtime.pool.acquire() as conn, plan_with_values(conn):
            after_id = page.after[0] if page.after else None
            rows = await repo.list_issues(
                conn, principal, chosen, after_id=after_id, limit=page.limit + 1
            )
            total = None
            if wants_total_count(info):  # a statement of its own: only if asked
                total = await repo.count_issues(conn, principal, chosen)
        return build_connection(rows, page, lambda i: [i.id], Issue.from_model, total)

    @strawberry.field(description="The SLA policy that times newly reported issues.")
    def sla_policy(self, info: Info) -> SlaPolicy:
        return SlaPolicy.from_model(models.SlaPolicy.from_settings(info.context.runtime.settings))

    @strawberry.field(
        description="SLA compliance of issues reported in [`from`, `to`) that the caller may"
        " see, one row per responsible department or its region."
    )
    async def sla_report(
        self,
        info: Info,
        from_: Annotated[
            datetime, strawberry.argument(name="from", description="Start, inclusive.")
        ],
        to: Annotated[
            datetime, strawberry.argument(description="End, exclusive (a year at most).")
        ],
        group_by: Annotated[
            models.ReportGrouping, strawberry.argument(description="One row per what.")
        ],
    ) -> list[SlaReportRow]:
        ctx = info.context
        rows = await reports.sla_report(ctx.runtime, ctx.principal, from_, to, group_by)
        return [SlaReportRow.from_model(r) for r in rows]


async def _move(info: Info, rule: Rule, move: models.Move) -> IssuePayload:
    ctx = info.context
    action = lifecycle.move_issue(ctx.runtime, ctx.principal, rule, move)
    return await run_mutation(IssuePayload, "issue", action, Issue.from_model)


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Log an issue on a request; its RESPONSE and PLAN clocks start now."
    )
    async def report_issue(self, info: Info, input: ReportIssueInput) -> ReportIssuePayload:
        ctx = info.context
        action = service.report_issue(ctx.runtime, ctx.principal, input.to_command())
        return await run_mutation(ReportIssuePayload, "issue", action, Issue.from_model)

    @strawberry.mutation(description="Lead department: take the issue on (REPORTED only).")
    async def acknowledge_issue(self, info: Info, input: AcknowledgeIssueInput) -> IssuePayload:
        return await _move(info, moves.ACKNOWLEDGE, input.to_move())

    @strawberry.mutation(description="Responsible department: propose the plan (ACKNOWLEDGED).")
    async def propose_plan(self, info: Info, input: ProposePlanInput) -> IssuePayload:
        return await _move(info, moves.PROPOSE_PLAN, input.to_move())

    @strawberry.mutation(description="Responsible department: start on the plan.")
    async def start_work(self, info: Info, input: IssueMoveInput) -> IssuePayload:
        return await _move(info, moves.START_WORK, input.to_move())

    @strawberry.mutation(
        description="Lead or responsible department: wait for the reporter; clocks pause."
    )
    async def wait_for_reporter(self, info: Info, input: IssueMoveInput) -> IssuePayload:
        return await _move(info, moves.WAIT, input.to_move())

    @strawberry.mutation(
        description="Back to the status before WAITING; paused clocks run again and their"
        " deadlines move by the paused working time."
    )
    async def resume_issue(self, info: Info, input: IssueMoveInput) -> IssuePayload:
        return await _move(info, moves.RESUME, input.to_move())

    @strawberry.mutation(description="Responsible department: the problem is solved.")
    async def resolve_issue(self, info: Info, input: ResolveIssueInput) -> IssuePayload:
        return await _move(info, moves.RESOLVE, input.to_move())

    @strawberry.mutation(
        description="Lead department: accept the resolution, or send it back to IN_PROGRESS."
    )
    async def verify_resolution(self, info: Info, input: VerifyResolutionInput) -> IssuePayload:
        return await _move(info, moves.VERIFY, input.to_move())

    @strawberry.mutation(description="Lead department: file a verified issue away.")
    async def archive_issue(self, info: Info, input: IssueMoveInput) -> IssuePayload:
        return await _move(info, moves.ARCHIVE, input.to_move())

    @strawberry.mutation(description="Lead department: name another responsible department.")
    async def reassign_issue(self, info: Info, input: ReassignIssueInput) -> IssuePayload:
        return await _move(info, moves.REASSIGN, input.to_move())

    @strawberry.mutation(
        description="Escalate one level (responsible head, lead head, PMO) by hand."
    )
    async def escalate_issue(self, info: Info, input: EscalateIssueInput) -> IssuePayload:
        ctx = info.context
        action = lifecycle.escalate_issue(ctx.runtime, ctx.principal, input.to_move())
        return await run_mutation(IssuePayload, "issue", action, Issue.from_model)


def create_schema(settings: Settings) -> strawberry.federation.Schema:
    # CollabRequest and Task are reachable only through `_entities`, so they are listed.
    return build_schema(settings, Query, Mutation, types=[CollabRequest, Task])
