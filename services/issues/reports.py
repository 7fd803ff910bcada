"""SLA compliance report, computed in one SQL statement.

An issue belongs to the period it was reported in, and to its responsible department (or
that department's region). Met percentages count clocks that have ended (met or breached);
times to acknowledge and to plan are the clocks' elapsed working minutes (pauses excluded),
so a business-hours policy reports business minutes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.issues.models import ReportGrouping, SlaReportRow
from services.issues.repository import VISIBLE
from shared.auth import Principal
from shared.graphql.errors import PublicError
from shared.runtime import ServiceRuntime

MAX_PERIOD_DAYS = 366

_REPORT = f"""
WITH scoped AS (
    SELECT i.id,
           CASE WHEN $5 = 'DEPARTMENT' THEN i.responsible_department_id
                ELSE coalesce(d.region_id, '') END AS key
      FROM issues i
      LEFT JOIN department_replicas d ON d.id = i.responsible_department_id
     WHERE i.created_at >= $3 AND i.created_at < $4 AND {VISIBLE}
), ended AS (
    SELECT s.key, s.id, c.metric, c.state, c.elapsed_minutes
      FROM scoped s JOIN sla_clocks c ON c.issue_id = s.id
)
SELECT s.key,
       count(DISTINCT s.id) AS issue_count,
       100.0 * count(*) FILTER (WHERE e.metric = 'RESPONSE' AND e.state = 'MET')
             / nullif(count(*) FILTER (WHERE e.metric = 'RESPONSE'
                                         AND e.state IN ('MET', 'BREACHED')), 0)
           AS response_met_percent,
       100.0 * count(*) FILTER (WHERE e.metric = 'PLAN' AND e.state = 'MET')
             / nullif(count(*) FILTER (WHERE e.metric = 'PLAN'
                                         AND e.state IN ('MET', 'BREACHED')), 0)
           AS plan_met_percent,
       avg(e.elapsed_minutes) FILTER (WHERE e.metric = 'RESPONSE')
           AS mean_minutes_to_acknowledge,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY e.elapsed_minutes)
           FILTER (WHERE e.metric = 'RESPONSE' AND e.elapsed_minutes IS NOT NULL)
           AS p90_minutes_to_acknowledge,
       avg(e.elapsed_minutes) FILTER (WHERE e.metric = 'PLAN') AS mean_minutes_to_plan,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY e.elapsed_minutes)
           FILTER (WHERE e.metric = 'PLAN' AND e.elapsed_minutes IS NOT NULL)
           AS p90_minutes_to_plan
  FROM scoped s LEFT JOIN ended e ON e.id = s.id
 GROUP BY s.key
 ORDER BY s.key
"""


def _row(record: Any) -> SlaReportRow:
    # percentages are NUMERIC (Decimal), the rest double precision: all become floats.
    figures = {
        k: float(v) if v is not None else None
        for k, v in dict(record).items()
        if k not in ("key", "issue_count")
    }
    return SlaReportRow(key=record["key"], issue_count=record["issue_count"], **figures)


async def sla_report(
    runtime: ServiceRuntime,
    principal: Principal,
    start: datetime,
    end: datetime,
    group_by: ReportGrouping,
) -> list[SlaReportRow]:
    """One row per department (or region) over the issues the caller may see."""
    if end <= start or (end - start).days > MAX_PERIOD_DAYS:
        raise PublicError(f"`to` must follow `from` by at most {MAX_PERIOD_DAYS} days")
    records = await runtime.pool.fetch(
        _REPORT,
        principal.sees_everything,
        list(principal.departments),
        start,
        end,
        group_by.value,
    )
    return [_row(r) for r in records]
