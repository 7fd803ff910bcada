"""The tasks subgraph: queries and mutations (inputs in :mod:`services.tasks.inputs`, types in
``types``, ``entities`` and the subpackages)."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry

from services.tasks import models, service
from services.tasks import repository as repo
from services.tasks.entities import CollabRequest, Person
from services.tasks.inputs import (
    CreateRecurringTaskInput,
    CreateTaskInput,
    RaiseProblemAsIssueInput,
    SetRaciInput,
    SubmitProgressReportInput,
    TaskFilter,
    UpdateTaskInput,
)
from services.tasks.raci import repository as raci_repo
from services.tasks.raci.service import set_raci
from services.tasks.raci.types import RaciMatrix, matrix_of
from services.tasks.recurring.service import create_recurring_task
from services.tasks.recurring.types import RecurringTask
from services.tasks.reports.service import raise_problem_as_issue, submit_progress_report
from services.tasks.reports.types import ProgressReport, ReportedProblem
from services.tasks.types import Task, may_see_request, visible_task
from shared.db import plan_with_values
from shared.graphql.child_pages import NOT_OURS, After, First, page_of
from shared.graphql.compiled import sql
from shared.graphql.context import Info
from shared.graphql.errors import PublicError, UserError, run_mutation
from shared.graphql.pagination import (
    Connection,
    PageRequest,
    after_in_sort,
    build_connection,
    sorted_key,
    wants_total_count,
)
from shared.graphql.schema import build_schema
from shared.settings import Settings

_ERRORS = "Why it was refused, if it was."


@strawberry.type(description="Result of `createTask`.")
class CreateTaskPayload:
    task: Task | None = strawberry.field(default=None, description="The new task.")
    user_errors: list[UserError] = strawberry.field(description=_ERRORS)


@strawberry.type(description="Result of `updateTask`.")
class UpdateTaskPayload:
    task: Task | None = strawberry.field(default=None, description="The task as changed.")
    user_errors: list[UserError] = strawberry.field(description=_ERRORS)


@strawberry.type(description="Result of `setRaci`.")
class SetRaciPayload:
    task: Task | None = strawberry.field(default=None, description="The task, new RACI included.")
    user_errors: list[UserError] = strawberry.field(description=_ERRORS)


@strawberry.type(description="Result of `submitProgressReport`.")
class SubmitProgressReportPayload:
    report: ProgressReport | None = strawberry.field(default=None, description="The report.")
    user_errors: list[UserError] = strawberry.field(description=_ERRORS)


@strawberry.type(description="Result of `raiseProblemAsIssue`.")
class RaiseProblemAsIssuePayload:
    problem: ReportedProblem | None = strawberry.field(
        default=None,
        description="The problem, marked raised; `linkedIssue` fills in once the issue exists.",
    )
    user_errors: list[UserError] = strawberry.field(description=_ERRORS)


@strawberry.type(description="Result of `createRecurringTask`.")
class CreateRecurringTaskPayload:
    recurring_task: RecurringTask | None = strawberry.field(
        default=None, description="The series, with the instances created ahead of time."
    )
    user_errors: list[UserError] = strawberry.field(description=_ERRORS)


@strawberry.type
class Query:
    @strawberry.field(
        description="One task, if the caller may see its request.",
        metadata=sql.root_one(repo.task_source),
    )
    async def task(self, info: Info, id: strawberry.ID) -> Task | None:
        return await visible_task(info, id)

    @strawberry.field(
        description="Tasks of every request the caller may see (as `task` judges it), filtered"
        " and sorted, 20 per page by default. A cursor passed with another `sort` than the one"
        " it came from, and a `dueAfter` later than `dueBefore`, are refused (BAD_USER_INPUT)."
    )
    async def tasks(
        self,
        info: Info,
        filter: Annotated[
            TaskFilter | None, strawberry.argument(description="Which tasks; null: all.")
        ] = None,
        sort: Annotated[
            models.TaskSort, strawberry.argument(description="The order of the list.")
        ] = models.TaskSort.DUE_SOONEST,
        first: First = 20,
        after: After = None,
    ) -> Connection[Task]:
        """Read by Python only: the compiled path pages a root list newest first by one key
        column (``sql.Source``), and every sort here has two (the sort key and the id) or runs
        oldest first."""
        chosen = (filter or TaskFilter()).to_filter()
        page = page_of(info, first, after)
        after_key = _after_key(page, sort)
        context = info.context
        # the page and its count in one transaction, both planned for their values
        async with context.runtime.pool.acquire() as conn, plan_with_values(conn):
            rows = await repo.list_tasks(
                conn, context.principal, chosen, sort, after=after_key, limit=page.limit + 1
            )
            total = None
            if wants_total_count(info):  # a statement of its own: only if asked
                total = await repo.count_tasks(conn, context.principal, chosen)
        key = repo.TASK_ORDERS[sort].key
        return build_connection(
            rows, page, lambda t: sorted_key(sort, key(t)), Task.from_model, total
        )

    @strawberry.field(
        description="The RACI matrix of a request, if the caller may see it.",
        metadata=sql.root_one(raci_repo.matrix_source),
    )
    async def raci_matrix(self, info: Info, request_id: strawberry.ID) -> RaciMatrix | None:
        if not await may_see_request(info, request_id):
            return None
        return await matrix_of(info, request_id)


def _after_key(page: PageRequest, sort: models.TaskSort) -> tuple[Any, ...] | None:
    """The ``after`` cursor's key values under ``sort`` as SQL parameters (None: from the
    start); a cursor of another sort or list is refused."""
    values = after_in_sort(page, sort)
    if values is None:
        return None
    try:
        return repo.parse_after(sort, values)
    except ValueError:
        raise PublicError(NOT_OURS) from None


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Create a TODO task of a request (its lead department or PMO only)."
    )
    async def create_task(self, info: Info, input: CreateTaskInput) -> CreateTaskPayload:
        ctx = info.context
        action = service.create_task(ctx.runtime, ctx.principal, input.to_command())
        return await run_mutation(CreateTaskPayload, "task", action, Task.from_model)

    @strawberry.mutation(
        description="Change a task: plan fields by the lead department or PMO; status and"
        " progress also by its R and A. Starting before dependencies are DONE (or CANCELLED) is"
        " refused."
    )
    async def update_task(self, info: Info, input: UpdateTaskInput) -> UpdateTaskPayload:
        ctx = info.context
        action = service.update_task(ctx.runtime, ctx.principal, input.to_changes())
        return await run_mutation(UpdateTaskPayload, "task", action, Task.from_model)

    @strawberry.mutation(
        description="Replace a task's RACI in one step, with createTask's rules; every person"
        " and department named must be in the directory (PERSON_NOT_FOUND,"
        " DEPARTMENT_NOT_FOUND at `assignments.<n>.personId` / `.departmentId`)."
    )
    async def set_raci(self, info: Info, input: SetRaciInput) -> SetRaciPayload:
        ctx = info.context
        assignments = [a.to_model() for a in input.assignments]
        action = set_raci(ctx.runtime, ctx.principal, input.task_id, assignments)
        return await run_mutation(SetRaciPayload, "task", action, Task.from_model)

    @strawberry.mutation(
        description="Submit a department's progress report for one period of the request's"
        " reporting cadence; a period off the cadence is refused (PERIOD_NOT_IN_CADENCE)."
    )
    async def submit_progress_report(
        self, info: Info, input: SubmitProgressReportInput
    ) -> SubmitProgressReportPayload:
        ctx = info.context
        action = submit_progress_report(ctx.runtime, ctx.principal, input.to_command())
        return await run_mutation(
            SubmitProgressReportPayload, "report", action, ProgressReport.from_model
        )

    @strawberry.mutation(
        description="Raise a reported problem as an issue: the issues service opens it from the"
        " `tasks.problem.raised` event and the problem links to it when it answers."
    )
    async def raise_problem_as_issue(
        self, info: Info, input: RaiseProblemAsIssueInput
    ) -> RaiseProblemAsIssuePayload:
        ctx = info.context
        action = raise_problem_as_issue(
            ctx.runtime, ctx.principal, input.problem_id, input.severity, input.urgent
        )
        return await run_mutation(
            RaiseProblemAsIssuePayload, "problem", action, ReportedProblem.from_model
        )

    @strawberry.mutation(
        description="Create a recurring operation: one task per participating region ahead of"
        " time and a consolidation task depending on them."
    )
    async def create_recurring_task(
        self, info: Info, input: CreateRecurringTaskInput
    ) -> CreateRecurringTaskPayload:
        ctx = info.context
        action = create_recurring_task(ctx.runtime, ctx.principal, input.to_command())
        return await run_mutation(
            CreateRecurringTaskPayload, "recurring_task", action, RecurringTask.from_model
        )


def create_schema(settings: Settings) -> strawberry.federation.Schema:
    return build_schema(settings, Query, Mutation, types=[CollabRequest, Person])
