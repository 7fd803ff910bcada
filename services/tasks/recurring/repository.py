"""SQL of recurring operations."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.tasks.models import Task
from services.tasks.repository import TASK_COLUMNS, task_from_row
from shared.child_lists import ChildList, SortKey
from shared.db import Connection
from shared.ids import new_id


@dataclass(frozen=True)
class RegionShare:
    """The departments that do one region's instance."""

    region_id: str
    department_ids: tuple[str, ...]


@dataclass(frozen=True)
class RecurringTask:
    id: str
    request_id: str
    title: str
    description: str
    rrule: str
    region_id: str
    dtstart: datetime
    accountable_id: str
    consolidation_title: str
    consolidation_department_id: str
    consolidation_business_days: int
    regions: tuple[RegionShare, ...]
    created_by: str
    created_at: datetime


_COLUMNS = """id, request_id, title, description, rrule, region_id, dtstart, accountable_id,
    consolidation_title, consolidation_department_id, consolidation_business_days, regions,
    created_by, created_at"""


def _recurring(row: Any) -> RecurringTask:
    regions = tuple(RegionShare(r["region_id"], tuple(r["department_ids"])) for r in row["regions"])
    return RecurringTask(**{**dict(row), "regions": regions})


async def insert_recurring(conn: Connection, values: dict[str, Any]) -> RecurringTask:
    regions = [
        {"region_id": r.region_id, "department_ids": list(r.department_ids)}
        for r in values["regions"]
    ]
    row = await conn.fetchrow(
        f"""
        INSERT INTO recurring_tasks (id, request_id, title, description, rrule, region_id,
            dtstart, accountable_id, consolidation_title, consolidation_department_id,
            consolidation_business_days, regions, created_by)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
        RETURNING {_COLUMNS}
        """,
        new_id(),
        values["request_id"],
        values["title"],
        values["description"],
        values["rrule"],
        values["region_id"],
        values["dtstart"],
        values["accountable_id"],
        values["consolidation_title"],
        values["consolidation_department_id"],
        values["consolidation_business_days"],
        regions,
        values["created_by"],
    )
    return _recurring(row)


async def recurring_by_ids(conn: Connection, ids: Sequence[str]) -> dict[str, RecurringTask]:
    rows = await conn.fetch(f"SELECT {_COLUMNS} FROM recurring_tasks WHERE id = ANY($1)", list(ids))
    return {r["id"]: _recurring(r) for r in rows}


async def recurring_by_request_ids(
    conn: Connection, ids: Sequence[str]
) -> dict[str, list[RecurringTask]]:
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM recurring_tasks WHERE request_id = ANY($1)"
        " ORDER BY request_id, id",
        list(ids),
    )
    result: dict[str, list[RecurringTask]] = {}
    for row in rows:
        result.setdefault(row["request_id"], []).append(_recurring(row))
    return result


SERIES_OF_REQUESTS = ChildList(
    source="recurring_tasks",
    parent="request_id",
    columns=_COLUMNS,
    order=(SortKey("id"),),
    to_model=_recurring,
)
"""``CollabRequest.recurringTasks``: each request's series in creation order."""

# The compiled path reads a series' regions from its row ({row}), in their order.
REGIONS_OF_SERIES = """(SELECT series_share.value ->> 'region_id' AS region_id,
        series_share.value -> 'department_ids' AS department_ids, series_share.position
   FROM jsonb_array_elements({row}.regions) WITH ORDINALITY AS series_share (value, position))"""
"""SQL (a derived table) of ``RecurringTask.regions``."""

DEPARTMENTS_OF_SHARE = """(SELECT series_department.value AS id, series_department.position
   FROM jsonb_array_elements_text({row}.department_ids)
        WITH ORDINALITY AS series_department (value, position))"""
"""SQL (a derived table) of ``RecurringRegion.departments``, from a row of
:data:`REGIONS_OF_SERIES`."""

# An instance whose due time was cleared by hand sorts after every dated one.
_DUE = "COALESCE(due_at, '9999-12-31 00:00:00+00'::timestamptz)"


def _instance(row: Any) -> Task:
    return task_from_row({k: v for k, v in dict(row).items() if k != "page_due"})


INSTANCES_OF_SERIES = ChildList(
    source="tasks",
    parent="recurring_task_id",
    columns=f"{TASK_COLUMNS}, {_DUE} AS page_due",
    order=(SortKey(_DUE, name="page_due", sql_type="timestamptz"), SortKey("id")),
    to_model=_instance,
)
"""``RecurringTask.instances``: each series' tasks by due time."""


async def task_id_by_source_ref(conn: Connection, source_ref: str) -> str | None:
    value = await conn.fetchval(
        "SELECT id FROM tasks WHERE source = 'RECURRING' AND source_ref = $1", source_ref
    )
    return str(value) if value is not None else None


async def region_names(conn: Connection, ids: Sequence[str]) -> dict[str, str]:
    rows = await conn.fetch("SELECT id, name FROM region_replicas WHERE id = ANY($1)", list(ids))
    return {r["id"]: r["name"] for r in rows}
