"""Local copies of the requests service's requests, departments, people and partner clients.

Services that need them (to authorise a change, to route a notification) apply
:data:`REPLICA_MIGRATIONS` and add :data:`REPLICA_HANDLERS` to their consumer. The copies
are eventually consistent: a request created a moment ago may not be known yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from shared.calendars import WorkCalendar
from shared.db import Connection, Pool
from shared.events.consumer import EventHandler
from shared.events.contracts.requests import (
    DepartmentUpserted,
    PartnerClientUpserted,
    PersonUpserted,
    RegionUpserted,
    RequestCreated,
)
from shared.events.envelope import EventEnvelope
from shared.runtime import ServiceRuntime
from shared.unit_of_work import UnitOfWork

REPLICA_MIGRATIONS = Path(__file__).parent / "replica_migrations"
"""Apply with the service's own migrations: ``[REPLICA_MIGRATIONS, own]``."""

# Each copy's updated_at is the time of the event it was last taken from, so a redelivered
# or reordered older event changes nothing (rows from before this rule hold the time they
# were received, never earlier than their event's time).


@dataclass(frozen=True)
class RequestReplica:
    id: str
    code: str
    title: str
    status: str
    lead_department_id: str
    participant_department_ids: tuple[str, ...]
    phase: str = "PREPARATION"
    approver_id: str | None = None

    @property
    def departments(self) -> tuple[str, ...]:
        """Every department taking part, the lead first."""
        return (self.lead_department_id, *self.participant_department_ids)


async def _on_request(uow: UnitOfWork, event: EventEnvelope) -> None:
    """Created and updated events both carry the whole state; an older event never wins."""
    data = RequestCreated.model_validate(event.data)
    await uow.conn.execute(
        """
        INSERT INTO request_replicas (id, code, title, status, lead_department_id,
            participant_department_ids, phase, approver_id, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
        ON CONFLICT (id) DO UPDATE SET code = EXCLUDED.code, title = EXCLUDED.title,
            status = EXCLUDED.status, lead_department_id = EXCLUDED.lead_department_id,
            participant_department_ids = EXCLUDED.participant_department_ids,
            phase = EXCLUDED.phase, approver_id = EXCLUDED.approver_id,
            updated_at = EXCLUDED.updated_at
        WHERE request_replicas.updated_at <= EXCLUDED.updated_at
        """,
        data.id,
        data.code,
        data.title,
        data.status,
        data.lead_department_id,
        data.participant_department_ids,
        data.phase,
        data.approver_id,
        event.time,
    )


async def _on_region(uow: UnitOfWork, event: EventEnvelope) -> None:
    """Directory events carry the whole record too, and an older one never wins either."""
    data = RegionUpserted.model_validate(event.data)
    await uow.conn.execute(
        """
        INSERT INTO region_replicas (id, code, name, time_zone, calendar, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (id) DO UPDATE SET code = EXCLUDED.code, name = EXCLUDED.name,
            time_zone = EXCLUDED.time_zone, calendar = EXCLUDED.calendar,
            updated_at = EXCLUDED.updated_at
        WHERE region_replicas.updated_at <= EXCLUDED.updated_at
        """,
        data.id,
        data.code,
        data.name,
        data.time_zone,
        data.calendar,
        event.time,
    )


async def _on_department(uow: UnitOfWork, event: EventEnvelope) -> None:
    data = DepartmentUpserted.model_validate(event.data)
    await uow.conn.execute(
        """
        INSERT INTO department_replicas (id, code, name, region_id, head_id, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (id) DO UPDATE SET code = EXCLUDED.code, name = EXCLUDED.name,
            region_id = EXCLUDED.region_id, head_id = EXCLUDED.head_id,
            updated_at = EXCLUDED.updated_at
        WHERE department_replicas.updated_at <= EXCLUDED.updated_at
        """,
        data.id,
        data.code,
        data.name,
        data.region_id,
        data.head_id,
        event.time,
    )


async def _on_person(uow: UnitOfWork, event: EventEnvelope) -> None:
    data = PersonUpserted.model_validate(event.data)
    await uow.conn.execute(
        """
        INSERT INTO person_replicas (id, name, email, department_id, region_id, time_zone, roles,
            active, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
        ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, email = EXCLUDED.email,
            department_id = EXCLUDED.department_id, region_id = EXCLUDED.region_id,
            time_zone = EXCLUDED.time_zone, roles = EXCLUDED.roles, active = EXCLUDED.active,
            updated_at = EXCLUDED.updated_at
        WHERE person_replicas.updated_at <= EXCLUDED.updated_at
        """,
        data.id,
        data.name,
        data.email,
        data.department_id,
        data.region_id,
        data.time_zone,
        data.roles,
        data.active,
        event.time,
    )


async def _on_partner_client(uow: UnitOfWork, event: EventEnvelope) -> None:
    data = PartnerClientUpserted.model_validate(event.data)
    await uow.conn.execute(
        """
        INSERT INTO partner_client_replicas (id, name, owner_id, scopes, enabled, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, owner_id = EXCLUDED.owner_id,
            scopes = EXCLUDED.scopes, enabled = EXCLUDED.enabled, updated_at = EXCLUDED.updated_at
        WHERE partner_client_replicas.updated_at <= EXCLUDED.updated_at
        """,
        data.id,
        data.name,
        data.owner_id,
        data.scopes,
        data.enabled,
        event.time,
    )


REPLICA_HANDLERS: dict[str, EventHandler] = {
    "requests.request.created": _on_request,
    "requests.request.updated": _on_request,
    "requests.region.upserted": _on_region,
    "requests.department.upserted": _on_department,
    "requests.person.upserted": _on_person,
    "requests.partner_client.upserted": _on_partner_client,
}


async def get_request(conn: Connection, request_id: str) -> RequestReplica | None:
    """The local copy of a request, or None if this service has not heard of it (yet)."""
    found = await get_requests(conn, [request_id])
    return found.get(request_id)


async def get_requests(conn: Connection, request_ids: Sequence[str]) -> dict[str, RequestReplica]:
    """Local copies of several requests (for DataLoaders), by id; unknown ids are absent."""
    rows = await conn.fetch(
        "SELECT id, code, title, status, lead_department_id, participant_department_ids,"
        " phase, approver_id FROM request_replicas WHERE id = ANY($1)",
        list(request_ids),
    )
    return {
        row["id"]: RequestReplica(
            **{**dict(row), "participant_department_ids": tuple(row["participant_department_ids"])}
        )
        for row in rows
    }


async def region_calendar(conn: Connection, region_id: str) -> WorkCalendar | None:
    """The work calendar of a region, if its event has arrived."""
    calendar = await conn.fetchval("SELECT calendar FROM region_replicas WHERE id = $1", region_id)
    return WorkCalendar.model_validate(calendar) if calendar is not None else None


async def department_heads(
    conn: Connection | Pool, department_ids: Sequence[str]
) -> dict[str, str]:
    """Head person id per department, for the departments that have one."""
    rows = await conn.fetch(
        "SELECT id, head_id FROM department_replicas WHERE id = ANY($1) AND head_id IS NOT NULL",
        list(department_ids),
    )
    return {row["id"]: row["head_id"] for row in rows}


async def department_regions(
    conn: Connection | Pool, department_ids: Sequence[str]
) -> dict[str, str]:
    """Region of each department the copy knows."""
    rows = await conn.fetch(
        "SELECT id, region_id FROM department_replicas WHERE id = ANY($1)", list(department_ids)
    )
    return {row["id"]: row["region_id"] for row in rows}


async def person_departments(conn: Connection | Pool, person_ids: Sequence[str]) -> dict[str, str]:
    """Home department of each person the copy knows."""
    rows = await conn.fetch(
        "SELECT id, department_id FROM person_replicas WHERE id = ANY($1)", list(person_ids)
    )
    return {row["id"]: row["department_id"] for row in rows}


async def load_requests(runtime: ServiceRuntime, ids: Sequence[str]) -> list[RequestReplica | None]:
    """DataLoader batch function over the local request copies."""
    async with runtime.pool.acquire() as conn:
        found = await get_requests(conn, ids)
    return [found.get(i) for i in ids]
