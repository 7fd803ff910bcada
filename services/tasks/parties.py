"""Who a task concerns, in people and places: RACI entries resolved through the replicas.

A RACI entry may name only a department; alerts then go to its head. The responsible
party's region (the person's, else the department's) decides the calendar reminders count
working time on.
"""

from __future__ import annotations

from collections.abc import Sequence

from services.tasks.models import RaciAssignment, RaciRole
from shared.calendars import AroundTheClock, BusinessHours
from shared.db import Connection
from shared.events.contracts.tasks import RaciEntry
from shared.replicas import (
    department_heads,
    department_regions,
    person_departments,
    region_calendar,
)


def raci_entries(raci: Sequence[RaciAssignment]) -> list[RaciEntry]:
    """The RACI as event data: C entries are consulted, I entries informed."""
    return [
        RaciEntry(role=a.role.value, person_id=a.person_id, department_id=a.department_id)
        for a in raci
    ]


async def known_parties(
    conn: Connection, raci: Sequence[RaciAssignment]
) -> tuple[set[str], set[str]]:
    """The people and the departments named in ``raci`` that the directory copy knows."""
    people = await person_departments(conn, [a.person_id for a in raci if a.person_id])
    departments = await department_regions(conn, [a.department_id for a in raci if a.department_id])
    return set(people), set(departments)


async def people_in_roles(
    conn: Connection, raci: Sequence[RaciAssignment], roles: set[RaciRole]
) -> list[str]:
    """People holding ``roles``; an entry naming only a department counts as its head."""
    chosen = [a for a in raci if a.role in roles]
    heads = await department_heads(
        conn, [a.department_id for a in chosen if a.person_id is None and a.department_id]
    )
    people = [a.person_id or heads.get(a.department_id or "") for a in chosen]
    return list(dict.fromkeys(p for p in people if p))


async def heads_of(conn: Connection, department_ids: Sequence[str]) -> list[str]:
    """The heads of the departments, once each; a department whose head is unknown adds none."""
    heads = await department_heads(conn, department_ids)
    return list(dict.fromkeys(heads[d] for d in department_ids if d in heads))


async def responsible_calendar(
    conn: Connection, raci: Sequence[RaciAssignment]
) -> BusinessHours | AroundTheClock:
    """Business hours of the first R's region; 24x7 while that region is not known here."""
    responsible = next((a for a in raci if a.role is RaciRole.R), None)
    if responsible is None:
        return AroundTheClock()
    region_id: str | None = None
    if responsible.person_id:
        region_id = await conn.fetchval(
            "SELECT region_id FROM person_replicas WHERE id = $1", responsible.person_id
        )
    if region_id is None and responsible.department_id:
        region_id = await conn.fetchval(
            "SELECT region_id FROM department_replicas WHERE id = $1", responsible.department_id
        )
    calendar = await region_calendar(conn, region_id) if region_id else None
    return BusinessHours(calendar) if calendar else AroundTheClock()


async def department_name(conn: Connection, department_id: str) -> str:
    """A department's name from the directory copy (its id until the department is known)."""
    name = await conn.fetchval("SELECT name FROM department_replicas WHERE id = $1", department_id)
    return str(name) if name else department_id


async def person_time_zone(conn: Connection, person_id: str) -> str:
    """A person's IANA zone from the directory copy (UTC until the person is known)."""
    zone = await conn.fetchval("SELECT time_zone FROM person_replicas WHERE id = $1", person_id)
    return str(zone) if zone else "UTC"
