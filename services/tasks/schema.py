"""The tasks subgraph: queries and mutations (types live in :mod:`services.tasks.types`)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from services.tasks import models, service
from services.tasks.types import CollabRequest, Task, visible_task
from shared.graphql.context import Info
from shared.graphql.errors import UserError, run_mutation
from shared.graphql.schema import build_schema
from shared.settings import Settings

# --- inputs ---------------------------------------------------------------------------------


@strawberry.input(description="One RACI assignment: a role for a person, a department or both.")
class RaciInput:
    role: models.RaciRole = strawberry.field(description="R, A, C or I.")
    person_id: strawberry.ID | None = strawberry.field(
        default=None, description="Person holding the role (required for A)."
    )
    department_id: strawberry.ID | None = strawberry.field(
        default=None, description="Department holding the role."
    )

    def to_model(self) -> models.RaciAssignment:
        return models.RaciAssignment(self.role, self.person_id, self.department_id)


@strawberry.input(description="A new task of a request; it starts as TODO.")
class CreateTaskInput:
    request_id: strawberry.ID = strawberry.field(description="The request the task belongs to.")
    title: str = strawberry.field(description="Short title (1-200 characters).")
    raci: list[RaciInput] = strawberry.field(
        description="RACI assignments: exactly one A (a person) and at least one R."
    )
    description: str = strawberry.field(default="", description="What is to be done.")
    due_at: datetime | None = strawberry.field(
        default=None, description="When it is due, with a UTC offset."
    )

    def to_command(self) -> models.NewTask:
        return models.NewTask(
            request_id=self.request_id,
            title=self.title,
            raci=tuple(r.to_model() for r in self.raci),
            description=self.description,
            due_at=self.due_at,
        )


# --- payloads -------------------------------------------------------------------------------


@strawberry.type(description="Result of `createTask`.")
class CreateTaskPayload:
    task: Task | None = strawberry.field(default=None, description="The new task.")
    user_errors: list[UserError] = strawberry.field(description="Why it was refused, if it was.")


# --- root types -----------------------------------------------------------------------------


@strawberry.type
class Query:
    @strawberry.field(description="One task, if the caller may see its request.")
    async def task(self, info: Info, id: strawberry.ID) -> Task | None:
        return await visible_task(info, id)


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Create a TODO task of a request (its lead department or PMO only)."
    )
    async def create_task(self, info: Info, input: CreateTaskInput) -> CreateTaskPayload:
        ctx = info.context
        action = service.create_task(ctx.runtime, ctx.principal, input.to_command())
        return await run_mutation(CreateTaskPayload, "task", action, Task.from_model)


def create_schema(settings: Settings) -> strawberry.federation.Schema:
    return build_schema(settings, Query, Mutation, types=[CollabRequest])
