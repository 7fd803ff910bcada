"""GraphQL types of the RACI matrix and of a person's assignments, with their loaders."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

import strawberry

from services.tasks import models
from services.tasks import repository as repo
from services.tasks.raci.matrix import (
    ColumnKind,
    Matrix,
    MatrixProblem,
    MatrixProblemCode,
    Row,
    build_matrix,
)
from services.tasks.types import (
    Department,
    Task,
    department_ref,
    load_raci,
    load_request_tasks,
)
from shared.graphql.child_pages import After, First, in_memory_page, page_of
from shared.graphql.context import Info
from shared.graphql.pagination import Connection, build_connection
from shared.replicas import load_requests, person_departments
from shared.runtime import ServiceRuntime

if TYPE_CHECKING:
    from services.tasks.entities import CollabRequest, Person

strawberry.enum(ColumnKind, description="Whether a matrix column is a person or a department.")
strawberry.enum(
    MatrixProblemCode,
    description="A gap in a RACI matrix: no A, several As, no R, or a department left out.",
)


async def load_home_departments(
    runtime: ServiceRuntime, person_ids: Sequence[str]
) -> list[str | None]:
    found = await person_departments(runtime.pool, person_ids)
    return [found.get(p) for p in person_ids]


async def load_person_assignments(
    runtime: ServiceRuntime, person_ids: Sequence[str]
) -> list[list[tuple[models.RaciRole, models.Task]]]:
    async with runtime.pool.acquire() as conn:
        rows = await repo.tasks_by_person(conn, person_ids)
    found: dict[str, list[tuple[models.RaciRole, models.Task]]] = {}
    for row in rows:
        columns = {k: v for k, v in dict(row).items() if k not in ("assignee", "assigned_role")}
        task = repo.task_from_row(columns)
        found.setdefault(row["assignee"], []).append((models.RaciRole(row["assigned_role"]), task))
    return [found.get(p, []) for p in person_ids]


async def matrix_of(info: Info, request_id: str) -> Matrix | None:
    request = await info.context.loader(load_requests).load(request_id)
    if request is None:
        return None
    tasks = await info.context.loader(load_request_tasks).load(request_id)
    raci_lists = await info.context.loader(load_raci).load_many([t.id for t in tasks])
    raci = {t.id: r for t, r in zip(tasks, raci_lists, strict=True)}
    people = sorted({a.person_id for r in raci_lists for a in r if a.person_id})
    homes = await info.context.loader(load_home_departments).load_many(people)
    home_departments = {p: d for p, d in zip(people, homes, strict=True) if d}
    return build_matrix(request_id, request.departments, tasks, raci, home_departments)


@strawberry.type(description="A column of the RACI matrix: one person or one department.")
class RaciColumn:
    key: str = strawberry.field(description="Stable key used by the cells, e.g. `person:li`.")
    kind: ColumnKind = strawberry.field(description="PERSON or DEPARTMENT.")
    person: Annotated[Person, strawberry.lazy("services.tasks.entities")] | None = strawberry.field(
        description="The person, for a PERSON column."
    )
    department: Department | None = strawberry.field(
        description="The department, for a DEPARTMENT column."
    )


@strawberry.type(description="The letters one task gives one column.")
class RaciCell:
    column: str = strawberry.field(description="Key of the column (see `RaciColumn.key`).")
    letters: list[models.RaciRole] = strawberry.field(
        description="Roles held, in R, A, C, I order; empty where none."
    )


@strawberry.type(description="One task's line of the RACI matrix.")
class RaciRow:
    task: Task = strawberry.field(description="The task.")
    cells: list[RaciCell] = strawberry.field(description="One cell per column, in column order.")


@strawberry.type(description="A gap in the matrix that someone should fix.")
class RaciMatrixProblem:
    code: MatrixProblemCode = strawberry.field(description="What kind of gap.")
    message: str = strawberry.field(description="Human-readable explanation.")
    task: Task | None = strawberry.field(description="The task concerned, if any.")
    department: Department | None = strawberry.field(
        description="The participating department that holds no role, for DEPARTMENT_UNASSIGNED."
    )


def _row(row: Row) -> RaciRow:
    return RaciRow(
        task=Task.from_model(row.task),
        cells=[RaciCell(column=c.key, letters=list(ls)) for c, ls in row.cells],
    )


def _row_key(row: Row) -> list[object]:
    return [row.task.id]


def _problem_key(problem: MatrixProblem) -> list[object]:
    """Gaps of tasks first, in task order; then departments left out, by id."""
    if problem.task_id is not None:
        return [0, problem.task_id, problem.code.value]
    return [1, problem.department_id or "", problem.code.value]


@strawberry.type(description="Handbook template 2: who is R, A, C and I for each task.")
class RaciMatrix:
    request: Annotated[CollabRequest, strawberry.lazy("services.tasks.entities")] = (
        strawberry.field(description="The request.")
    )
    columns: list[RaciColumn] = strawberry.field(
        description="Every department and person holding a role in a task that is not"
        " cancelled (departments first, each kind by id): at most the departments and people"
        " of the directory."
    )
    matrix: strawberry.Private[Matrix]

    @classmethod
    def from_matrix(cls, matrix: Matrix) -> RaciMatrix:
        from services.tasks.entities import CollabRequest, Person

        return cls(
            request=CollabRequest(id=strawberry.ID(matrix.request_id)),
            columns=[
                RaciColumn(
                    key=c.key,
                    kind=c.kind,
                    person=Person(id=strawberry.ID(c.id)) if c.kind is ColumnKind.PERSON else None,
                    department=department_ref(c.id) if c.kind is ColumnKind.DEPARTMENT else None,
                )
                for c in matrix.columns
            ],
            matrix=matrix,
        )

    @strawberry.field(
        description="One row per task that is not cancelled, oldest task first (creation"
        " order), 20 per page by default."
    )
    def rows(self, info: Info, first: First = 20, after: After = None) -> Connection[RaciRow]:
        page = page_of(info, first, after)
        chosen = in_memory_page(self.matrix.rows, page, _row_key)
        return build_connection(chosen, page, _row_key, _row, len(self.matrix.rows))

    @strawberry.field(
        description="Gaps found in the matrix: those of tasks first, in task order, then the"
        " participating departments left out, by id; 20 per page by default."
    )
    def problems(
        self, info: Info, first: First = 20, after: After = None
    ) -> Connection[RaciMatrixProblem]:
        page = page_of(info, first, after)
        ordered = sorted(self.matrix.problems, key=_problem_key)
        chosen = in_memory_page(ordered, page, _problem_key)
        tasks = {row.task.id: row.task for row in self.matrix.rows}

        def to_node(p: MatrixProblem) -> RaciMatrixProblem:
            task = tasks.get(p.task_id) if p.task_id else None
            return RaciMatrixProblem(
                code=p.code,
                message=p.message,
                task=Task.from_model(task) if task else None,
                department=department_ref(p.department_id),
            )

        return build_connection(chosen, page, _problem_key, to_node, len(ordered))


@strawberry.type(description="A role a person holds on a task.")
class PersonAssignment:
    role: models.RaciRole = strawberry.field(description="R, A, C or I.")
    task: Task = strawberry.field(description="The task.")
