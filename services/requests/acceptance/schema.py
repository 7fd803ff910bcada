"""Acceptance and lessons: queries and mutations."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import strawberry

from services.requests.acceptance import repository as repo
from services.requests.acceptance import service
from services.requests.acceptance.types import Lesson
from services.requests.types import CollabRequest, RequestPayload
from services.requests.workflow.schema import RequestMoveInput
from shared.graphql.context import Info
from shared.graphql.errors import UserError, run_mutation
from shared.graphql.pagination import Connection, build_connection, page_request, wants_total_count
from shared.search_text import query_terms


@strawberry.input(description="The approver's acceptance tolerance.")
class SetAcceptanceToleranceInput:
    request_id: strawberry.ID = strawberry.field(description="The request.")
    tolerance_percent: Decimal = strawberry.field(description="0 to 100 (percent of target).")
    comment: str = strawberry.field(default="", description="Kept in the history.")


@strawberry.input(description="The actual value reached for one goal.")
class GoalResultInput:
    goal_id: strawberry.ID = strawberry.field(description="The goal.")
    actual: Decimal = strawberry.field(description="Value reached, in the goal's unit.")


@strawberry.input(description="Acceptance results of a request IN_ACCEPTANCE.")
class RecordAcceptanceInput:
    request_id: strawberry.ID = strawberry.field(description="The request.")
    results: list[GoalResultInput] = strawberry.field(description="Actual value per goal.")
    comment: str = strawberry.field(default="", description="Kept in the history.")


@strawberry.input(description="A lesson learned on a request.")
class AddLessonInput:
    request_id: strawberry.ID = strawberry.field(description="The request.")
    title: str = strawberry.field(description="Short statement.")
    body: str = strawberry.field(description="What happened and what to do next time.")
    tags: list[str] = strawberry.field(default_factory=list, description="Free tags.")


@strawberry.type(description="Result of `addLesson`.")
class AddLessonPayload:
    lesson: Lesson | None = strawberry.field(default=None, description="The saved lesson.")
    user_errors: list[UserError] = strawberry.field(description="Why it was refused, if it was.")


@strawberry.type
class AcceptanceQuery:
    @strawberry.field(
        description="Lessons from requests the caller may see, newest first; `search` keeps "
        "those containing every word (Chinese or English) in title, body or tags."
    )
    async def lessons(
        self,
        info: Info,
        search: Annotated[
            str | None, strawberry.argument(description="Words, separated by spaces.")
        ] = None,
        first: Annotated[int, strawberry.argument(description="Page size.")] = 20,
        after: Annotated[str | None, strawberry.argument(description="Cursor.")] = None,
    ) -> Connection[Lesson]:
        ctx = info.context
        page = page_request(first, after, ctx.runtime.settings.graphql_max_page)
        terms, grams = query_terms(search or "")
        async with ctx.runtime.pool.acquire() as conn:
            rows = await repo.search_lessons(
                conn,
                sees_all=ctx.principal.sees_everything,
                departments=ctx.principal.departments,
                terms=terms,
                grams=grams,
                after_id=page.after[0] if page.after else None,
                limit=page.limit + 1,
            )
            total = None
            if wants_total_count(info):  # a statement of its own: only if asked
                total = await repo.count_lessons(
                    conn,
                    sees_all=ctx.principal.sees_everything,
                    departments=ctx.principal.departments,
                    terms=terms,
                    grams=grams,
                )
        return build_connection(rows, page, lambda r: [r.id], Lesson.from_model, total)


@strawberry.type
class AcceptanceMutation:
    @strawberry.mutation(description="Move an ACTIVE request to IN_ACCEPTANCE (lead department).")
    async def start_acceptance(self, info: Info, input: RequestMoveInput) -> RequestPayload:
        ctx = info.context
        action = service.start_acceptance(
            ctx.runtime, ctx.principal, input.request_id, input.comment
        )
        return await run_mutation(RequestPayload, "request", action, CollabRequest.from_model)

    @strawberry.mutation(description="Set the acceptance tolerance (approver or PMO).")
    async def set_acceptance_tolerance(
        self, info: Info, input: SetAcceptanceToleranceInput
    ) -> RequestPayload:
        ctx = info.context
        action = service.set_tolerance(
            ctx.runtime, ctx.principal, input.request_id, input.tolerance_percent, input.comment
        )
        return await run_mutation(RequestPayload, "request", action, CollabRequest.from_model)

    @strawberry.mutation(
        description="Record the actual value per goal; met or not is computed (lead department)."
    )
    async def record_acceptance(self, info: Info, input: RecordAcceptanceInput) -> RequestPayload:
        ctx = info.context
        results = [(r.goal_id, r.actual) for r in input.results]
        action = service.record_acceptance(
            ctx.runtime, ctx.principal, input.request_id, results, input.comment
        )
        return await run_mutation(RequestPayload, "request", action, CollabRequest.from_model)

    @strawberry.mutation(description="Sign off the acceptance and close the request (approver).")
    async def close_request(self, info: Info, input: RequestMoveInput) -> RequestPayload:
        ctx = info.context
        action = service.close_request(ctx.runtime, ctx.principal, input.request_id, input.comment)
        return await run_mutation(RequestPayload, "request", action, CollabRequest.from_model)

    @strawberry.mutation(description="Write down a lesson learned (anyone taking part).")
    async def add_lesson(self, info: Info, input: AddLessonInput) -> AddLessonPayload:
        ctx = info.context
        action = service.add_lesson(
            ctx.runtime, ctx.principal, input.request_id, input.title, input.body, input.tags
        )
        return await run_mutation(AddLessonPayload, "lesson", action, Lesson.from_model)
