"""``POST /files/directory.xlsx[?dryRun=true]``: departments and people from a spreadsheet.

The workbook has a departments sheet (``部门`` or ``Departments``) and/or a people sheet
(``人员`` or ``People``), headers in Chinese or English (:data:`DEPARTMENT_COLUMNS`,
:data:`PEOPLE_COLUMNS`). Each row is checked as ``upsertDepartment`` and ``upsertPerson``
check their input, against the directory and the rest of the sheet (a department may name a
parent or a head that the same file adds). The answer lists, per row, whether it would be
created, changed (which fields) or left unchanged, and every problem with its sheet, row and
column. A dry run stores nothing; otherwise the file is stored whole in one transaction, or
not at all (422 with the problems), and each created or changed row emits the event its
mutation emits, so importing the same file again stores and emits nothing. Only ADMINs
maintain the directory.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, TypeVar

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.requests.directory import repository as repo
from services.requests.directory.service import (
    PERSON_ROLES,
    require_admin,
    save_department,
    save_person,
)
from services.requests.models import Department, Person
from services.requests.partners import repository as partners
from shared.calendars import check_time_zone
from shared.db import Connection
from shared.graphql.errors import DomainError
from shared.http_routes import caller, runtime_of
from shared.spreadsheets import Problem, Row, SpreadsheetRefused, read_sheets, upload_bytes
from shared.unit_of_work import unit_of_work

Columns = tuple[tuple[str, str, str], ...]
"""(field, Chinese header, English header) of a sheet."""

DEPARTMENT_SHEET = ("部门", "Departments")
DEPARTMENT_COLUMNS: Columns = (
    ("id", "编号", "ID"),
    ("code", "代码", "Code"),
    ("name", "名称", "Name"),
    ("region_id", "区域", "Region"),
    ("parent_id", "上级部门", "Parent"),
    ("head_id", "负责人", "Head"),
)
PEOPLE_SHEET = ("人员", "People")
PEOPLE_COLUMNS: Columns = (
    ("id", "编号", "ID"),
    ("name", "姓名", "Name"),
    ("email", "邮箱", "E-mail"),
    ("department_id", "部门", "Department"),
    ("region_id", "区域", "Region"),
    ("time_zone", "时区", "Time zone"),
    ("roles", "角色", "Roles"),
    ("dingtalk_id", "钉钉", "DingTalk"),
    ("wecom_id", "企业微信", "WeCom"),
    ("feishu_id", "飞书", "Feishu"),
    ("active", "在职", "Active"),
)
_REQUIRED = {"id", "code", "name", "region_id", "email", "department_id", "time_zone"}
_YES, _NO = {"是", "yes", "true", "1", "y"}, {"否", "no", "false", "0", "n"}

T = TypeVar("T", Department, Person)


@dataclass
class Planned:
    """What importing one row would do."""

    sheet: str
    row: int
    id: str
    action: str  # create, update or unchanged
    changes: list[str]

    def as_json(self) -> dict[str, Any]:
        return {"sheet": self.sheet, "row": self.row, "id": self.id, "action": self.action,
                "changes": self.changes}  # fmt: skip


@dataclass
class Plan:
    departments: list[tuple[Planned, Department]] = field(default_factory=list)
    people: list[tuple[Planned, Person]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def rows(self) -> list[dict[str, Any]]:
        return [p.as_json() for p, _ in [*self.departments, *self.people]]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _records(
    sheet: str, header: list[str], rows: list[Row], columns: Columns, plan: Plan
) -> list[tuple[int, dict[str, str | None]]]:
    """The sheet's rows as {field: text}; a missing required column is a problem of its
    own, and the sheet's rows are then not read."""
    where: dict[str, int] = {}
    missing = False
    for name, chinese, english in columns:
        found = [i for i, h in enumerate(header) if h in (chinese, english)]
        if found:
            where[name] = found[0]
        elif name in _REQUIRED:
            missing = True
            message = f"the column {chinese} / {english} is missing"
            plan.problems.append(Problem(1, chinese, message, sheet))
    return (
        []
        if missing
        else [(r.number, {n: _text(r.values[i]) for n, i in where.items()}) for r in rows]
    )


def _sheet_of(sheets: dict[str, Any], names: tuple[str, str]) -> tuple[str, Any] | None:
    return next(((n, sheets[n]) for n in names if n in sheets), None)


async def plan_import(conn: Connection, data: bytes) -> Plan:
    """Every row's outcome and every problem, reading the directory but changing nothing."""
    sheets = read_sheets(data)
    found_departments = _sheet_of(sheets, DEPARTMENT_SHEET)
    found_people = _sheet_of(sheets, PEOPLE_SHEET)
    if found_departments is None and found_people is None:
        names = " / ".join([*DEPARTMENT_SHEET, *PEOPLE_SHEET])
        raise SpreadsheetRefused("SHEET_MISSING", f"the workbook has none of the sheets {names}")
    plan = Plan()
    departments = people = []
    if found_departments:
        name, (header, rows) = found_departments
        departments = [
            (name, n, r) for n, r in _records(name, header, rows, DEPARTMENT_COLUMNS, plan)
        ]
    if found_people:
        name, (header, rows) = found_people
        people = [(name, n, r) for n, r in _records(name, header, rows, PEOPLE_COLUMNS, plan)]
    await _check(conn, plan, departments, people)
    return plan


Record = tuple[str, int, dict[str, str | None]]
"""A row to import: its sheet, its number there and its values by field."""


@dataclass
class _Known:
    """What the rows may refer to: the directory's and the file's own."""

    regions: set[str]
    departments: dict[str, Department]
    people: dict[str, Person]
    partners: set[str]
    file_departments: set[str]
    file_people: set[str]
    seen: set[tuple[str, str]] = field(default_factory=set)

    def department(self, id_: str) -> bool:
        return id_ in self.departments or id_ in self.file_departments


async def _known(conn: Connection, departments: list[Record], people: list[Record]) -> _Known:
    def values(rows: list[Record], name: str) -> list[str]:
        return [r.get(name) or "" for *_, r in rows]

    ids = values([*departments, *people], "id")
    references = [*values(people, "department_id"), *values(departments, "parent_id")]
    heads = values(departments, "head_id")
    return _Known(
        regions=set(await repo.regions_by_ids(conn, values([*departments, *people], "region_id"))),
        departments=await repo.departments_by_ids(conn, [*ids, *references]),
        people=await repo.people_by_ids(conn, [*ids, *heads]),
        partners=await partners.existing(conn, values(people, "id")),
        file_departments=set(values(departments, "id")) - {""},
        file_people=set(values(people, "id")) - {""},
    )


async def _check(
    conn: Connection, plan: Plan, departments: list[Record], people: list[Record]
) -> None:
    known = await _known(conn, departments, people)
    for sheet, number, record in departments:
        problem = _problem_adder(plan, sheet, number, DEPARTMENT_COLUMNS)
        complete = _required_and_unique(record, DEPARTMENT_COLUMNS, "department", known, problem)
        _check_department(plan, sheet, number, record, known, problem, complete)
    _check_hierarchy(plan, known.departments)
    for sheet, number, record in people:
        problem = _problem_adder(plan, sheet, number, PEOPLE_COLUMNS)
        complete = _required_and_unique(record, PEOPLE_COLUMNS, "person", known, problem)
        person = _person(record, problem)
        if person.region_id and person.region_id not in known.regions:
            problem("region_id", f"no region {person.region_id!r}")
        if person.department_id and not known.department(person.department_id):
            missing = person.department_id
            problem("department_id", f"no department {missing!r}, in the directory or file")
        if person.id in known.partners:
            problem("id", "a partner client has this id")
        if complete:
            _plan_row(plan.people, sheet, number, person, known.people.get(person.id))


def _check_department(
    plan: Plan,
    sheet: str,
    number: int,
    record: dict[str, str | None],
    known: _Known,
    problem: Callable[[str, str], None],
    complete: bool,
) -> None:
    region, parent, head = record["region_id"] or "", record.get("parent_id"), record.get("head_id")
    if region and region not in known.regions:
        problem("region_id", f"no region {region!r}")
    if parent and not known.department(parent):
        problem("parent_id", f"no department {parent!r}, in the directory or this file")
    if head and head not in known.people and head not in known.file_people:
        problem("head_id", f"no person {head!r}, in the directory or this file")
    if complete:
        new = Department(record["id"] or "", record["code"] or "", record["name"] or "", region)
        new = replace(new, parent_id=parent, head_id=head)
        _plan_row(plan.departments, sheet, number, new, known.departments.get(new.id))


def _problem_adder(
    plan: Plan, sheet: str, number: int, columns: Columns
) -> Callable[[str, str], None]:
    headers = {name: chinese for name, chinese, _ in columns}

    def add(name: str, message: str) -> None:
        plan.problems.append(Problem(number, headers.get(name, name), message, sheet))

    return add


def _required_and_unique(
    record: dict[str, str | None],
    columns: Columns,
    kind: str,
    known: _Known,
    problem: Callable[[str, str], None],
) -> bool:
    """Whether the row has every required value and an id no earlier row of its kind has."""
    missing = [name for name, *_ in columns if name in _REQUIRED and not record.get(name)]
    for name in missing:
        problem(name, "a value is needed")
    key = (kind, record.get("id") or "")
    if key[1] and key in known.seen:
        problem("id", f"{key[1]!r} is on another row too")
        return False
    known.seen.add(key)
    return not missing


def _person(record: dict[str, str | None], problem: Callable[[str, str], None]) -> Person:
    time_zone = record.get("time_zone") or ""
    try:
        check_time_zone(time_zone)
    except ValueError as exc:
        problem("time_zone", str(exc))
    roles = tuple(
        r.strip().upper()
        for r in (record.get("roles") or "MEMBER").replace("，", ",").replace("、", ",").split(",")
        if r.strip()
    )
    unknown = sorted(set(roles) - PERSON_ROLES)
    if unknown:
        problem(
            "roles",
            f"unknown role {', '.join(unknown)}; roles are {', '.join(sorted(PERSON_ROLES))}",
        )
    active_text = (record.get("active") or "是").lower()
    if active_text not in _YES | _NO:
        problem("active", f"{record.get('active')!r} is not 是/否 (yes/no)")
    return Person(
        id=record.get("id") or "",
        name=record.get("name") or "",
        email=record.get("email") or "",
        department_id=record.get("department_id") or "",
        region_id=record.get("region_id") or "",
        time_zone=time_zone,
        roles=roles,
        dingtalk_id=record.get("dingtalk_id"),
        wecom_id=record.get("wecom_id"),
        feishu_id=record.get("feishu_id"),
        active=active_text not in _NO,
    )


def _plan_row(
    planned: list[tuple[Planned, T]], sheet: str, number: int, new: T, old: T | None
) -> None:
    changes = (
        []
        if old is None
        else [f.name for f in fields(new) if getattr(new, f.name) != getattr(old, f.name)]
    )
    action = "create" if old is None else "update" if changes else "unchanged"
    planned.append((Planned(sheet, number, new.id, action, changes), new))


def _check_hierarchy(plan: Plan, known: dict[str, Department]) -> None:
    """No department may end up under itself, the file's rows taking the place of the
    directory's."""
    parents = {d.id: d.parent_id for d in known.values()}
    parents |= {d.id: d.parent_id for _, d in plan.departments}
    for planned, department in plan.departments:
        walked, current = {department.id}, department.parent_id
        while current is not None and current not in walked:
            walked.add(current)
            current = parents.get(current)
        if current is not None:
            plan.problems.append(
                Problem(
                    planned.row,
                    DEPARTMENT_COLUMNS[4][1],
                    "a department cannot sit under itself",
                    planned.sheet,
                )
            )


def _parents_first(rows: Sequence[tuple[Planned, Department]]) -> list[Department]:
    """The departments to store, each after the file's parent it names (parent_id's foreign
    key is checked at once; head_id's at commit)."""
    pending = {d.id: d for p, d in rows if p.action != "unchanged"}
    ordered: list[Department] = []
    while pending:
        ready = [d for d in pending.values() if d.parent_id not in pending]
        ordered += ready
        for d in ready:
            del pending[d.id]
    return ordered


async def import_endpoint(request: Request) -> Response:
    principal = await caller(request)
    runtime = runtime_of(request)
    try:
        require_admin(principal)
    except DomainError as exc:
        raise HTTPException(403, str(exc)) from exc
    dry_run = request.query_params.get("dryRun", "false").lower() == "true"
    try:
        data = await upload_bytes(request)
        async with runtime.pool.acquire() as conn:
            plan = await plan_import(conn, data)
    except SpreadsheetRefused as refused:
        status = 413 if refused.code == "FILE_TOO_LARGE" else 400
        return JSONResponse({"code": refused.code, "message": refused.message}, status_code=status)
    answer = {
        "dryRun": dry_run,
        "rows": plan.rows(),
        "problems": [p.as_json() for p in plan.problems],
    }
    if dry_run:
        return JSONResponse({**answer, "stored": False})
    if plan.problems:
        return JSONResponse({**answer, "stored": False}, status_code=422)
    async with unit_of_work(runtime) as uow:
        for department in _parents_first(plan.departments):
            await save_department(uow, department)
        for planned, person in plan.people:
            if planned.action != "unchanged":
                await save_person(uow, person)
    return JSONResponse({**answer, "stored": True})


ROUTES = [Route("/files/directory.xlsx", import_endpoint, methods=["POST"])]
