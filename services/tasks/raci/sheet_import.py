"""Importing a RACI sheet (the layout of :mod:`services.tasks.raci.spreadsheet`) into the
tasks of a request: ``POST /files/requests/{id}/raci.xlsx?dryRun=true|false``.

Allowed to whoever may ``setRaci`` on the request's tasks (404 to one who may not see it,
403 to one who may not plan it). A row names its task by id, or by title when the id is
blank; a title that matches no task creates one, as ``createTask`` would (the RACI is then
its only content). A row whose letters are those the task already has is ``unchanged`` and
is neither checked nor stored, so importing the same file twice stores nothing the second
time; every other row must meet ``setRaci``'s rules. The dry run (the default) only plans;
the real run stores every row in one transaction through the mutations' own functions, with
their events, or, on any problem, nothing (422).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from openpyxl.utils import get_column_letter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from services.tasks import repository as repo
from services.tasks.models import NewTask, RaciAssignment, RaciRole, Task
from services.tasks.raci.service import store_raci
from services.tasks.raci.spreadsheet import (
    ROLE_ORDER,
    TEXT,
    Party,
    cell_letters,
    cell_text,
    heading_key,
    matrix_tasks,
    party_names,
)
from services.tasks.rules import check_may_plan, check_raci, check_task_shape
from services.tasks.service import add_task
from shared.auth import Principal
from shared.db import Connection
from shared.graphql.errors import Problems
from shared.http_routes import caller, runtime_of
from shared.replicas import RequestReplica, get_request
from shared.runtime import ServiceRuntime
from shared.spreadsheets import Problem, Row, SpreadsheetRefused, read_rows, upload_bytes
from shared.unit_of_work import unit_of_work

ID_COLUMN, TITLE_COLUMN = "A", "B"
FIRST_PARTY = 2
"""Index of the first party column (after the task's id and title)."""

_ACCOUNTABLE_CODES = {"RACI_ACCOUNTABLE", "RACI_ACCOUNTABLE_PERSON"}


class ImportRefused(Exception):
    """The caller may not import into this request: answered ``{"code", "message"}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class Column:
    """A party column of the upload: its letter, its heading, the party it names."""

    letter: str
    heading: str
    party: Party | None


@dataclass
class RowPlan:
    """What importing one row does."""

    row: int
    title: str
    task: Task | None
    raci: tuple[RaciAssignment, ...]
    changes: list[dict[str, str]] = field(default_factory=list)

    @property
    def action(self) -> str:
        if self.task is None:
            return "create"
        return "update" if self.changes else "unchanged"

    def as_json(self) -> dict[str, Any]:
        task_id = self.task.id if self.task else None
        return {
            "row": self.row,
            "task": self.title,
            "taskId": task_id,
            "action": self.action,
            "changes": self.changes,
        }


@dataclass
class ImportPlan:
    rows: list[RowPlan] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def problem(self, row: int, column: str, message: str) -> None:
        self.problems.append(Problem(row, column, message))


# --- headings ------------------------------------------------------------------------------------


async def directory_parties(conn: Connection) -> list[Party]:
    """Every department and person of the directory copy, as columns they could head."""
    rows = await conn.fetch(
        """SELECT 'department:' || id AS key, name FROM department_replicas
           UNION ALL SELECT 'person:' || id, name FROM person_replicas ORDER BY 1"""
    )
    return [Party(r["key"], r["name"]) for r in rows]


def _check_fixed_headings(plan: ImportPlan, header: list[str]) -> None:
    for index, name in enumerate(("task_id", "task")):
        expected = {TEXT["zh"][name], TEXT["en"][name]}
        if (header[index] if index < len(header) else "") not in expected:
            wanted = " or ".join(sorted(expected))
            plan.problem(1, get_column_letter(index + 1), f"the heading must be {wanted}")


def _party_of(heading: str, parties: list[Party]) -> tuple[Party | None, str | None]:
    """The party a heading names, or why none: by its bracketed key, else by its name."""
    key = heading_key(heading)
    if key is not None:
        found = [p for p in parties if p.key == key]
    else:
        found = [p for p in parties if p.name.casefold() == heading.casefold()]
    if len(found) == 1:
        return found[0], None
    if not found:
        return None, f"no department or person {heading!r} in the directory"
    return None, f"several departments or people are named {heading!r}: add [key] as exported"


def resolve_columns(plan: ImportPlan, header: list[str], parties: list[Party]) -> list[Column]:
    """The party columns of the header; unknown, ambiguous or repeated ones are problems."""
    _check_fixed_headings(plan, header)
    columns: list[Column] = []
    seen: set[str] = set()
    for index, heading in enumerate(header[FIRST_PARTY:], start=FIRST_PARTY + 1):
        letter = get_column_letter(index)
        party, why = _party_of(heading, parties) if heading else (None, None)
        if why:
            plan.problem(1, letter, why)
        elif party and party.key in seen:
            plan.problem(1, letter, f"{party.label} has a second column")
            party = None
        if party:
            seen.add(party.key)
        columns.append(Column(letter, heading, party))
    return columns


# --- rows ----------------------------------------------------------------------------------------


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _key_of(assignment: RaciAssignment) -> str:
    """The matrix column an assignment is shown in (a person's, if it names one)."""
    if assignment.person_id is not None:
        return f"person:{assignment.person_id}"
    return f"department:{assignment.department_id}"


@dataclass
class Matcher:
    """Finds the task a row names among the request's tasks, each at most once."""

    tasks: list[Task]
    seen: set[str] = field(default_factory=set)

    def find(self, plan: ImportPlan, row: Row) -> tuple[bool, Task | None]:
        """(whether the row is usable, its task: None for a new one)."""
        task_id, title = _text(row.values[0]), _text(row.values[1])
        if task_id:
            found = [t for t in self.tasks if t.id == task_id]
            if not found:
                plan.problem(row.number, ID_COLUMN, f"no task {task_id} in this request")
                return False, None
            if title and title != found[0].title:
                message = f"the task is titled {found[0].title!r}: rename tasks in Liaison"
                plan.problem(row.number, TITLE_COLUMN, message)
        elif not title:
            plan.problem(row.number, TITLE_COLUMN, "a row needs a task title (or its task ID)")
            return False, None
        else:
            found = [t for t in self.tasks if t.title == title]
            if len(found) > 1:
                message = f"several tasks are titled {title!r}: give the task ID"
                plan.problem(row.number, TITLE_COLUMN, message)
                return False, None
        task = found[0] if found else None
        if task is not None and task.id in self.seen:
            plan.problem(row.number, ID_COLUMN, f"task {task.id} has a second row")
            return False, None
        if task is not None:
            self.seen.add(task.id)
        return True, task


def row_cells(plan: ImportPlan, row: Row, columns: list[Column]) -> dict[str, set[RaciRole]]:
    """The letters of a row by column key; cells that are not R, A, C or I are problems."""
    cells: dict[str, set[RaciRole]] = {}
    for column, value in zip(columns, row.values[FIRST_PARTY:], strict=False):
        letters, wrong = cell_letters(value)
        for token in wrong:
            plan.problem(row.number, column.letter, f"{token!r} is not one of R, A, C, I")
        if letters and column.party is None and not column.heading:
            plan.problem(row.number, column.letter, "the column has no heading")
        if column.party is not None:
            cells[column.party.key] = letters
    return cells


def _check_accountable(
    plan: ImportPlan, row: int, cells: dict[str, set[RaciRole]], letters: dict[str, str]
) -> bool:
    """The A of a changed row, cell by cell; whether any problem was found."""
    accountable = [key for key, held in cells.items() if RaciRole.A in held]
    found = False
    for key in accountable[1:]:
        plan.problem(row, letters[key], "two As: a task has exactly one accountable (A)")
        found = True
    for key in accountable:
        if key.startswith("department:"):
            plan.problem(row, letters[key], "the accountable (A) must be a person")
            found = True
    return found


def check_row(
    plan: ImportPlan, row: RowPlan, cells: dict[str, set[RaciRole]], letters: dict[str, str]
) -> None:
    """The mutations' rules (``createTask``'s for a new task, else ``setRaci``'s), at the
    cell they concern where there is one, else at the task's title."""
    cell_found = _check_accountable(plan, row.row, cells, letters)
    if row.task is None:
        problems = check_task_shape(NewTask(request_id="", title=row.title, raci=row.raci))
    else:
        problems = Problems()
        check_raci(problems, row.raci)
    for item in problems.items:
        if not (cell_found and item.code in _ACCOUNTABLE_CODES):
            plan.problem(row.row, TITLE_COLUMN, item.message)


def desired_raci(
    cells: dict[str, set[RaciRole]], columns: list[Column], current: list[RaciAssignment]
) -> tuple[RaciAssignment, ...]:
    """The assignments a row asks for, in R, A, C, I and column order; one the task already
    has is kept as it is (a person's entry keeps the department it also names)."""
    kept = {(a.role, _key_of(a)): a for a in current}
    raci: list[RaciAssignment] = []
    for role in ROLE_ORDER:
        for column in columns:
            party = column.party
            if party is None or role not in cells.get(party.key, set()):
                continue
            kind, party_id = party.key.split(":", 1)
            fresh = (
                RaciAssignment(role, person_id=party_id)
                if kind == "person"
                else RaciAssignment(role, department_id=party_id)
            )
            raci.append(kept.get((role, party.key), fresh))
    return tuple(raci)


def changes_of(
    before: dict[str, set[RaciRole]], after: dict[str, set[RaciRole]], labels: dict[str, str]
) -> list[dict[str, str]]:
    """The cells whose letters differ, as ``{"column", "from", "to"}``."""
    changed: list[dict[str, str]] = []
    for key in dict.fromkeys([*after, *before]):
        old, new = cell_text(before.get(key, ())), cell_text(after.get(key, ()))
        if old != new:
            changed.append({"column": labels.get(key, key), "from": old, "to": new})
    return changed


@dataclass(frozen=True)
class Matrix:
    """What a row is planned against: the upload's columns and the request's current RACI."""

    columns: list[Column]
    current: dict[str, list[RaciAssignment]]
    labels: dict[str, str]
    """A column key's heading, for the parties of the upload and those the tasks hold."""

    @property
    def letters(self) -> dict[str, str]:
        return {c.party.key: c.letter for c in self.columns if c.party}


async def _matrix(conn: Connection, columns: list[Column], tasks: list[Task]) -> Matrix:
    current = await repo.raci_by_task_ids(conn, [t.id for t in tasks])
    held = {_key_of(a) for raci in current.values() for a in raci}
    names = await party_names(conn, list(held))
    labels = {key: Party(key, name).label for key, name in names.items()}
    labels |= {c.party.key: c.party.label for c in columns if c.party}
    return Matrix(columns, current, labels)


def _plan_row(
    plan: ImportPlan, row: Row, task: Task | None, cells: dict[str, set[RaciRole]], matrix: Matrix
) -> RowPlan:
    assignments = matrix.current.get(task.id, []) if task else []
    before: dict[str, set[RaciRole]] = defaultdict(set)
    for a in assignments:
        before[_key_of(a)].add(a.role)
    title = task.title if task else _text(row.values[1])
    planned = RowPlan(row.number, title, task, desired_raci(cells, matrix.columns, assignments))
    planned.changes = changes_of(before, {k: v for k, v in cells.items() if v}, matrix.labels)
    if planned.action != "unchanged":
        check_row(plan, planned, cells, matrix.letters)
    return planned


async def plan_import(
    conn: Connection, request_id: str, header: list[str], rows: list[Row]
) -> ImportPlan:
    """What importing ``rows`` into the request does, and every problem found."""
    plan = ImportPlan()
    columns = resolve_columns(plan, header, await directory_parties(conn))
    tasks = await matrix_tasks(conn, request_id)
    matrix = await _matrix(conn, columns, tasks)
    matcher = Matcher(tasks)
    for row in rows:
        usable, task = matcher.find(plan, row)
        cells = row_cells(plan, row, columns)
        if usable:
            plan.rows.append(_plan_row(plan, row, task, cells, matrix))
    return plan


# --- running it ----------------------------------------------------------------------------------


async def plannable_request(
    conn: Connection, principal: Principal, request_id: str
) -> RequestReplica:
    """The request, if the caller may set its tasks' RACI (``setRaci``'s checks)."""
    request = await get_request(conn, request_id)
    if request is None or not principal.may_see(request.departments):
        raise ImportRefused(404, "NOT_FOUND", "no such request")
    problems = Problems()
    check_may_plan(problems, principal, request)
    if problems.items:
        first = problems.items[0]
        raise ImportRefused(403, first.code, first.message)
    return request


async def _lock(conn: Connection, request_id: str) -> None:
    """Imports into one request take turns, and no ``setRaci`` moves a task under one."""
    await conn.execute("SELECT 1 FROM request_replicas WHERE id = $1 FOR UPDATE", request_id)
    await conn.execute(
        "SELECT 1 FROM tasks WHERE request_id = $1 ORDER BY id FOR UPDATE", request_id
    )


async def store_plan(
    runtime: ServiceRuntime,
    principal: Principal,
    request_id: str,
    header: list[str],
    rows: list[Row],
) -> ImportPlan:
    """Plan and store in one transaction: every changed row, or (on a problem) none."""
    async with unit_of_work(runtime) as uow:
        request = await plannable_request(uow.conn, principal, request_id)
        await _lock(uow.conn, request_id)
        plan = await plan_import(uow.conn, request_id, header, rows)
        if plan.problems:
            return plan  # nothing was written
        for row in plan.rows:
            if row.task is None:
                command = NewTask(request_id=request_id, title=row.title, raci=row.raci)
                await add_task(uow, command, request, principal.sub)
            elif row.changes:
                await store_raci(uow, principal, row.task, request, row.raci)
    return plan


async def dry_run_plan(
    runtime: ServiceRuntime,
    principal: Principal,
    request_id: str,
    header: list[str],
    rows: list[Row],
) -> ImportPlan:
    async with runtime.pool.acquire() as conn:
        await plannable_request(conn, principal, request_id)
        return await plan_import(conn, request_id, header, rows)


def answer(plan: ImportPlan, dry_run: bool) -> JSONResponse:
    """The plan as JSON: 422 when a real run stored nothing because of its problems."""
    stored = not dry_run and not plan.problems and any(r.action != "unchanged" for r in plan.rows)
    body = {
        "dryRun": dry_run,
        "rows": [r.as_json() for r in plan.rows],
        "problems": [p.as_json() for p in plan.problems],
        "stored": stored,
    }
    return JSONResponse(body, status_code=422 if plan.problems and not dry_run else 200)


async def import_matrix(request: Request) -> Response:
    """``POST /files/requests/{id}/raci.xlsx``: the body is the workbook."""
    principal = await caller(request)  # a bad token is refused before the body is read
    runtime = runtime_of(request)
    request_id = request.path_params["request_id"]
    dry_run = request.query_params.get("dryRun", "true").lower() != "false"
    try:
        header, rows = read_rows(await upload_bytes(request))
        run = dry_run_plan if dry_run else store_plan
        plan = await run(runtime, principal, request_id, header, rows)
    except SpreadsheetRefused as exc:
        status = 413 if exc.code == "FILE_TOO_LARGE" else 400
        return JSONResponse({"code": exc.code, "message": exc.message}, status_code=status)
    except ImportRefused as exc:
        return JSONResponse({"code": exc.code, "message": exc.message}, status_code=exc.status)
    return answer(plan, dry_run)
