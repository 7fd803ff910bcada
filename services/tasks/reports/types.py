"""GraphQL types of progress reports and reporting status, with their loaders."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from services.tasks import models
from services.tasks.reports import models as rm
from services.tasks.reports import repository as repo
from services.tasks.types import Department, Issue, Task, department_ref, load_tasks, stub
from shared.graphql.context import Info
from shared.graphql.loaders import many_per_key, one_per_key

if TYPE_CHECKING:
    from services.tasks.entities import CollabRequest, Person


load_period_reports = many_per_key(repo.reports_of_periods)


load_items = many_per_key(repo.items_by_report_ids)


load_problems = many_per_key(repo.problems_by_report_ids)


load_resources = many_per_key(repo.resources_by_report_ids)


load_plans = one_per_key(repo.plans_by_request_ids)


@strawberry.type(description="Plan versus actual for one task in a progress report.")
class ProgressReportItem:
    planned_progress: int = strawberry.field(description="Percent the plan expected by now.")
    actual_progress: int = strawberry.field(description="Percent actually done.")
    status: models.TaskStatus = strawberry.field(description="Status as reported.")
    delay_reason: str | None = strawberry.field(description="Why it is behind, if it is.")
    delayed: bool = strawberry.field(description="Behind plan or blocked.")
    task_id: strawberry.Private[str]

    @strawberry.field(description="The task reported on.")
    async def task(self, info: Info) -> Task | None:
        task = await info.context.loader(load_tasks).load(self.task_id)
        return Task.from_model(task) if task else None


@strawberry.type(description="A problem raised in a progress report.")
class ReportedProblem:
    id: strawberry.ID = strawberry.field(description="Opaque id; pass to `raiseProblemAsIssue`.")
    description: str = strawberry.field(description="What the problem is.")
    impact: str = strawberry.field(description="What it affects.")
    attempted_measures: str = strawberry.field(description="What was already tried.")
    raised_at: datetime | None = strawberry.field(description="When it was raised as an issue.")
    linked_issue: Issue | None = strawberry.field(
        description="The issue opened for it, once the issues service has answered."
    )
    task_id: strawberry.Private[str | None]

    @strawberry.field(description="The task the problem concerns, if one was named.")
    async def task(self, info: Info) -> Task | None:
        if self.task_id is None:
            return None
        task = await info.context.loader(load_tasks).load(self.task_id)
        return Task.from_model(task) if task else None

    @classmethod
    def from_model(cls, p: rm.ReportProblem) -> ReportedProblem:
        return cls(
            id=strawberry.ID(p.id),
            description=p.description,
            impact=p.impact,
            attempted_measures=p.attempted_measures,
            raised_at=p.raised_at,
            linked_issue=Issue(id=strawberry.ID(p.issue_id)) if p.issue_id else None,
            task_id=p.task_id,
        )


@strawberry.type(description="A resource the department needs coordinated.")
class ReportResourceRequest:
    description: str = strawberry.field(description="What is needed.")
    provider_department: Department | None = strawberry.field(
        description="The department asked to provide it, if named."
    )


@strawberry.type(description="Handbook template 3: a department's progress report for a period.")
class ProgressReport:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    department: Department = strawberry.field(
        description="The reporting department.", metadata=stub("department_id")
    )
    period_start: date = strawberry.field(description="First day of the period.")
    period_end: date = strawberry.field(description="Last day of the period.")
    submitted_at: datetime = strawberry.field(description="When it was submitted.")
    submitted_by: Annotated[Person, strawberry.lazy("services.tasks.entities")] = strawberry.field(
        description="Who submitted it.", metadata=stub("submitted_by")
    )
    request_id: strawberry.Private[str]

    @classmethod
    def from_model(cls, r: rm.ProgressReport) -> ProgressReport:
        from services.tasks.entities import Person

        return cls(
            id=strawberry.ID(r.id),
            department=Department(id=strawberry.ID(r.department_id)),
            period_start=r.period_start,
            period_end=r.period_end,
            submitted_at=r.submitted_at,
            submitted_by=Person(id=strawberry.ID(r.submitted_by)),
            request_id=r.request_id,
        )

    @strawberry.field(description="The request reported on.", metadata=stub("request_id"))
    def request(self) -> Annotated[CollabRequest, strawberry.lazy("services.tasks.entities")]:
        from services.tasks.entities import CollabRequest

        return CollabRequest(id=strawberry.ID(self.request_id))

    @strawberry.field(description="Plan versus actual per task.")
    async def items(self, info: Info) -> list[ProgressReportItem]:
        items = await info.context.loader(load_items).load(str(self.id))
        return [
            ProgressReportItem(
                planned_progress=i.planned_progress,
                actual_progress=i.actual_progress,
                status=i.status,
                delay_reason=i.delay_reason,
                delayed=i.is_delayed,
                task_id=i.task_id,
            )
            for i in items
        ]

    @strawberry.field(description="Problems: description, impact, measures tried.")
    async def problems(self, info: Info) -> list[ReportedProblem]:
        problems = await info.context.loader(load_problems).load(str(self.id))
        return [ReportedProblem.from_model(p) for p in problems]

    @strawberry.field(description="Resources the department asks to have coordinated.")
    async def resource_requests(self, info: Info) -> list[ReportResourceRequest]:
        resources = await info.context.loader(load_resources).load(str(self.id))
        return [
            ReportResourceRequest(
                description=r.description,
                provider_department=department_ref(r.provider_department_id),
            )
            for r in resources
        ]


@strawberry.type(description="Whether one participating department has reported.")
class DepartmentReportingState:
    department: Department = strawberry.field(description="The department.")
    submitted: bool = strawberry.field(description="It has reported for the period.")
    report: ProgressReport | None = strawberry.field(description="Its report, if any.")


@strawberry.type(description="Who has and has not reported for one period.")
class ReportingStatus:
    period_start: date = strawberry.field(description="First day of the period.")
    period_end: date = strawberry.field(description="Last day of the period.")
    deadline: datetime | None = strawberry.field(
        description="Deadline from the communication plan, when the period is one of its periods."
    )
    departments: list[DepartmentReportingState] = strawberry.field(
        description="Each executing (participating, not lead) department."
    )
