"""GraphQL types of tasks and the DataLoaders behind their relations.

The request-level views (``CollabRequest`` and ``Person`` extensions) are in
:mod:`services.tasks.entities`, which gathers the subpackages' types.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.federation.schema_directives import Key
from strawberry.federation.types import FieldSet

from services.tasks import models
from services.tasks import repository as repo
from shared.graphql.child_pages import After, First, child_connection, page_of
from shared.graphql.compiled import sql
from shared.graphql.context import Info
from shared.graphql.enums import described_enum
from shared.graphql.loaders import many_per_key, one_per_key
from shared.graphql.pagination import Connection
from shared.replicas import load_requests

if TYPE_CHECKING:
    from services.tasks.entities import CollabRequest, Person

# Registering the domain enums lets GraphQL fields use them directly.
strawberry.enum(models.TaskStatus, description="Where a task is in its lifecycle.")
strawberry.enum(
    models.RaciRole,
    description="RACI role: Responsible, Accountable, Consulted, Informed.",
)
strawberry.enum(
    models.TaskSource,
    description="Where a task came from: the plan, a meeting's action item, a recurring series.",
)
described_enum(
    models.TaskSort,
    "Orders of the `tasks` list; each breaks ties by id, so pages never skip or repeat a task.",
    {
        "DUE_SOONEST": "Soonest due first, tasks without a due time last.",
        "UPDATED_NEWEST": "Most recently changed first.",
        "CREATED_OLDEST": "Oldest first (creation order).",
    },
)

# The requests subgraph owns these entities; this subgraph only refers to them by key.
REFERENCE_ONLY = [Key(fields=FieldSet("id"), resolvable=False)]


# --- loaders: one query per relation per request, whatever the page size ---------------------


load_tasks = one_per_key(repo.tasks_by_ids)


load_dependencies = many_per_key(repo.dependencies_by_task_ids)


load_raci = many_per_key(repo.raci_by_task_ids)


async def may_see_request(info: Info, request_id: str) -> bool:
    """Visibility of a request and everything in it, judged on the local copy (DESIGN §5)."""
    principal = info.context.principal
    if principal.sees_everything:
        return True
    request = await info.context.loader(load_requests).load(request_id)
    return request is not None and principal.may_see(request.departments)


# --- entities owned by other subgraphs ---------------------------------------------------------


@strawberry.federation.type(keys=REFERENCE_ONLY, description="A department (requests subgraph).")
class Department:
    id: strawberry.ID = strawberry.field(description="Opaque id.")


@strawberry.federation.type(keys=REFERENCE_ONLY, description="A region (requests subgraph).")
class Region:
    id: strawberry.ID = strawberry.field(description="Opaque id.")


@strawberry.federation.type(keys=REFERENCE_ONLY, description="An issue (issues subgraph).")
class Issue:
    id: strawberry.ID = strawberry.field(description="Opaque id.")


def department_ref(department_id: str | None) -> Department | None:
    return Department(id=strawberry.ID(department_id)) if department_id else None


def stub(column: str) -> dict[str, sql.FieldSql]:
    """SQL of a field holding another subgraph's entity by the id in ``column`` of the row
    (null where the column is)."""
    return sql.to_one(f"(SELECT {{row}}.{column} AS id)", "{target}.id IS NOT NULL")


@strawberry.type(description="One RACI assignment of a task: a role held by a person or team.")
class RaciAssignment:
    role: models.RaciRole = strawberry.field(description="R, A, C or I.")
    person: Annotated[Person, strawberry.lazy("services.tasks.entities")] | None = strawberry.field(
        description="The person holding the role, if named.", metadata=stub("person_id")
    )
    department: Department | None = strawberry.field(
        description="The department holding the role, if named.", metadata=stub("department_id")
    )

    @classmethod
    def from_model(cls, a: models.RaciAssignment) -> RaciAssignment:
        from services.tasks.entities import Person

        return cls(
            role=a.role,
            person=Person(id=strawberry.ID(a.person_id)) if a.person_id else None,
            department=department_ref(a.department_id),
        )


@sql.entity(repo.task_entity)
@strawberry.federation.type(keys=["id"], description="A task of a collaboration request.")
class Task:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    title: str = strawberry.field(description="Short title.")
    description: str = strawberry.field(description="What is to be done, in detail.")
    status: models.TaskStatus = strawberry.field(description="Lifecycle status.")
    phase: str | None = strawberry.field(description="Request phase the task belongs to, if set.")
    is_milestone: bool = strawberry.field(description="A milestone: a checkpoint of the plan.")
    progress: int = strawberry.field(description="Percent complete, 0 to 100.")
    source: models.TaskSource = strawberry.field(description="What created the task.")
    planned_start: datetime | None = strawberry.field(description="When work is planned to start.")
    due_at: datetime | None = strawberry.field(description="When the task is due, if set.")
    started_at: datetime | None = strawberry.field(description="When work actually started.")
    completed_at: datetime | None = strawberry.field(description="When it was actually done.")
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
            phase=t.phase,
            is_milestone=t.is_milestone,
            progress=t.progress,
            source=t.source,
            planned_start=t.planned_start,
            due_at=t.due_at,
            started_at=t.started_at,
            completed_at=t.completed_at,
            created_at=t.created_at,
            updated_at=t.updated_at,
            model=t,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Task | None:
        return await visible_task(info, id)

    @strawberry.field(
        description="Past its due time and neither DONE nor CANCELLED.",
        metadata=sql.column(
            "({row}.due_at IS NOT NULL AND {row}.due_at < now()"
            " AND {row}.status NOT IN ('DONE', 'CANCELLED'))"
        ),
    )
    def is_overdue(self) -> bool:
        return self.model.is_overdue(datetime.now(UTC))

    @strawberry.field(
        description="Who is Responsible, Accountable, Consulted and Informed.",
        metadata=sql.to_many(
            "raci_assignments", "{target}.task_id = {row}.id", "{target}.position"
        ),
    )
    async def raci(self, info: Info) -> list[RaciAssignment]:
        assignments = await info.context.loader(load_raci).load(self.model.id)
        return [RaciAssignment.from_model(a) for a in assignments]

    @strawberry.field(
        description="The task this one is part of, if any.",
        metadata=sql.to_one("tasks", "{target}.id = {row}.parent_id"),
    )
    async def parent(self, info: Info) -> Task | None:
        if self.model.parent_id is None:
            return None
        parent = await info.context.loader(load_tasks).load(self.model.parent_id)
        return Task.from_model(parent) if parent else None

    @strawberry.field(
        description="Subtasks, oldest first (creation order), 20 per page by default.",
        metadata=sql.nested_connection(repo.CHILDREN_OF_TASKS),
    )
    async def children(
        self, info: Info, first: First = 20, after: After = None
    ) -> Connection[Task]:
        page = page_of(info, first, after)
        return await child_connection(
            info, repo.CHILDREN_OF_TASKS, self.model.id, page, Task.from_model
        )

    @strawberry.field(
        description="Finish-to-start: tasks that must be DONE before this starts; a CANCELLED"
        " one no longer holds it up.",
        metadata=sql.to_many(
            "tasks",
            "{target}.id IN (SELECT d.depends_on_id FROM task_dependencies d"
            " WHERE d.task_id = {row}.id)",
            "{target}.id",
        ),
    )
    async def depends_on(self, info: Info) -> list[Task]:
        ids = await info.context.loader(load_dependencies).load(self.model.id)
        found = await info.context.loader(load_tasks).load_many(ids)
        return [Task.from_model(t) for t in found if t is not None]

    @strawberry.field(
        description="The collaboration request the task belongs to.", metadata=stub("request_id")
    )
    def request(self) -> Annotated[CollabRequest, strawberry.lazy("services.tasks.entities")]:
        from services.tasks.entities import CollabRequest

        return CollabRequest(id=strawberry.ID(self.model.request_id))


async def visible_task(info: Info, task_id: str) -> Task | None:
    """The task, if it exists and the caller may see its request."""
    task = await info.context.loader(load_tasks).load(task_id)
    if task is None or not await may_see_request(info, task.request_id):
        return None
    return Task.from_model(task)
