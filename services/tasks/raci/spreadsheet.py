"""The RACI matrix (handbook template 2) as an .xlsx workbook: its layout and the download
route.

``GET /files/requests/{id}/raci.xlsx`` answers what the ``raciMatrix`` field answers, to whom
it answers it (404 where the field is null): a sheet with a task per row (its id, its title)
and a column per department or person holding a role, the letters in the cells, then a sheet
of the matrix's gaps. ``POST`` to the same path reads that layout back
(:mod:`services.tasks.raci.sheet_import`). A party's column heading is its name followed by
its column key in brackets (``Marketing [department:mkt]``) so that the upload finds the
same party whatever its name became; a heading without brackets is looked up by name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from services.tasks import repository as repo
from services.tasks.models import RaciRole, Task, TaskStatus
from services.tasks.raci import repository as raci_repo
from services.tasks.raci.matrix import MatrixProblemCode
from shared.auth import Principal
from shared.db import Connection
from shared.http_routes import caller, runtime_of
from shared.replicas import RequestReplica, get_request
from shared.spreadsheets import (
    Language,
    Sheet,
    Value,
    language,
    xlsx_response,
)

ROLE_ORDER = tuple(RaciRole)
"""R, A, C, I: the order letters are written in a cell."""

TEXT: dict[Language, dict[str, str]] = {
    "zh": {
        "matrix": "RACI责任矩阵",
        "problems": "问题",
        "task_id": "任务编号",
        "task": "任务",
        "code": "类型",
        "department": "部门",
        "message": "说明",
        "file": "RACI责任矩阵-{code}.xlsx",
    },
    "en": {
        "matrix": "RACI matrix",
        "problems": "Problems",
        "task_id": "Task ID",
        "task": "Task",
        "code": "Code",
        "department": "Department",
        "message": "Message",
        "file": "RACI-matrix-{code}.xlsx",
    },
}

PROBLEM_TEXT_ZH = {
    MatrixProblemCode.NO_ACCOUNTABLE: "没有审批方(A)",
    MatrixProblemCode.MULTIPLE_ACCOUNTABLE: "审批方(A)不止一个",
    MatrixProblemCode.NO_RESPONSIBLE: "没有负责方(R)",
    MatrixProblemCode.DEPARTMENT_UNASSIGNED: "参与部门在任何任务中都没有角色(“三不管”风险)",
}
"""The gaps in Chinese; the service's own messages are English."""

_KEY = re.compile(r"\[(person|department):([^\]\s]+)\]\s*$")
_SEPARATORS = re.compile(r"[\s,，/、;；]+")


@dataclass(frozen=True)
class Party:
    """A column of the matrix: a department or a person, by its column key."""

    key: str
    name: str

    @property
    def label(self) -> str:
        return f"{self.name} [{self.key}]"


def heading_key(heading: str) -> str | None:
    """The column key a heading ends with (``Li [person:li]`` → ``person:li``), if any."""
    found = _KEY.search(heading)
    return f"{found.group(1)}:{found.group(2)}" if found else None


def cell_text(letters: Iterable[RaciRole]) -> str:
    """The letters of a cell in R, A, C, I order (``R, A``); empty where none."""
    held = set(letters)
    return ", ".join(r.value for r in ROLE_ORDER if r in held)


def cell_letters(value: object) -> tuple[set[RaciRole], list[str]]:
    """The letters a cell holds, and what in it is not a letter of R, A, C, I."""
    if value is None:
        return set(), []
    letters: set[RaciRole] = set()
    wrong: list[str] = []
    for token in _SEPARATORS.split(str(value).strip().upper()):
        if token and all(ch in RaciRole.__members__ for ch in token):
            letters |= {RaciRole(ch) for ch in token}
        elif token:
            wrong.append(token)
    return letters, wrong


async def party_names(conn: Connection, keys: Sequence[str]) -> dict[str, str]:
    """Names of the departments and people named by column keys, from the directory copy."""
    rows = await conn.fetch(
        """SELECT 'department:' || id AS key, name FROM department_replicas
            WHERE 'department:' || id = ANY($1)
           UNION ALL
           SELECT 'person:' || id, name FROM person_replicas WHERE 'person:' || id = ANY($1)""",
        list(keys),
    )
    return {r["key"]: r["name"] for r in rows}


async def matrix_tasks(conn: Connection, request_id: str) -> list[Task]:
    """The matrix's rows: the request's tasks that are not cancelled, in creation order."""
    tasks = (await repo.tasks_by_request_ids(conn, [request_id])).get(request_id, [])
    return [t for t in tasks if t.status is not TaskStatus.CANCELLED]


async def visible_matrix(conn: Connection, principal: Principal, request_id: str) -> RequestReplica:
    """The request whose matrix ``raciMatrix`` would show the caller (its own predicate,
    :func:`raci_repo.matrix_source`), else a 404 as the field's null."""
    source = raci_repo.matrix_source(principal, {"requestId": request_id})
    sql = f"SELECT {source.alias}.id FROM {source.table} {source.alias} WHERE {source.where}"
    found = await conn.fetchval(sql, *source.params)
    replica = await get_request(conn, request_id) if found else None
    if replica is None:
        raise HTTPException(404, "no such request")
    return replica


# --- the download --------------------------------------------------------------------------------


async def matrix_sheets(conn: Connection, request_id: str, lang: Language) -> list[Sheet]:
    """Template 2 of the request: the matrix, then its problems."""
    text = TEXT[lang]
    columns = (await raci_repo.columns_by_request_ids(conn, [request_id])).get(request_id, [])
    tasks = await matrix_tasks(conn, request_id)
    cells = await raci_repo.cells_by_task_ids(conn, [t.id for t in tasks])
    names = await party_names(conn, [c.key for c in columns])
    parties = [Party(c.key, names.get(c.key, c.key.split(":", 1)[1])) for c in columns]
    rows: list[list[Value]] = []
    for task in tasks:
        letters = {c.column_key: c.letters for c in cells.get(task.id, [])}
        rows.append([task.id, task.title, *(cell_text(letters.get(p.key, ())) for p in parties)])
    header = [text["task_id"], text["task"], *(p.label for p in parties)]
    titles = {t.id: t.title for t in tasks}
    problems = await _problem_rows(conn, request_id, titles, lang)
    problem_header = [text["code"], text["task"], text["department"], text["message"]]
    return [Sheet(text["matrix"], header, rows), Sheet(text["problems"], problem_header, problems)]


async def _problem_rows(
    conn: Connection, request_id: str, titles: dict[str, str], lang: Language
) -> list[list[Value]]:
    rows = await conn.fetch(
        f"SELECT * FROM {raci_repo.problems_of('$1')} p ORDER BY problem_group, subject, code",
        request_id,
    )
    departments = await party_names(
        conn, [f"department:{r['department_id']}" for r in rows if r["department_id"]]
    )
    found: list[list[Value]] = []
    for row in rows:
        code = MatrixProblemCode(row["code"])
        department = row["department_id"]
        found.append(
            [
                code.value,
                titles.get(row["task_id"]) if row["task_id"] else None,
                departments.get(f"department:{department}", department) if department else None,
                PROBLEM_TEXT_ZH[code] if lang == "zh" else row["message"],
            ]
        )
    return found


async def export_matrix(request: Request) -> Response:
    principal = await caller(request)
    lang = language(request.headers.get("accept-language"))
    async with runtime_of(request).pool.acquire() as conn:
        replica = await visible_matrix(conn, principal, request.path_params["request_id"])
        sheets = await matrix_sheets(conn, replica.id, lang)
    return xlsx_response(TEXT[lang]["file"].format(code=replica.code), sheets)
