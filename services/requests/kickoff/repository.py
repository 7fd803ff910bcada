"""SQL of communication plans and risks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.requests.kickoff.models import (
    CommunicationPlan,
    Level,
    ReportCadence,
    Risk,
    RiskDraft,
    RiskStatus,
)
from shared.child_lists import ChildList, SortKey
from shared.db import Connection
from shared.ids import new_id

_PLAN = """request_id, meeting_cadence, channels, report_template, report_cadence,
    report_deadline_weekday, report_deadline_time, time_zone, updated_by, updated_at"""
_RISK = "id, request_id, description, likelihood, impact, mitigation, owner_id, status, created_at"


def _plan(row: Any) -> CommunicationPlan:
    return CommunicationPlan(
        **{
            **dict(row),
            "channels": tuple(row["channels"]),
            "report_cadence": ReportCadence(row["report_cadence"]),
        }
    )


def _risk(row: Any) -> Risk:
    return Risk(
        **{
            **dict(row),
            "likelihood": Level(row["likelihood"]),
            "impact": Level(row["impact"]),
            "status": RiskStatus(row["status"]),
        }
    )


async def upsert_plan(conn: Connection, plan: CommunicationPlan) -> CommunicationPlan:
    row = await conn.fetchrow(
        f"""
        INSERT INTO communication_plans ({_PLAN})
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now())
        ON CONFLICT (request_id) DO UPDATE SET meeting_cadence = EXCLUDED.meeting_cadence,
            channels = EXCLUDED.channels, report_template = EXCLUDED.report_template,
            report_cadence = EXCLUDED.report_cadence,
            report_deadline_weekday = EXCLUDED.report_deadline_weekday,
            report_deadline_time = EXCLUDED.report_deadline_time,
            time_zone = EXCLUDED.time_zone, updated_by = EXCLUDED.updated_by, updated_at = now()
        RETURNING {_PLAN}
        """,
        plan.request_id,
        plan.meeting_cadence,
        list(plan.channels),
        plan.report_template,
        plan.report_cadence.value,
        plan.report_deadline_weekday,
        plan.report_deadline_time,
        plan.time_zone,
        plan.updated_by,
    )
    return _plan(row)


async def plans_by_request_ids(
    conn: Connection, ids: Sequence[str]
) -> dict[str, CommunicationPlan]:
    rows = await conn.fetch(
        f"SELECT {_PLAN} FROM communication_plans WHERE request_id = ANY($1)", list(ids)
    )
    return {r["request_id"]: _plan(r) for r in rows}


async def insert_risk(conn: Connection, request_id: str, draft: RiskDraft) -> Risk:
    row = await conn.fetchrow(
        f"""
        INSERT INTO risks (id, request_id, description, likelihood, impact, mitigation, owner_id,
                           status)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {_RISK}
        """,
        new_id(),
        request_id,
        draft.description,
        draft.likelihood.value,
        draft.impact.value,
        draft.mitigation,
        draft.owner_id,
        draft.status.value,
    )
    return _risk(row)


async def update_risk(conn: Connection, risk_id: str, draft: RiskDraft) -> Risk:
    row = await conn.fetchrow(
        f"""
        UPDATE risks SET description = $2, likelihood = $3, impact = $4, mitigation = $5,
               owner_id = $6, status = $7, updated_at = now()
         WHERE id = $1 RETURNING {_RISK}
        """,
        risk_id,
        draft.description,
        draft.likelihood.value,
        draft.impact.value,
        draft.mitigation,
        draft.owner_id,
        draft.status.value,
    )
    return _risk(row)


async def risk_request_id(conn: Connection, risk_id: str) -> str | None:
    found: str | None = await conn.fetchval("SELECT request_id FROM risks WHERE id = $1", risk_id)
    return found


RISKS = ChildList(
    source="risks",
    parent="request_id",
    columns=_RISK,
    order=(SortKey("created_at", sql_type="timestamptz"), SortKey("id")),
    to_model=_risk,
)
"""``CollabRequest.risks``: each request's register, oldest first."""
