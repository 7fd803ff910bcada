"""An uploaded issue log's rows as plain values, with a :class:`Problem` for each cell that
cannot be one (a status not of the enum, a date that does not parse, ...)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from services.issues.models import IssueStatus, Severity
from services.issues.service import MAX_TITLE_LENGTH
from services.issues.spreadsheet.columns import FALSE_WORDS, TRUE_WORDS, Column, Kind, to_second
from shared.spreadsheets import Problem, Row

REQUIRED = ("code", "request_id", "title", "severity", "status", "reported_at")
_ENUMS: dict[str, type[IssueStatus] | type[Severity]] = {
    "status": IssueStatus,
    "severity": Severity,
}


@dataclass(frozen=True)
class ParsedRow:
    """One row of the upload: the values of the columns it has, by column key (an empty
    id or time is None: "not given")."""

    number: int
    values: dict[str, Any]
    labels: dict[str, str]

    @property
    def code(self) -> str:
        return str(self.values.get("code") or "")


class _Cells:
    """Collects the problems of one row while its cells are read."""

    def __init__(self, row: Row, zone: ZoneInfo, problems: list[Problem]) -> None:
        self.row, self.zone, self.problems = row, zone, problems

    def problem(self, label: str, message: str) -> None:
        self.problems.append(Problem(self.row.number, label, message))

    def read(self, column: Column, label: str, raw: Any) -> Any:
        text = "" if raw is None else str(raw).strip()
        if column.kind is Kind.TIME:
            return self._time(label, raw, text)
        if column.kind is Kind.FLAG:
            return self._flag(label, raw, text)
        if column.key in _ENUMS:
            enum = _ENUMS[column.key]
            if text.upper() not in enum.__members__:
                self.problem(label, f"{text!r} is not one of {', '.join(enum.__members__)}")
            return text.upper()
        if column.kind is Kind.OPTIONAL or column.key.endswith("department_id"):
            return text or None
        return text

    def _time(self, label: str, raw: Any, text: str) -> datetime | None:
        if isinstance(raw, datetime):
            moment = raw
        elif isinstance(raw, date):
            moment = datetime(raw.year, raw.month, raw.day)
        elif not text:
            return None
        else:
            try:
                moment = datetime.fromisoformat(text)
            except ValueError:
                self.problem(label, f"{text!r} is not a date and time (2026-03-01 09:30)")
                return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self.zone)
        return to_second(moment)

    def _flag(self, label: str, raw: Any, text: str) -> bool:
        if isinstance(raw, bool):
            return raw
        if text.casefold() in TRUE_WORDS:
            return True
        if text.casefold() not in FALSE_WORDS:
            self.problem(label, f"{text!r} is neither yes (是) nor no (否)")
        return False


def _check_row(cells: _Cells, parsed: ParsedRow) -> None:
    values, labels = parsed.values, parsed.labels
    for key in REQUIRED:
        if key in values and values[key] in ("", None):
            cells.problem(labels[key], "this column must be filled")
    if len(values.get("title") or "") > MAX_TITLE_LENGTH:
        cells.problem(labels["title"], f"a title has at most {MAX_TITLE_LENGTH} characters")
    reported, acknowledged = values.get("reported_at"), values.get("acknowledged_at")
    if reported and acknowledged and acknowledged < reported:
        cells.problem(labels["acknowledged_at"], "acknowledged before the issue was reported")
    planned = values.get("planned_at")
    if planned and (acknowledged or reported) and planned < (acknowledged or reported):
        cells.problem(labels["planned_at"], "a plan proposed before the issue was acknowledged")


_STEP_TIMES = (
    (IssueStatus.ACKNOWLEDGED, "acknowledged_at"),
    (IssueStatus.PLAN_PROPOSED, "planned_at"),
)


def step_time_problems(parsed: ParsedRow) -> list[Problem]:
    """A new issue past a step says when it happened: its SLA clock stopped then."""
    status = str(parsed.values.get("status"))
    if status not in IssueStatus.__members__:
        return []
    order, reached = list(IssueStatus), IssueStatus(status)
    problems = []
    for step, key in _STEP_TIMES:
        passed = order.index(reached) >= order.index(step) and reached is not IssueStatus.WAITING
        if passed and key in parsed.values and parsed.values[key] is None:
            message = f"a {reached.value} issue needs this time"
            problems.append(Problem(parsed.number, parsed.labels[key], message))
    return problems


def parse_rows(
    rows: list[Row], columns: dict[int, Column], labels: list[str], zone: ZoneInfo
) -> tuple[list[ParsedRow], list[Problem]]:
    """Every row read (the computed SLA columns are left out), and every cell's problem."""
    problems: list[Problem] = []
    parsed_rows = []
    for row in rows:
        cells = _Cells(row, zone, problems)
        values, names = {}, {}
        for position, column in columns.items():
            if column.kind is Kind.SLA:
                continue
            names[column.key] = labels[position]
            values[column.key] = cells.read(column, labels[position], row.values[position])
        parsed = ParsedRow(row.number, values, names)
        _check_row(cells, parsed)
        parsed_rows.append(parsed)
    _check_codes(parsed_rows, problems)
    return parsed_rows, problems


def _check_codes(rows: list[ParsedRow], problems: list[Problem]) -> None:
    """A code names one issue: two rows with the same code would each change it."""
    seen: dict[str, int] = {}
    for row in rows:
        if row.code and row.code in seen:
            problems.append(
                Problem(
                    row.number, row.labels["code"], f"{row.code} is on row {seen[row.code]} too"
                )
            )
        seen.setdefault(row.code, row.number)
