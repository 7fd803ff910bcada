"""The RACI matrix of a request and the gaps in it, computed from plain data (no I/O)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from services.tasks.models import RaciAssignment, RaciRole, Task, TaskStatus


class ColumnKind(StrEnum):
    PERSON = "PERSON"
    DEPARTMENT = "DEPARTMENT"


class MatrixProblemCode(StrEnum):
    NO_ACCOUNTABLE = "NO_ACCOUNTABLE"
    MULTIPLE_ACCOUNTABLE = "MULTIPLE_ACCOUNTABLE"
    NO_RESPONSIBLE = "NO_RESPONSIBLE"
    DEPARTMENT_UNASSIGNED = "DEPARTMENT_UNASSIGNED"


@dataclass(frozen=True, order=True)
class Column:
    """A person column when the assignment names a person, else a department column."""

    kind: ColumnKind
    id: str

    @property
    def key(self) -> str:
        return f"{self.kind.lower()}:{self.id}"


@dataclass(frozen=True)
class Row:
    task: Task
    cells: tuple[tuple[Column, tuple[RaciRole, ...]], ...]
    """One entry per matrix column, in column order; no letters where the column has none."""


@dataclass(frozen=True)
class MatrixProblem:
    code: MatrixProblemCode
    message: str
    task_id: str | None = None
    department_id: str | None = None


@dataclass(frozen=True)
class Matrix:
    request_id: str
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    problems: tuple[MatrixProblem, ...]


_LETTER_ORDER = {RaciRole.R: 0, RaciRole.A: 1, RaciRole.C: 2, RaciRole.I: 3}


def _column(a: RaciAssignment) -> Column:
    if a.person_id is not None:
        return Column(ColumnKind.PERSON, a.person_id)
    assert a.department_id is not None  # the table's CHECK guarantees one of the two
    return Column(ColumnKind.DEPARTMENT, a.department_id)


def _task_problems(task: Task, raci: Sequence[RaciAssignment]) -> list[MatrixProblem]:
    accountable = sum(1 for a in raci if a.role is RaciRole.A)
    found: list[MatrixProblem] = []
    if accountable == 0:
        found.append(
            MatrixProblem(
                MatrixProblemCode.NO_ACCOUNTABLE,
                f"nobody is accountable (A) for '{task.title}'",
                task.id,
            )
        )
    elif accountable > 1:
        found.append(
            MatrixProblem(
                MatrixProblemCode.MULTIPLE_ACCOUNTABLE,
                f"'{task.title}' has {accountable} accountable (A) parties",
                task.id,
            )
        )
    if not any(a.role is RaciRole.R for a in raci):
        found.append(
            MatrixProblem(
                MatrixProblemCode.NO_RESPONSIBLE,
                f"nobody is responsible (R) for '{task.title}'",
                task.id,
            )
        )
    return found


def build_matrix(
    request_id: str,
    departments: Sequence[str],
    tasks: Sequence[Task],
    raci: Mapping[str, Sequence[RaciAssignment]],
    home_departments: Mapping[str, str],
) -> Matrix:
    """Rows for the request's tasks that are not cancelled; gaps as problems.

    A participating department "appears" when it holds a role itself or one of its people
    (by ``home_departments``) does; one that appears nowhere has nothing to do, which the
    handbook calls a no-man's-land ("三不管") risk.
    """
    live = [t for t in tasks if t.status is not TaskStatus.CANCELLED]
    columns = sorted({_column(a) for t in live for a in raci.get(t.id, [])})
    rows: list[Row] = []
    problems: list[MatrixProblem] = []
    present: set[str] = set()
    for task in live:
        letters: dict[Column, set[RaciRole]] = {}
        for a in raci.get(task.id, []):
            letters.setdefault(_column(a), set()).add(a.role)
            present.update(
                d for d in (a.department_id, home_departments.get(a.person_id or "")) if d
            )
        cells = tuple(
            (c, tuple(sorted(letters.get(c, ()), key=_LETTER_ORDER.__getitem__))) for c in columns
        )
        rows.append(Row(task, cells))
        problems.extend(_task_problems(task, raci.get(task.id, [])))
    for department in dict.fromkeys(departments):
        if department not in present:
            problems.append(
                MatrixProblem(
                    MatrixProblemCode.DEPARTMENT_UNASSIGNED,
                    "a participating department holds no role in any task",
                    None,
                    department,
                )
            )
    return Matrix(request_id, tuple(columns), tuple(rows), tuple(problems))
