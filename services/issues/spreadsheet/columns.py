"""The issue log's columns (handbook template 5, plus SLA state and times) and the SQL that
reads its rows; one definition for the download and for matching an upload against it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.issues.models import SlaClockState
from services.issues.repository import ListFilter, list_conditions
from shared.auth import Principal
from shared.db import Connection, StatementParams, plan_with_values
from shared.spreadsheets import Language, Value


class Kind(Enum):
    TEXT = "text"
    OPTIONAL = "optional"  # an id that may be empty
    FLAG = "flag"
    TIME = "time"
    SLA = "sla"  # computed by the service: written out, never read back


@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    en: str
    kind: Kind = Kind.TEXT

    def label(self, lang: Language, zone: str) -> str:
        """The header; a time says the zone its cells are written in."""
        name = self.zh if lang == "zh" else self.en
        return f"{name} ({zone})" if self.kind is Kind.TIME or self.key.endswith("_at") else name


COLUMNS: tuple[Column, ...] = (
    Column("code", "问题编号", "Code"),
    Column("request_id", "协作需求", "Request"),
    Column("title", "问题标题", "Title"),
    Column("description", "问题描述", "Description"),
    Column("impact", "影响范围", "Impact"),
    Column("attempted_measures", "已尝试的解决措施", "Attempted measures"),
    Column("severity", "严重程度", "Severity"),
    Column("urgent", "紧急(绿色通道)", "Urgent (green channel)", Kind.FLAG),
    Column("status", "状态", "Status"),
    Column("reporting_department_id", "问题发觉方", "Reporting department", Kind.OPTIONAL),
    Column("lead_department_id", "主导部门", "Lead department"),
    Column("responsible_department_id", "责任部门", "Responsible department"),
    Column("owner_id", "责任人", "Owner", Kind.OPTIONAL),
    Column("plan", "解决方案", "Plan"),
    Column("resolution", "处理结果", "Resolution"),
    Column("reported_at", "上报时间", "Reported at", Kind.TIME),
    Column("acknowledged_at", "响应时间", "Acknowledged at", Kind.TIME),
    Column("planned_at", "方案输出时间", "Plan proposed at", Kind.TIME),
    Column("resolved_at", "闭环时间", "Resolved at", Kind.TIME),
    Column("response_state", "响应时限状态", "Response SLA", Kind.SLA),
    Column("response_due_at", "响应截止时间", "Response due at", Kind.SLA),
    Column("response_done_at", "响应达成或超时时间", "Response met or breached at", Kind.SLA),
    Column("plan_state", "方案时限状态", "Plan SLA", Kind.SLA),
    Column("plan_due_at", "方案截止时间", "Plan due at", Kind.SLA),
    Column("plan_done_at", "方案达成或超时时间", "Plan met or breached at", Kind.SLA),
)

SLA_STATES: dict[Language, dict[str, str]] = {
    "zh": {"MET": "已达成", "BREACHED": "已超时", "RUNNING": "计时中", "PAUSED": "已暂停"},
    "en": {"MET": "met", "BREACHED": "breached", "RUNNING": "running", "PAUSED": "paused"},
}
FLAGS: dict[Language, tuple[str, str]] = {"zh": ("是", "否"), "en": ("yes", "no")}
TRUE_WORDS = frozenset({"是", "yes", "y", "true", "1", "x", "√"})
FALSE_WORDS = frozenset({"否", "no", "n", "false", "0", ""})

_BY_LABEL = {name.casefold(): c for c in COLUMNS for name in (c.zh, c.en)}
_ZONE_SUFFIX = re.compile(r"^(.*?)\s*\(([^()]+)\)\s*$")


def header(lang: Language, zone: str) -> list[str]:
    return [c.label(lang, zone) for c in COLUMNS]


def parse_header(labels: Sequence[str]) -> tuple[dict[int, Column], ZoneInfo | None, list[str]]:
    """Which column each position holds, the zone the time headers name, and the labels
    not understood."""
    found: dict[int, Column] = {}
    zone: ZoneInfo | None = None
    unknown: list[str] = []
    for position, label in enumerate(labels):
        name, named_zone = label, None
        if match := _ZONE_SUFFIX.match(label):
            name, named_zone = match.group(1), match.group(2)
        column = _BY_LABEL.get(name.strip().casefold())
        if column is None:
            if label:
                unknown.append(label)
            continue
        found[position] = column
        if column.kind is Kind.TIME and named_zone and zone is None:
            zone = zone_named(named_zone)
    return found, zone, unknown


def zone_named(name: str | None) -> ZoneInfo | None:
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def to_second(moment: datetime) -> datetime:
    """Rounded to the second: a spreadsheet's time is a float, finer parts do not survive."""
    return (moment + timedelta(microseconds=500_000)).replace(microsecond=0)


# --- reading the log ------------------------------------------------------------------------

_STEP = "(SELECT {fn}(t.at) FROM issue_timeline t WHERE t.issue_id = i.id AND t.action = '{a}')"
_DONE = "CASE {c}.state WHEN 'MET' THEN {c}.met_at WHEN 'BREACHED' THEN {c}.breached_at END"

ROW_SQL = f"""
SELECT i.id, i.code, i.request_id, i.title, i.description, i.impact, i.attempted_measures,
       i.severity, i.urgent, i.status, i.reporting_department_id, i.lead_department_id,
       i.responsible_department_id, i.owner_id, i.plan, i.resolution, i.reporter_id,
       i.created_at AS reported_at,
       {_STEP.format(fn="min", a="ACKNOWLEDGED")} AS acknowledged_at,
       {_STEP.format(fn="max", a="PLAN_PROPOSED")} AS planned_at,
       {_STEP.format(fn="max", a="RESOLVED")} AS resolved_at,
       rc.state AS response_state, rc.due_at AS response_due_at,
       {_DONE.format(c="rc")} AS response_done_at,
       pc.state AS plan_state, pc.due_at AS plan_due_at, {_DONE.format(c="pc")} AS plan_done_at
  FROM issues i
  LEFT JOIN sla_clocks rc ON rc.issue_id = i.id AND rc.metric = 'RESPONSE'
  LEFT JOIN sla_clocks pc ON pc.issue_id = i.id AND pc.metric = 'PLAN'
 WHERE {{where}}
 ORDER BY i.id DESC
"""

BATCH = 500
"""Rows fetched from the cursor per round trip: memory stays at one batch."""


async def log_records(
    conn: Connection, principal: Principal, chosen: ListFilter, codes: Sequence[str] | None = None
) -> AsyncIterator[Any]:
    """The issues the ``issues`` list shows ``principal`` for ``chosen`` (the same
    conditions as its count), newest first, read by a cursor ``BATCH`` rows at a time; only
    those of ``codes`` if given."""
    params = StatementParams()
    conditions = list_conditions(params, principal, chosen)
    if codes is not None:
        conditions.append(f"i.code = ANY({params.add(list(codes))}::text[])")
    sql = ROW_SQL.format(where=" AND ".join(conditions) or "TRUE")
    async with conn.transaction(), plan_with_values(conn):
        async for record in conn.cursor(sql, *params.values, prefetch=BATCH):
            yield record


def canonical(record: Any) -> dict[str, Any]:
    """A stored issue as comparable values: text, flags, aware times to the second."""
    values: dict[str, Any] = {}
    for column in COLUMNS:
        value = record[column.key]
        if isinstance(value, datetime):
            value = to_second(value)
        elif column.kind in (Kind.TEXT,) and value is None:
            value = ""
        values[column.key] = value
    return values


def cells(record: Any, lang: Language, zone: ZoneInfo) -> list[Value]:
    """One row of the download: times in ``zone`` (written without it: the header says it)."""
    row: list[Value] = []
    for column in COLUMNS:
        value = record[column.key]
        if isinstance(value, datetime):
            value = to_second(value).astimezone(zone).replace(tzinfo=None)
        elif column.key.endswith("_state") and value is not None:
            value = SLA_STATES[lang][SlaClockState(value).value]
        elif column.kind is Kind.FLAG:
            value = FLAGS[lang][0 if value else 1]
        row.append(value)
    return row


async def caller_zone(conn: Connection, principal: Principal) -> tuple[ZoneInfo, str]:
    """The caller's region's time zone if our directory copy knows it, else UTC."""
    name = None
    if principal.region:
        name = await conn.fetchval(
            "SELECT time_zone FROM region_replicas WHERE id = $1", principal.region
        )
    zone = zone_named(name)
    return (zone, name) if zone and name else (ZoneInfo("UTC"), "UTC")
