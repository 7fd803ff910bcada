"""SQL of secondments and their approvals."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.requests.secondments.models import (
    Approval,
    NewSecondment,
    Secondment,
    SecondmentDecision,
    SecondmentStatus,
)
from shared.db import Connection
from shared.ids import new_id

_COLUMNS = """s.id, s.request_id, s.person_id, s.from_department_id, s.to_department_id,
    s.starts_on, s.ends_on, s.duties, s.evaluation_criteria, s.support, s.status, s.requested_by,
    s.created_at"""


def _secondment(row: Any) -> Secondment:
    return Secondment(
        **{
            **dict(row),
            "duties": tuple(row["duties"]),
            "evaluation_criteria": tuple(row["evaluation_criteria"]),
            "support": tuple(row["support"]),
            "status": SecondmentStatus(row["status"]),
        }
    )


async def insert(conn: Connection, command: NewSecondment, requested_by: str) -> Secondment:
    row = await conn.fetchrow(
        f"""
        INSERT INTO secondments AS s (id, request_id, person_id, from_department_id,
            to_department_id, starts_on, ends_on, duties, evaluation_criteria, support,
            requested_by)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING {_COLUMNS}
        """,
        new_id(),
        command.request_id,
        command.person_id,
        command.from_department_id,
        command.to_department_id,
        command.starts_on,
        command.ends_on,
        list(command.duties),
        list(command.evaluation_criteria),
        list(command.support),
        requested_by,
    )
    return _secondment(row)


async def lock(conn: Connection, secondment_id: str) -> Secondment | None:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM secondments s WHERE s.id = $1 FOR UPDATE", secondment_id
    )
    return _secondment(row) if row else None


async def set_status(conn: Connection, secondment_id: str, status: SecondmentStatus) -> Secondment:
    row = await conn.fetchrow(
        f"""
        UPDATE secondments AS s SET status = $2, updated_at = now() WHERE s.id = $1
        RETURNING {_COLUMNS}
        """,
        secondment_id,
        status.value,
    )
    return _secondment(row)


async def insert_approval(
    conn: Connection,
    secondment_id: str,
    department_id: str,
    approver_id: str,
    decision: SecondmentDecision,
    comment: str,
) -> None:
    await conn.execute(
        "INSERT INTO secondment_approvals (secondment_id, department_id, approver_id, decision,"
        " comment) VALUES ($1, $2, $3, $4, $5)",
        secondment_id,
        department_id,
        approver_id,
        decision.value,
        comment,
    )


async def approvals_by_ids(conn: Connection, ids: Sequence[str]) -> dict[str, list[Approval]]:
    rows = await conn.fetch(
        "SELECT secondment_id, department_id, approver_id, decision, comment, decided_at"
        " FROM secondment_approvals WHERE secondment_id = ANY($1)"
        " ORDER BY secondment_id, decided_at",
        list(ids),
    )
    result: dict[str, list[Approval]] = {}
    for row in rows:
        approval = Approval(**{**dict(row), "decision": SecondmentDecision(row["decision"])})
        result.setdefault(row["secondment_id"], []).append(approval)
    return result


async def by_ids(conn: Connection, ids: Sequence[str]) -> dict[str, Secondment]:
    rows = await conn.fetch(f"SELECT {_COLUMNS} FROM secondments s WHERE s.id = ANY($1)", list(ids))
    return {r["id"]: _secondment(r) for r in rows}


_VISIBLE = """($1 OR s.person_id = $2 OR s.from_department_id = ANY($3)
                OR s.to_department_id = ANY($3))"""
"""Secondments the caller ($2, departments $3) may see; $1: PMO/ADMIN see all."""


async def list_visible(
    conn: Connection,
    *,
    sees_all: bool,
    person_id: str,
    departments: Sequence[str],
    after_id: str | None,
    limit: int,
) -> list[Secondment]:
    """Secondments of the caller's departments (either side), their own, or all for PMO."""
    rows = await conn.fetch(
        f"""
        SELECT {_COLUMNS} FROM secondments s
         WHERE {_VISIBLE}
           AND ($4::text IS NULL OR s.id < $4)
         ORDER BY s.id DESC LIMIT $5
        """,
        sees_all,
        person_id,
        list(departments),
        after_id,
        limit,
    )
    return [_secondment(r) for r in rows]


async def count_visible(
    conn: Connection, *, sees_all: bool, person_id: str, departments: Sequence[str]
) -> int:
    """How many secondments :func:`list_visible` pages through for the same caller."""
    count: int = await conn.fetchval(
        f"SELECT count(*) FROM secondments s WHERE {_VISIBLE}",
        sees_all,
        person_id,
        list(departments),
    )
    return count
