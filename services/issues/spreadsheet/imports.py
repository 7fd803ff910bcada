"""``POST /files/issues.xlsx?dryRun=true|false``: an issue log in the download's layout,
matched to the stored issues by code. A row is a new issue (kept with its reported,
acknowledged and planned times, its SLA clocks counted from them), a change of an issue's
status, responsibility, owner, plan or resolution, or unchanged. The dry run stores nothing;
the real run stores every row in one transaction, or none and answers 422 with the problems.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from services.issues import repository as repo
from services.issues.lifecycle import record_move
from services.issues.lifecycle.moves import (
    ACKNOWLEDGE,
    ARCHIVE,
    PROPOSE_PLAN,
    RESOLVE,
    RESUME,
    START_WORK,
    VERIFY,
    WAIT,
)
from services.issues.lifecycle.rules import Rule, check_party, check_status
from services.issues.models import (
    Issue,
    IssueAction,
    IssueStatus,
    Move,
    NewIssue,
    Severity,
    SlaMetric,
    SlaPolicy,
)
from services.issues.repository import ListFilter
from services.issues.service import create_issue
from services.issues.sla import clocks
from services.issues.spreadsheet.columns import canonical, log_records, parse_header
from services.issues.spreadsheet.history import start_historical_clocks
from services.issues.spreadsheet.parsing import REQUIRED, ParsedRow, parse_rows, step_time_problems
from shared.auth import Principal
from shared.db import Connection
from shared.graphql.errors import Problems
from shared.http_routes import caller, runtime_of
from shared.replicas import RequestReplica, department_regions, get_requests
from shared.spreadsheets import Problem, SpreadsheetRefused, read_rows, upload_bytes
from shared.unit_of_work import UnitOfWork, unit_of_work

EDITABLE = frozenset({"status", "responsible_department_id", "owner_id", "plan", "resolution"})
"""What a row may change of a stored issue; the rest is its history."""

STEPS: dict[IssueStatus, IssueAction] = {
    IssueStatus.ACKNOWLEDGED: IssueAction.ACKNOWLEDGED,
    IssueStatus.PLAN_PROPOSED: IssueAction.PLAN_PROPOSED,
    IssueStatus.IN_PROGRESS: IssueAction.WORK_STARTED,
    IssueStatus.WAITING: IssueAction.WAITING,
    IssueStatus.RESOLVED: IssueAction.RESOLVED,
    IssueStatus.VERIFIED: IssueAction.VERIFIED,
    IssueStatus.ARCHIVED: IssueAction.ARCHIVED,
}
"""The lifecycle action whose event an issue moved into each status emits."""

_CLOCK_STEPS = (
    (SlaMetric.RESPONSE, IssueStatus.ACKNOWLEDGED),
    (SlaMetric.PLAN, IssueStatus.PLAN_PROPOSED),
)
"""Each SLA clock and the status whose move stops it."""

_MOVES_INTO: dict[IssueStatus, Rule] = {
    IssueStatus.ACKNOWLEDGED: ACKNOWLEDGE,
    IssueStatus.PLAN_PROPOSED: PROPOSE_PLAN,
    IssueStatus.IN_PROGRESS: START_WORK,
    IssueStatus.WAITING: WAIT,
    IssueStatus.RESOLVED: RESOLVE,
    IssueStatus.VERIFIED: VERIFY,
    IssueStatus.ARCHIVED: ARCHIVE,
}
"""The move into each status of a stored issue (out of WAITING it is RESUME; back from
RESOLVED, a rejected VERIFY)."""

_ORDER = list(IssueStatus)
_COMMENT = "imported from a spreadsheet"
_CODE = re.compile(r"^ISS-(\d{4})-(\d+)$")


@dataclass
class Planned:
    """What one row will do."""

    row: ParsedRow
    action: str
    changes: list[dict[str, Any]] = field(default_factory=list)
    stored: Any = None

    def as_json(self) -> dict[str, Any]:
        return {
            "row": self.row.number,
            "code": self.row.code,
            "action": self.action,
            "changes": self.changes,
        }


def _after(status: IssueStatus, step: IssueStatus) -> bool:
    return _ORDER.index(status) >= _ORDER.index(step) and status is not IssueStatus.WAITING


# --- planning: what each row would do, and every problem --------------------------------------


async def _known(
    conn: Connection, principal: Principal, rows: list[ParsedRow]
) -> tuple[dict[str, RequestReplica], set[str]]:
    """The requests of the rows the caller sees, and the departments the directory knows."""
    requests = await get_requests(conn, [str(r.values.get("request_id")) for r in rows])
    seen = {k: v for k, v in requests.items() if principal.may_see(v.departments)}
    wanted = {
        str(v) for r in rows for k, v in r.values.items() if k.endswith("department_id") and v
    }
    return seen, set(await department_regions(conn, list(wanted)))


def _check_references(
    row: ParsedRow, requests: dict[str, RequestReplica], departments: set[str]
) -> list[Problem]:
    problems = []
    request = requests.get(str(row.values.get("request_id")))
    if row.values.get("request_id") and request is None:
        message = f"request {row.values['request_id']} is unknown (or not yours to see)"
        problems.append(Problem(row.number, row.labels["request_id"], message))
    for key, value in row.values.items():
        if key.endswith("department_id") and value and value not in departments:
            problems.append(Problem(row.number, row.labels[key], f"department {value} is unknown"))
    lead = row.values.get("lead_department_id")
    if request and lead and lead in departments and lead not in request.departments:
        message = f"the lead department must take part in request {request.code}"
        problems.append(Problem(row.number, row.labels["lead_department_id"], message))
    return problems


def _compare(row: ParsedRow, stored: Any) -> tuple[Planned, list[Problem]]:
    """An existing issue's row: unchanged, an update, or a change of its history (refused)."""
    current = canonical(stored)
    changed = [
        key
        for key, value in row.values.items()
        if value is not None and value != current[key] and key != "code"
    ]
    problems = [
        Problem(row.number, row.labels[key], f"{row.code}: this is history, not changed by import")
        for key in changed
        if key not in EDITABLE
    ]
    action = "update" if changed else "unchanged"
    changes = [
        {"column": row.labels[k], "from": _shown(current[k]), "to": _shown(row.values[k])}
        for k in changed
    ]
    return Planned(row, action, changes, stored), problems


def _shown(value: Any) -> Any:
    """A value as JSON: times in ISO 8601 with their offset."""
    return value.isoformat() if isinstance(value, datetime) else value


async def plan(
    conn: Connection, principal: Principal, rows: list[ParsedRow]
) -> tuple[list[Planned], list[Problem]]:
    """What every row would do, and what stops it; reads only."""
    requests, departments = await _known(conn, principal, rows)
    codes = [r.code for r in rows if r.code]
    stored = {r["code"]: r async for r in log_records(conn, principal, ListFilter(), codes)}
    taken = {
        r["code"] for r in await conn.fetch("SELECT code FROM issues WHERE code = ANY($1)", codes)
    }
    planned, problems = [], []
    for row in rows:
        if row.code in stored:
            item, found = _compare(row, stored[row.code])
            planned.append(item)
            problems += found + _may_change(principal, item)
            continue
        if row.code in taken:
            message = f"{row.code} is an issue you may not change"
            problems.append(Problem(row.number, row.labels["code"], message))
        problems += _missing(row) + step_time_problems(row)
        problems += _check_references(row, requests, departments)
        planned.append(Planned(row, "create"))
    return planned, problems + await _moves_problems(conn, principal, planned)


def _status_changes(item: Planned) -> bool:
    status = item.row.values.get("status")
    return status is not None and IssueStatus(status) is not IssueStatus(item.stored["status"])


def _rule_into(issue: Issue, target: IssueStatus) -> Rule | None:
    """The lifecycle move that takes ``issue`` to ``target`` in one step, if there is one."""
    if issue.status is IssueStatus.WAITING:
        return RESUME if target is issue.status_before_waiting else None
    if issue.status is IssueStatus.RESOLVED and target is IssueStatus.IN_PROGRESS:
        return VERIFY  # a resolution the lead department does not accept
    return _MOVES_INTO.get(target)


async def _moves_problems(
    conn: Connection, principal: Principal, planned: list[Planned]
) -> list[Problem]:
    """A row that changes a stored issue's status makes one move of the lifecycle, with that
    move's rules: from which status, and by whom (as the GraphQL mutation would check it)."""
    moving = {
        item.stored["id"]: item
        for item in planned
        if item.action == "update" and _status_changes(item)
    }
    issues = await repo.issues_by_ids(conn, list(moving))
    problems = []
    for issue_id, item in moving.items():
        issue, target = issues[issue_id], IssueStatus(item.row.values["status"])
        label = item.row.labels["status"]
        rule = _rule_into(issue, target)
        if rule is None:
            message = (
                f"{item.row.code}: {issue.status.value} to {target.value} is not one move of the"
                " lifecycle; import one move at a time"
            )
            problems.append(Problem(item.row.number, label, message))
            continue
        found = Problems()
        check_status(found, issue, rule)
        check_party(found, principal, issue, rule)
        problems += [
            Problem(item.row.number, label, f"{item.row.code}: {p.message}") for p in found.items
        ]
    return problems


def _may_change(principal: Principal, item: Planned) -> list[Problem]:
    """Who may move an issue by hand may change it by import: its lead or responsible
    department, or the PMO (seeing an issue is not enough)."""
    parties = (item.stored["lead_department_id"], item.stored["responsible_department_id"])
    if item.action != "update" or principal.sees_everything or principal.belongs_to_any(parties):
        return []
    message = f"only {' or '.join(dict.fromkeys(parties))} or the PMO change {item.row.code}"
    return [Problem(item.row.number, item.row.labels["code"], message)]


def _missing(row: ParsedRow) -> list[Problem]:
    """A new issue needs every required column in the file."""
    absent = [key for key in REQUIRED if key not in row.values]
    if not absent:
        return []
    return [Problem(row.number, "", f"a new issue needs the columns {', '.join(absent)}")]


# --- storing ----------------------------------------------------------------------------------


async def _claim_code(conn: Connection, code: str) -> None:
    """An imported ISS-<year>-<n> moves the year's counter past n: no later report reuses it."""
    if match := _CODE.match(code):
        await conn.execute(
            "INSERT INTO issue_code_counters (year, last) VALUES ($1, $2) ON CONFLICT (year)"
            " DO UPDATE SET last = greatest(issue_code_counters.last, $2)",
            int(match.group(1)),
            int(match.group(2)),
        )


async def _create(
    uow: UnitOfWork, principal: Principal, row: ParsedRow, replica: RequestReplica
) -> None:
    values = row.values
    reported: datetime = values["reported_at"]
    command = NewIssue(
        request_id=replica.id,
        title=values["title"],
        severity=Severity(values["severity"]),
        description=values.get("description") or "",
        impact=values.get("impact") or "",
        urgent=bool(values.get("urgent")),
        attempted_measures=values.get("attempted_measures") or "",
        reporting_department_id=values.get("reporting_department_id"),
        lead_department_id=values.get("lead_department_id"),
    )
    issue = await create_issue(
        uow, command, replica, reporter_id=principal.sub, region=None, now=reported,
        code=values["code"], start_clocks=False,
    )  # fmt: skip
    await _claim_code(uow.conn, values["code"])
    steps = {
        SlaMetric.RESPONSE: values.get("acknowledged_at"),
        SlaMetric.PLAN: values.get("planned_at"),
    }
    await _move_history(uow, principal, issue, row)
    await start_historical_clocks(
        uow, await _current(uow, issue), SlaPolicy.from_settings(uow.runtime.settings), steps
    )


async def _current(uow: UnitOfWork, issue: Issue) -> Issue:
    found = await repo.lock_issue(uow.conn, issue.id)
    assert found is not None  # written in this transaction
    return found


async def _move_history(
    uow: UnitOfWork, principal: Principal, issue: Issue, row: ParsedRow
) -> None:
    """The steps the row dates (acknowledged, plan, resolved), then its status: each with
    its timeline entry and the event the move would have sent."""
    values = row.values
    target = IssueStatus(values["status"])
    dated = [
        (IssueStatus.ACKNOWLEDGED, values.get("acknowledged_at")),
        (IssueStatus.PLAN_PROPOSED, values.get("planned_at")),
        (IssueStatus.RESOLVED, values.get("resolved_at")),
    ]
    at = issue.created_at
    for status, moment in dated:
        if moment is not None and _after(target, status):
            at = moment
            issue = await _step(uow, principal, issue, status, at, row)
    if target is not issue.status:
        await _step(uow, principal, issue, target, at, row)


async def _step(
    uow: UnitOfWork, principal: Principal, before: Issue, status: IssueStatus, at: datetime,
    row: ParsedRow,
) -> Issue:  # fmt: skip
    values = row.values
    changes: dict[str, Any] = {"status": status}
    if status is IssueStatus.WAITING:
        changes["status_before_waiting"] = before.status
    if status is IssueStatus.ACKNOWLEDGED or before.status is IssueStatus.REPORTED:
        changes["responsible_department_id"] = (
            values.get("responsible_department_id") or before.responsible_department_id
        )
        changes["owner_id"] = values.get("owner_id")
    if _after(status, IssueStatus.PLAN_PROPOSED):
        changes["plan"] = values.get("plan") or ""
    if _after(status, IssueStatus.RESOLVED):
        changes["resolution"] = values.get("resolution") or ""
    after = await repo.update_issue(uow.conn, before.id, at, **changes)
    await record_move(uow, principal, before, after, STEPS[status], Move(before.id, _COMMENT), at)
    return after


async def _update(uow: UnitOfWork, principal: Principal, item: Planned, now: datetime) -> None:
    """A stored issue's status, responsibility, owner, plan or resolution, as the row has it."""
    before = await repo.lock_issue(uow.conn, item.stored["id"])
    assert before is not None  # read in this transaction
    values = {k: v for k, v in item.row.values.items() if k in EDITABLE and v is not None}
    status = IssueStatus(values.pop("status", before.status))
    if status is IssueStatus.WAITING and before.status is not IssueStatus.WAITING:
        values["status_before_waiting"] = before.status
    after = await repo.update_issue(uow.conn, before.id, now, status=status, **values)
    if after.responsible_department_id != before.responsible_department_id:
        await clocks.recompute_clocks(uow, after, now)
    for metric, step in _CLOCK_STEPS:
        if _after(status, step) and not _after(before.status, step):
            await clocks.stop_clock(uow, after, metric, now)
    # a move into a status sends that move's event; any other change is a reassignment
    action = STEPS.get(status, IssueAction.REASSIGNED) if status is not before.status else None
    move = Move(before.id, _COMMENT)
    await record_move(uow, principal, before, after, action or IssueAction.REASSIGNED, move, now)


async def store(uow: UnitOfWork, principal: Principal, planned: list[Planned]) -> None:
    """Every planned create and update, in the caller's transaction."""
    now = datetime.now(UTC)
    created = [str(p.row.values["request_id"]) for p in planned if p.action == "create"]
    requests = await get_requests(uow.conn, created)
    for item in planned:
        if item.action == "create":
            await _create(uow, principal, item.row, requests[item.row.values["request_id"]])
        elif item.action == "update":
            await _update(uow, principal, item, now)


# --- the route ------------------------------------------------------------------------------


def _answer(
    dry_run: bool, planned: list[Planned], problems: list[Problem], stored: bool, status: int
) -> JSONResponse:
    body = {
        "dryRun": dry_run,
        "rows": [p.as_json() for p in planned],
        "problems": [p.as_json() for p in sorted(problems, key=lambda p: p.row)],
        "stored": stored,
    }
    return JSONResponse(body, status_code=status)


def _refused(code: str, message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status)


async def import_endpoint(request: Request) -> Response:
    principal = await caller(request)
    runtime = runtime_of(request)
    dry_run = request.query_params.get("dryRun", "true").lower() != "false"
    try:
        labels, rows = read_rows(await upload_bytes(request))
    except SpreadsheetRefused as exc:
        return _refused(exc.code, exc.message, 413 if exc.code == "FILE_TOO_LARGE" else 400)
    columns, zone, _ = parse_header(labels)
    if not any(c.key == "code" for c in columns.values()):
        return _refused("MISSING_COLUMNS", "the sheet has no code column (问题编号 / Code)")
    parsed, problems = parse_rows(rows, columns, labels, zone or ZoneInfo("UTC"))
    async with unit_of_work(runtime) as uow:
        # one import at a time: two uploads of the same new rows would both plan "create"
        await uow.conn.execute("SELECT pg_advisory_xact_lock(hashtext('issues.import'))")
        planned, found = await plan(uow.conn, principal, parsed)
        problems += found
        if problems or dry_run:
            return _answer(
                dry_run, planned, problems, False, 422 if problems and not dry_run else 200
            )
        await store(uow, principal, planned)
    written = any(p.action != "unchanged" for p in planned)
    return _answer(dry_run, planned, problems, written, 200)
