"""What a RACI matrix is made of: kinds of columns and of gaps. The matrix itself, its gaps
included, is SQL (:mod:`services.tasks.raci.repository`), read by both read paths."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ColumnKind(StrEnum):
    PERSON = "PERSON"
    DEPARTMENT = "DEPARTMENT"


class MatrixProblemCode(StrEnum):
    NO_ACCOUNTABLE = "NO_ACCOUNTABLE"
    MULTIPLE_ACCOUNTABLE = "MULTIPLE_ACCOUNTABLE"
    NO_RESPONSIBLE = "NO_RESPONSIBLE"
    DEPARTMENT_UNASSIGNED = "DEPARTMENT_UNASSIGNED"


@dataclass(frozen=True)
class MatrixProblem:
    code: MatrixProblemCode
    message: str
    task_id: str | None = None
    department_id: str | None = None
