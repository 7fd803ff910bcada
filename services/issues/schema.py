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
from shared.graphql.errors import PublicError, run_mutation
from shared.graphql.pagination import (
    Connection,
    PageRequest,
    after_in_sort,
    build_connection,
    page_request,
    sorted_key,
    wants_total_count,
)
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
        description="Issues the caller may see (on requests they see, or that one of their"
        " departments leads or is responsible for), in `sort` order.",
        metadata=sql.root_connection(repo.issues_source),
    )
    async def issues(
        self,
        info: Info,
        filter: IssueFilter | None = None,
        first: int = 20,
        after: str | None = None,
        sort: Annotated[
            models.IssueSort,
            strawberry.argument(
                description="The order. A cursor (`after`) continues only the sort that"
                " returned it; one of another sort is refused (BAD_USER_INPUT)."
            ),
        ] = models.IssueSort.REPORTED_NEWEST,
    ) -> Connection[Issue]:
        context = info.context
        page = page_request(first, after, context.runtime.settings.graphql_max_page)
        chosen = (filter or IssueFilter()).to_filter()
        principal = context.principal
        # the page and its count in one transaction, both planned for their values
        async with context.runtime.pool.acquire() as conn, plan_with_values(conn):
            rows = await repo.list_issues(
                conn, principal, chosen, sort=sort, after=_after(page, sort), limit=page.limit + 1
            )
            total = None
            if wants_total_count(info):  # a statement of its own: only if asked
                total = await repo.count_issues(conn, principal, chosen)
        return build_connection(rows, page, lambda i: _cursor(i, sort), Issue.from_model, total)

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


_DEFAULT_SORT = models.IssueSort.REPORTED_NEWEST


def _cursor(issue: models.Issue, sort: models.IssueSort) -> list[object]:
    """A page's cursor: the bare id in the default order, else the sort's name first."""
    return sorted_key(sort, repo.sort_key(issue, sort), _DEFAULT_SORT)


def _after(page: PageRequest, sort: models.IssueSort) -> list[object] | None:
    """The values of the cursor ``after`` as the list's SQL compares them; a cursor of
    another sort, or one this list did not return, is refused."""
    key = after_in_sort(page, sort, _DEFAULT_SORT)
    if key is None:
        return None
    try:
        if sort is models.IssueSort.NEAREST_DEADLINE:
            deadline, issue_id = key
            return [None if deadline is None else datetime.fromisoformat(deadline), str(issue_id)]
        if sort is models.IssueSort.SEVERITY:
            weight, issue_id = key
            return [int(weight), str(issue_id)]
        (issue_id,) = key
        return [str(issue_id)]
    except (TypeError, ValueError):
        raise PublicError("`after` is not a cursor of this list") from None


def create_schema(settings: Settings) -> strawberry.federation.Schema:
    # CollabRequest and Task are reachable only through `_entities`, so they are listed.
    return build_schema(settings, Query, Mutation, types=[CollabRequest, Task])
