"""Local copies of the requests service's requests, departments and people.

Services that need them (to authorise a change, to route a notification) apply
:data:`REPLICA_MIGRATIONS` and add :data:`REPLICA_HANDLERS` to their consumer. The copies
are eventually consistent: a request created a moment ago may not be known yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from shared.db import Connection
from shared.events.consumer import EventHandler
from shared.events.contracts.requests import DepartmentUpserted, PersonUpserted, RequestCreated
from shared.events.envelope import EventEnvelope
from shared.unit_of_work import UnitOfWork

REPLICA_MIGRATIONS = Path(__file__).parent / "replica_migrations"


@dataclass(frozen=True)
class RequestReplica:
    id: str
    code: str
    title: str
    status: str
    lead_department_id: str
    participant_department_ids: tuple[str, ...]

    @property
    def departments(self) -> tuple[str, ...]:
        """Every department taking part, the lead first."""
        return (self.lead_department_id, *self.participant_department_ids)


async def _on_request(uow: UnitOfWork, event: EventEnvelope) -> None:
    data = RequestCreated.model_validate(event.data)
    await uow.conn.execute(
        """
        INSERT INTO request_replicas
            (id, code, title, status, lead_department_id, participant_department_ids)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (id) DO UPDATE SET code = EXCLUDED.code, title = EXCLUDED.title,
            status = EXCLUDED.status, lead_department_id = EXCLUDED.lead_department_id,
            participant_department_ids = EXCLUDED.participant_department_ids, updated_at = now()
        """,
        data.id,
        data.code,
        data.title,
        data.status,
        data.lead_department_id,
        data.participant_department_ids,
    )


async def _on_department(uow: UnitOfWork, event: EventEnvelope) -> None:
    data = DepartmentUpserted.model_validate(event.data)
    await uow.conn.execute(
        """
        INSERT INTO department_replicas (id, code, name, region_id, head_id)
        VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (id) DO UPDATE SET code = EXCLUDED.code, name = EXCLUDED.name,
            region_id = EXCLUDED.region_id, head_id = EXCLUDED.head_id, updated_at = now()
        """,
        data.id,
        data.code,
        data.name,
        data.region_id,
        data.head_id,
    )


async def _on_person(uow: UnitOfWork, event: EventEnvelope) -> None:
    data = PersonUpserted.model_validate(event.data)
    await uow.conn.execute(
        """
        INSERT INTO person_replicas (id, name, email, department_id, region_id, time_zone)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, email = EXCLUDED.email,
            department_id = EXCLUDED.department_id, region_id = EXCLUDED.region_id,
            time_zone = EXCLUDED.time_zone, updated_at = now()
        """,
        data.id,
        data.name,
        data.email,
        data.department_id,
        data.region_id,
        data.time_zone,
    )


REPLICA_HANDLERS: dict[str, EventHandler] = {
    "requests.request.created": _on_request,
    "requests.department.upserted": _on_department,
    "requests.person.upserted": _on_person,
}


async def get_request(conn: Connection, request_id: str) -> RequestReplica | None:
    """The local copy of a request, or None if this service has not heard of it (yet)."""
    row = await conn.fetchrow(
        "SELECT id, code, title, status, lead_department_id, participant_department_ids"
        " FROM request_replicas WHERE id = $1",
        request_id,
    )
    if row is None:
        return None
    return RequestReplica(**{**dict(row), "participant_department_ids": tuple(row[5])})


async def department_heads(conn: Connection, department_ids: Sequence[str]) -> dict[str, str]:
    """Head person id per department, for the departments that have one."""
    rows = await conn.fetch(
        "SELECT id, head_id FROM department_replicas WHERE id = ANY($1) AND head_id IS NOT NULL",
        list(department_ids),
    )
    return {row["id"]: row["head_id"] for row in rows}
