"""GraphQL object types of the tasks subgraph and the DataLoaders behind their relations."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import strawberry
from strawberry.federation.schema_directives import Key
from strawberry.federation.types import FieldSet

from services.tasks import models
from services.tasks import repository as repo
from shared.graphql.context import Info
from shared.replicas import load_requests
from shared.runtime import ServiceRuntime

# Registering the domain enums lets GraphQL fields use them directly.
strawberry.enum(models.TaskStatus, description="Where a task is in its lifecycle.")
strawberry.enum(
    models.RaciRole,
    description="RACI role: Responsible, Accountable, Consulted, Informed.",
)

# The requests subgraph owns these entities; this subgraph only refers to them by key.
_REFERENCE_ONLY = [Key(fields=FieldSet("id"), resolvable=False)]


# --- loaders: one query per relation per request, whatever the page size ---------------------


async def load_tasks(runtime: ServiceRuntime, ids: Sequence[str]) -> list[models.Task | None]:
    async with runtime.pool.acquire() as conn:
        found = await repo.tasks_by_ids(conn, ids)
    return [found.get(i) for i in ids]


async def load_request_tasks(
    runtime: ServiceRuntime, request_ids: Sequence[str]
) -> list[list[models.Task]]:
    async with runtime.pool.acquire() as conn:
        found = await repo.tasks_by_request_ids(conn, request_ids)
    return [found.get(i, []) for i in request_ids]


async def load_raci(
    runtime: ServiceRuntime, task_ids: Sequence[str]
) -> list[list[models.RaciAssignment]]:
    async with runtime.pool.acquire() as conn:
        found = await repo.raci_by_task_ids(conn, task_ids)
    return [found.get(i, []) for i in task_ids]


async def may_see_request(info: Info, request_id: str) -> bool:
    """Visibility of a request and everything in it, judged on the local copy (DESIGN §5)."""
    principal = info.context.principal
    if principal.sees_everything:
        return True
    request = await info.context.loader(load_requests).load(request_id)
    return request is not None and principal.may_see(request.departments)


# --- entities owned by the requests subgraph ----------------------------------------------------


@strawberry.federation.type(keys=_REFERENCE_ONLY, description="A person (requests subgraph).")
class Person:
    id: strawberry.ID = strawberry.field(description="Opaque id; the `sub` of their token.")


@strawberry.federation.type(keys=_REFERENCE_ONLY, description="A department (requests subgraph).")
class Department:
    id: strawberry.ID = strawberry.field(description="Opaque id.")


@strawberry.type(description="One RACI assignment of a task: a role held by a person or team.")
class RaciAssignment:
    role: models.RaciRole = strawberry.field(description="R, A, C or I.")
    person: Person | None = strawberry.field(description="The person holding the role, if named.")
    department: Department | None = strawberry.field(
        description="The department holding the role, if named."
    )

    @classmethod
    def from_model(cls, a: models.RaciAssignment) -> RaciAssignment:
        return cls(
            role=a.role,
            person=Person(id=strawberry.ID(a.person_id)) if a.person_id else None,
            department=Department(id=strawberry.ID(a.department_id)) if a.department_id else None,
        )


@strawberry.federation.type(keys=["id"], description="A task of a collaboration request.")
class Task:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    title: str = strawberry.field(description="Short title.")
    description: str = strawberry.field(description="What is to be done, in detail.")
    status: models.TaskStatus = strawberry.field(description="Lifecycle status.")
    due_at: datetime | None = strawberry.field(description="When the task is due, if set.")
    created_at: datetime = strawberry.field(description="When the task was created.")
    updated_at: datetime = strawberry.field(description="When it last changed.")
    model: strawberry.Private[models.Task]

    @classmethod
    def from_model(cls, t: models.Task) -> Task:
        return cls(
            id=strawberry.ID(t.id),
            title=t.title,
            description=t.description,
            status=t.status,
            due_at=t.due_at,
            created_at=t.created_at,
            updated_at=t.updated_at,
            model=t,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Task | None:
        return await visible_task(info, id)

    @strawberry.field(description="Past its due time and neither DONE nor CANCELLED.")
    def is_overdue(self) -> bool:
        return self.model.is_overdue(datetime.now(UTC))

    @strawberry.field(description="Who is Responsible, Accountable, Consulted and Informed.")
    async def raci(self, info: Info) -> list[RaciAssignment]:
        assignments = await info.context.loader(load_raci).load(self.model.id)
        return [RaciAssignment.from_model(a) for a in assignments]

    @strawberry.field(description="The collaboration request the task belongs to.")
    def request(self) -> CollabRequest:
        return CollabRequest(id=strawberry.ID(self.model.request_id))


@strawberry.federation.type(
    keys=["id"], description="A collaboration request (requests subgraph), with its tasks."
)
class CollabRequest:
    id: strawberry.ID = strawberry.field(description="Opaque id.")

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> CollabRequest:
        # Visibility is checked per field: an invisible request simply has no tasks here.
        return cls(id=id)

    @strawberry.field(description="Tasks of the request in creation order; empty if not visible.")
    async def tasks(self, info: Info) -> list[Task]:
        if not await may_see_request(info, self.id):
            return []
        tasks = await info.context.loader(load_request_tasks).load(self.id)
        return [Task.from_model(t) for t in tasks]


async def visible_task(info: Info, task_id: str) -> Task | None:
    """The task, if it exists and the caller may see its request."""
    task = await info.context.loader(load_tasks).load(task_id)
    if task is None or not await may_see_request(info, task.request_id):
        return None
    return Task.from_model(task)
