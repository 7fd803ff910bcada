"""GraphQL types of the RACI matrix and of a person's assignments, with their loaders."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

from services.tasks import models
from services.tasks.raci import repository as raci_repo
from services.tasks.raci.matrix import ColumnKind, MatrixProblem, MatrixProblemCode
from services.tasks.types import Department, Task, department_ref, load_tasks, stub
from shared.graphql.child_pages import After, First, child_connection, page_of
from shared.graphql.compiled import sql
from shared.graphql.context import Info
from shared.graphql.loaders import many_per_key
from shared.graphql.pagination import Connection
from shared.replicas import load_requests

if TYPE_CHECKING:
    from services.tasks.entities import CollabRequest, Person

strawberry.enum(ColumnKind, description="Whether a matrix column is a person or a department.")
strawberry.enum(
    MatrixProblemCode,
    description="A gap in a RACI matrix: no A, several As, no R, or a department left out.",
)


load_columns = many_per_key(raci_repo.columns_by_request_ids)


load_cells = many_per_key(raci_repo.cells_by_task_ids)


async def matrix_of(info: Info, request_id: str) -> RaciMatrix | None:
    """The request's matrix: one for each request of the local copy."""
    from services.tasks.entities import CollabRequest

    if await info.context.loader(load_requests).load(request_id) is None:
        return None
    return RaciMatrix(request=CollabRequest(id=strawberry.ID(request_id)), request_id=request_id)


@strawberry.type(description="A column of the RACI matrix: one person or one department.")
class RaciColumn:
    key: str = strawberry.field(description="Stable key used by the cells, e.g. `person:li`.")
    kind: ColumnKind = strawberry.field(description="PERSON or DEPARTMENT.")
    person: Annotated[Person, strawberry.lazy("services.tasks.entities")] | None = strawberry.field(
        description="The person, for a PERSON column.", metadata=stub("person_id")
    )
    department: Department | None = strawberry.field(
        description="The department, for a DEPARTMENT column.", metadata=stub("department_id")
    )

    @classmethod
    def from_model(cls, c: raci_repo.MatrixColumn) -> RaciColumn:
        from services.tasks.entities import Person

        return cls(
            key=c.key,
            kind=c.kind,
            person=Person(id=strawberry.ID(c.person_id)) if c.person_id else None,
            department=department_ref(c.department_id),
        )


@strawberry.type(description="The letters one task gives one column.")
class RaciCell:
    column: str = strawberry.field(
        description="Key of the column (see `RaciColumn.key`).",
        metadata=sql.column("{row}.column_key"),
    )
    letters: list[models.RaciRole] = strawberry.field(
        description="Roles held, in R, A, C, I order; empty where none."
    )


@strawberry.type(description="One task's line of the RACI matrix.")
class RaciRow:
    task: Task = strawberry.field(
        description="The task.", metadata=sql.to_one("tasks", "{target}.id = {row}.id")
    )

    @strawberry.field(
        description="One cell per column, in column order.",
        metadata=sql.to_many(
            raci_repo.cells_of("{row}.request_id", "{row}.id"), "TRUE", "{target}.position"
        ),
    )
    async def cells(self, info: Info) -> list[RaciCell]:
        cells = await info.context.loader(load_cells).load(self.task.model.id)
        return [RaciCell(column=c.column_key, letters=list(c.letters)) for c in cells]


async def _problem_task(root: RaciMatrixProblem, info: Info) -> Task | None:
    if root.task_id is None:
        return None
    task = await info.context.loader(load_tasks).load(root.task_id)
    return Task.from_model(task) if task else None


@strawberry.type(description="A gap in the matrix that someone should fix.")
class RaciMatrixProblem:
    code: MatrixProblemCode = strawberry.field(description="What kind of gap.")
    message: str = strawberry.field(description="Human-readable explanation.")
    task: Task | None = strawberry.field(
        resolver=_problem_task,
        description="The task concerned, if any.",
        metadata=sql.to_one("tasks", "{target}.id = {row}.task_id"),
    )
    department: Department | None = strawberry.field(
        description="The participating department that holds no role, for DEPARTMENT_UNASSIGNED.",
        metadata=stub("department_id"),
    )
    task_id: strawberry.Private[str | None]

    @classmethod
    def from_model(cls, p: MatrixProblem) -> RaciMatrixProblem:
        return cls(
            code=p.code,
            message=p.message,
            department=department_ref(p.department_id),
            task_id=p.task_id,
        )


def _row(task: models.Task) -> RaciRow:
    return RaciRow(task=Task.from_model(task))


@strawberry.type(description="Handbook template 2: who is R, A, C and I for each task.")
class RaciMatrix:
    request: Annotated[CollabRequest, strawberry.lazy("services.tasks.entities")] = (
        strawberry.field(description="The request.", metadata=stub("id"))
    )
    request_id: strawberry.Private[str]

    @strawberry.field(
        description="Every department and person holding a role in a task that is not"
        " cancelled (departments first, each kind by id): at most the departments and people"
        " of the directory.",
        metadata=sql.to_many(raci_repo.columns_of("{row}.id"), "TRUE", "{target}.position"),
    )
    async def columns(self, info: Info) -> list[RaciColumn]:
        columns = await info.context.loader(load_columns).load(self.request_id)
        return [RaciColumn.from_model(c) for c in columns]

    @strawberry.field(
        description="One row per task that is not cancelled, oldest task first (creation"
        " order), 20 per page by default.",
        metadata=sql.nested_connection(raci_repo.ROWS_OF_MATRICES),
    )
    async def rows(self, info: Info, first: First = 20, after: After = None) -> Connection[RaciRow]:
        page = page_of(info, first, after)
        return await child_connection(info, raci_repo.ROWS_OF_MATRICES, self.request_id, page, _row)

    @strawberry.field(
        description="Gaps found in the matrix: those of tasks first, in task order, then the"
        " participating departments left out, by id; 20 per page by default.",
        metadata=sql.nested_connection(raci_repo.PROBLEMS_OF_MATRICES),
    )
    async def problems(
        self, info: Info, first: First = 20, after: After = None
    ) -> Connection[RaciMatrixProblem]:
        page = page_of(info, first, after)
        return await child_connection(
            info,
            raci_repo.PROBLEMS_OF_MATRICES,
            self.request_id,
            page,
            RaciMatrixProblem.from_model,
        )


@strawberry.type(description="A role a person holds on a task.")
class PersonAssignment:
    role: models.RaciRole = strawberry.field(description="R, A, C or I.")
    task: Task = strawberry.field(
        description="The task.", metadata=sql.to_one("tasks", "{target}.id = {row}.id")
    )
