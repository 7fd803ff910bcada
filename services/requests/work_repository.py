"""SQL of the requests service's work items: the state each kind of record's items follow from.

One statement per kind of record, for a whole batch of ids, read in the transaction of the
change (so after it). Every lookup goes by primary key (``goals``, ``secondment_approvals``
and ``meeting_minutes`` are keyed by their parent first), so no index is added for these.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from services.requests.meetings.models import MeetingStatus
from services.requests.models import RequestKind, RequestStatus
from services.requests.secondments.models import SecondmentStatus
from shared.db import Connection


@dataclass(frozen=True)
class RequestWork:
    """What a request's items depend on."""

    id: str
    code: str
    title: str
    kind: RequestKind
    status: RequestStatus
    approver_id: str | None
    results_recorded: bool
    """Every goal has its actual value (the sign-off's precondition)."""


@dataclass(frozen=True)
class SecondmentWork:
    """What a secondment's items depend on."""

    id: str
    status: SecondmentStatus
    request_id: str | None
    request_code: str | None
    person_name: str
    from_department_id: str
    from_department_code: str
    to_department_id: str
    to_department_code: str
    decided_department_ids: tuple[str, ...]
    """The departments whose head has decided already."""


@dataclass(frozen=True)
class MeetingWork:
    """What a meeting's items depend on."""

    id: str
    request_id: str
    request_code: str
    lead_department_id: str
    title: str
    status: MeetingStatus
    ends_at: datetime
    minutes_due_at: datetime
    minutes_published: bool


async def requests_work(conn: Connection, ids: Sequence[str]) -> dict[str, RequestWork]:
    rows = await conn.fetch(
        """
        SELECT r.id, r.code, r.title, r.kind, r.status, r.approver_id,
               NOT EXISTS (SELECT 1 FROM goals g
                            WHERE g.request_id = r.id AND g.actual IS NULL) AS results_recorded
          FROM collab_requests r
         WHERE r.id = ANY($1)
        """,
        list(ids),
    )
    return {
        r["id"]: RequestWork(
            **{
                **dict(r),
                "kind": RequestKind(r["kind"]),
                "status": RequestStatus(r["status"]),
            }
        )
        for r in rows
    }


async def secondments_work(conn: Connection, ids: Sequence[str]) -> dict[str, SecondmentWork]:
    rows = await conn.fetch(
        """
        SELECT s.id, s.status, s.request_id, r.code AS request_code, p.name AS person_name,
               s.from_department_id, f.code AS from_department_code,
               s.to_department_id, t.code AS to_department_code,
               ARRAY(SELECT a.department_id FROM secondment_approvals a
                      WHERE a.secondment_id = s.id) AS decided_department_ids
          FROM secondments s
          JOIN people p ON p.id = s.person_id
          JOIN departments f ON f.id = s.from_department_id
          JOIN departments t ON t.id = s.to_department_id
          LEFT JOIN collab_requests r ON r.id = s.request_id
         WHERE s.id = ANY($1)
        """,
        list(ids),
    )
    return {
        r["id"]: SecondmentWork(
            **{
                **dict(r),
                "status": SecondmentStatus(r["status"]),
                "decided_department_ids": tuple(r["decided_department_ids"]),
            }
        )
        for r in rows
    }


async def meetings_work(conn: Connection, ids: Sequence[str]) -> dict[str, MeetingWork]:
    rows = await conn.fetch(
        """
        SELECT m.id, m.request_id, r.code AS request_code, r.lead_department_id, m.title,
               m.status, m.ends_at, m.minutes_due_at,
               EXISTS (SELECT 1 FROM meeting_minutes mm
                        WHERE mm.meeting_id = m.id) AS minutes_published
          FROM meetings m
          JOIN collab_requests r ON r.id = m.request_id
         WHERE m.id = ANY($1)
        """,
        list(ids),
    )
    return {r["id"]: MeetingWork(**{**dict(r), "status": MeetingStatus(r["status"])}) for r in rows}
