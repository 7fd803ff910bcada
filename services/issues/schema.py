"""The issues subgraph: queries and mutations (types live in :mod:`services.issues.types`)."""

from __future__ import annotations

import strawberry

from services.issues import models, service
from services.issues import repository as repo
from services.issues.types import CollabRequest, Issue, visible_issue
from shared.graphql.context import Info
from shared.graphql.errors import UserError, run_mutation
from shared.graphql.pagination import Connection, build_connection, page_request
from shared.graphql.schema import build_schema
from shared.settings import Settings

# --- inputs ---------------------------------------------------------------------------------


@strawberry.input(description="A problem to log against a request (handbook template 5).")
class ReportIssueInput:
    request_id: strawberry.ID = strawberry.field(description="The request it concerns.")
    title: str = strawberry.field(description="Short statement of the problem (1-200 chars).")
    severity: models.Severity = strawberry.field(description="How badly it hurts.")
    task_id: strawberry.ID | None = strawberry.field(
        default=None, description="The task it blocks, if any."
    )
    description: str = strawberry.field(default="", description="What happened, in detail.")
    impact: str = strawberry.field(default="", description="What it affects and how badly.")
    urgent: bool = strawberry.field(
        default=False, description="Green channel: the plan is due within 2 hours."
    )
    attempted_measures: str = strawberry.field(
        default="", description="What was tried before reporting."
    )

    def to_command(self) -> models.NewIssue:
        return models.NewIssue(
            request_id=self.request_id,
            title=self.title,
            severity=self.severity,
            task_id=self.task_id,
            description=self.description,
            impact=self.impact,
            urgent=self.urgent,
            attempted_measures=self.attempted_measures,
        )


# --- payloads -------------------------------------------------------------------------------


@strawberry.type(description="Result of `reportIssue`.")
class ReportIssuePayload:
    issue: Issue | None = strawberry.field(default=None, description="The logged issue.")
    user_errors: list[UserError] = strawberry.field(description="Why it was refused, if it was.")


# --- root types -----------------------------------------------------------------------------


@strawberry.type
class Query:
    @strawberry.field(description="One issue, if the caller may see its request.")
    async def issue(self, info: Info, id: strawberry.ID) -> Issue | None:
        return await visible_issue(info, id)

    @strawberry.field(description="Issues on requests the caller may see, newest first.")
    async def issues(
        self, info: Info, first: int = 20, after: str | None = None
    ) -> Connection[Issue]:
        context = info.context
        page = page_request(first, after, context.runtime.settings.graphql_max_page)
        async with context.runtime.pool.acquire() as conn:
            rows = await repo.list_issues(
                conn,
                sees_all=context.principal.sees_everything,
                departments=context.principal.departments,
                after_id=page.after[0] if page.after else None,
                limit=page.limit + 1,
            )
        return build_connection(rows, page, lambda i: [i.id], Issue.from_model)


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Log an issue on a request; its lead department must answer within 2 hours."
    )
    async def report_issue(self, info: Info, input: ReportIssueInput) -> ReportIssuePayload:
        ctx = info.context
        action = service.report_issue(ctx.runtime, ctx.principal, input.to_command())
        return await run_mutation(ReportIssuePayload, "issue", action, Issue.from_model)


def create_schema(settings: Settings) -> strawberry.federation.Schema:
    # CollabRequest is reachable only through `_entities`, so it is listed explicitly.
    return build_schema(settings, Query, Mutation, types=[CollabRequest])
