"""Entities other subgraphs own, as the tasks subgraph extends them: ``CollabRequest`` with
its tasks, RACI matrix, reports and recurring operations; ``Person`` with assignments."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TypeVar

import strawberry

from services.tasks import models
from services.tasks import repository as repo
from services.tasks.raci.types import (
    PersonAssignment,
    RaciMatrix,
    matrix_of,
)
from services.tasks.recurring import repository as recurring_repo
from services.tasks.recurring.types import RecurringTask
from services.tasks.reports import repository as reports_repo
from services.tasks.reports.periods import deadline_of, period_of
from services.tasks.reports.timers import reporting_departments
from services.tasks.reports.types import (
    DepartmentReportingState,
    ProgressReport,
    ReportingStatus,
    load_period_reports,
    load_plans,
)
from services.tasks.types import Department, Task, may_see_request
from shared.child_lists import ChildList
from shared.graphql.child_pages import (
    After,
    First,
    child_connection,
    empty_connection,
    page_of,
)
from shared.graphql.compiled import sql
from shared.graphql.context import Info
from shared.graphql.pagination import Connection, PageRequest
from shared.replicas import load_requests


@strawberry.input(description="A reporting period: first and last day, inclusive.")
class PeriodInput:
    start: date = strawberry.field(description="First day.")
    end: date = strawberry.field(description="Last day.")


# Fields this subgraph adds to other services' entities are nullable: while the tasks service
# is down, the gateway still returns what the others answered (a request, a person) with null
# here and a DOWNSTREAM_SERVICE_ERROR naming the service.
TASKS_DOWN = (
    " Null, with an error naming the service, only while the tasks service is not answering."
)

R = TypeVar("R")
T = TypeVar("T")


def request_list(children: ChildList[R]) -> dict[str, sql.FieldSql]:
    """SQL of one of the request's lists, empty if the caller may not see the request."""
    return sql.nested_connection(
        children, visible=repo.request_visible("{row}.id"), args=repo.visibility_args
    )


async def visible_children(
    info: Info,
    request_id: str,
    children: ChildList[R],
    page: PageRequest,
    to_node: Callable[[R], T],
) -> Connection[T]:
    """A page of one of the request's lists; an empty one if the caller may not see it."""
    if not await may_see_request(info, request_id):
        return empty_connection(info, page)
    return await child_connection(info, children, request_id, page, to_node)


@sql.entity(repo.stub_entity)
@strawberry.federation.type(
    keys=["id"], description="A collaboration request (requests subgraph), with its tasks."
)
class CollabRequest:
    id: strawberry.ID = strawberry.field(description="Opaque id.")

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> CollabRequest:
        # Visibility is checked per field: an invisible request simply has no tasks here.
        return cls(id=id)

    @strawberry.field(
        description="Tasks of the request, oldest first (creation order), 20 per page by"
        " default; empty if the caller may not see the request." + TASKS_DOWN,
        metadata=request_list(repo.TASKS_OF_REQUESTS),
    )
    async def tasks(
        self, info: Info, first: First = 20, after: After = None
    ) -> Connection[Task] | None:
        page = page_of(info, first, after)
        return await visible_children(info, self.id, repo.TASKS_OF_REQUESTS, page, Task.from_model)

    @strawberry.field(
        description="The RACI matrix (template 2) and its gaps; null if not visible.",
        metadata=sql.to_one(
            "request_replicas",
            "{target}.id = {row}.id AND " + repo.request_visible("{target}.id"),
            args=repo.visibility_args,
        ),
    )
    async def raci_matrix(self, info: Info) -> RaciMatrix | None:
        if not await may_see_request(info, self.id):
            return None
        return await matrix_of(info, self.id)

    @strawberry.field(
        description="Progress reports (template 3), newest period first, then by department,"
        " 20 per page by default; empty if the caller may not see the request." + TASKS_DOWN,
        metadata=request_list(reports_repo.REPORTS_OF_REQUESTS),
    )
    async def progress_reports(
        self, info: Info, first: First = 20, after: After = None
    ) -> Connection[ProgressReport] | None:
        page = page_of(info, first, after)
        return await visible_children(
            info, self.id, reports_repo.REPORTS_OF_REQUESTS, page, ProgressReport.from_model
        )

    @strawberry.field(description="Which executing departments have reported for a period.")
    async def reporting_status(self, info: Info, period: PeriodInput) -> ReportingStatus | None:
        request = await info.context.loader(load_requests).load(self.id)
        if request is None or not await may_see_request(info, self.id):
            return None
        key = (str(self.id), period.start, period.end)
        mine = {
            r.department_id: r for r in await info.context.loader(load_period_reports).load(key)
        }
        plan = await info.context.loader(load_plans).load(self.id)
        deadline = None
        if plan is not None and period_of(plan.cadence, period.start) == (period.start, period.end):
            deadline = deadline_of(plan, (period.start, period.end))
        departments = reporting_departments(
            request.lead_department_id, request.participant_department_ids
        )
        return ReportingStatus(
            period_start=period.start,
            period_end=period.end,
            deadline=deadline,
            departments=[
                DepartmentReportingState(
                    department=Department(id=strawberry.ID(d)),
                    submitted=d in mine,
                    report=ProgressReport.from_model(mine[d]) if d in mine else None,
                )
                for d in departments
            ],
        )

    @strawberry.field(
        description="Recurring operations of the request, oldest first (creation order), 20"
        " per page by default; empty if the caller may not see the request." + TASKS_DOWN,
        metadata=request_list(recurring_repo.SERIES_OF_REQUESTS),
    )
    async def recurring_tasks(
        self, info: Info, first: First = 20, after: After = None
    ) -> Connection[RecurringTask] | None:
        page = page_of(info, first, after)
        return await visible_children(
            info, self.id, recurring_repo.SERIES_OF_REQUESTS, page, RecurringTask.from_model
        )


def _role_value(role: models.RaciRole | None) -> str | None:
    """``assignments``'s ``role`` as ASSIGNMENTS_OF_PEOPLE's ``$3`` (null: every role)."""
    return role.value if role else None


@sql.entity(repo.stub_entity)
@strawberry.federation.type(keys=["id"], description="A person (requests subgraph), with tasks.")
class Person:
    id: strawberry.ID = strawberry.field(description="Opaque id; the `sub` of their token.")

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Person:
        return cls(id=id)

    @strawberry.field(
        description="What the person is R, A, C or I for, across every request the caller may"
        " see; newest task first. An entry naming only a department counts for its head, who"
        " also gets its alerts." + TASKS_DOWN,
        metadata=sql.nested_connection(
            repo.ASSIGNMENTS_OF_PEOPLE,
            args=repo.visibility_args,
            filters=lambda arguments: (_role_value(arguments.get("role")),),
        ),
    )
    async def assignments(
        self,
        info: Info,
        role: models.RaciRole | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[PersonAssignment] | None:
        page = page_of(info, first, after)
        args = (*repo.visibility_args(info.context.principal), _role_value(role))
        return await child_connection(
            info, repo.ASSIGNMENTS_OF_PEOPLE, self.id, page, _person_assignment, args
        )


def _person_assignment(held: tuple[models.RaciRole, models.Task]) -> PersonAssignment:
    role, task = held
    return PersonAssignment(role=role, task=Task.from_model(task))
