"""Putting a test's callers into the directory: tokens only name a caller, the directory says
what they may do (:mod:`shared.authority`), so every :class:`~tests.support.Caller` a test
acts as must be a person (or partner client) there.

Service tests write the caller into the service's own directory source, as its data would
be: the requests service's people (with a department and region to hang them on), the
copies in the other services. A person already there is left as they are, so a test that
builds its own directory (people with their real roles) is what counts; a partner client
takes the caller's scopes, which is how partner tests vary them. End-to-end tests enrol
through the requests service's directory use case and wait for the copies
(:func:`enrol_everywhere`).
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from services.requests.directory.service import save_person
from services.requests.models import Person
from services.requests.partners.models import PartnerClient
from services.requests.partners.service import upsert_partner_client
from shared.auth import Principal, Role
from shared.db import Connection
from shared.runtime import ServiceRuntime
from shared.unit_of_work import unit_of_work

if TYPE_CHECKING:
    from tests.support import Caller, RuntimeCache

HOME_REGION = "tests"
"""Region of the departments enrolment creates in the requests service."""
HOME_DEPARTMENT = "staff"
"""Department of a caller that names none (an ADMIN, a PMO member)."""
PARTNER_OWNER = "partner-owner"
"""The person answerable for the partner clients enrolment registers."""
TIME_ZONE = "Asia/Shanghai"
COPY_TIMEOUT_SECONDS = 20.0


def home_department(caller: Caller) -> str:
    return caller.departments[0] if caller.departments else HOME_DEPARTMENT


def is_partner(caller: Caller) -> bool:
    return "PARTNER" in caller.roles


def person_of(caller: Caller) -> Person:
    return Person(
        id=caller.sub,
        name=caller.sub,
        email=f"{caller.sub}@enrolled.example",
        department_id=home_department(caller),
        region_id=caller.region or HOME_REGION,
        time_zone=TIME_ZONE,
        roles=tuple(caller.roles),
    )


async def enrol(runtime: ServiceRuntime, caller: Caller) -> None:
    """Make ``caller`` known to ``runtime``'s service, unless it knows them already."""
    async with runtime.pool.acquire() as conn, conn.transaction():
        if runtime.service == "requests":
            await _enrol_in_directory(conn, caller)
        else:
            await _enrol_in_copies(conn, caller)
    runtime.directory.forget()


async def _enrol_in_directory(conn: Connection, caller: Caller) -> None:
    await _ensure_home(conn, caller.region or HOME_REGION, home_department(caller))
    if is_partner(caller):
        await _ensure_home(conn, HOME_REGION, HOME_DEPARTMENT)
        await _insert_person(conn, "people", _owner())
        await conn.execute(
            "INSERT INTO partner_clients (id, name, owner_id, scopes) VALUES ($1, $1, $2, $3)"
            " ON CONFLICT (id) DO UPDATE SET scopes = EXCLUDED.scopes",
            caller.sub,
            PARTNER_OWNER,
            list(caller.scopes or ()),
        )
        return
    await _insert_person(conn, "people", person_of(caller))


async def _enrol_in_copies(conn: Connection, caller: Caller) -> None:
    if is_partner(caller):
        await conn.execute(
            "INSERT INTO partner_client_replicas (id, name, owner_id, scopes, enabled)"
            " VALUES ($1, $1, $2, $3, true)"
            " ON CONFLICT (id) DO UPDATE SET scopes = EXCLUDED.scopes",
            caller.sub,
            PARTNER_OWNER,
            list(caller.scopes or ()),
        )
        return
    await _insert_person(conn, "person_replicas", person_of(caller))


def _owner() -> Person:
    return Person(
        PARTNER_OWNER,
        "Partner owner",
        "owner@enrolled.example",
        HOME_DEPARTMENT,
        HOME_REGION,
        TIME_ZONE,
    )


async def _ensure_home(conn: Connection, region_id: str, department_id: str) -> None:
    """The region and department a person of the requests directory needs (foreign keys)."""
    await conn.execute(
        "INSERT INTO regions (id, code, name, time_zone, calendar)"
        " VALUES ($1, upper($1), $1, $2, $3) ON CONFLICT (id) DO NOTHING",
        region_id,
        TIME_ZONE,
        {"time_zone": TIME_ZONE},
    )
    await conn.execute(
        "INSERT INTO departments (id, code, name, region_id) VALUES ($1, upper($1), $1, $2)"
        " ON CONFLICT (id) DO NOTHING",
        department_id,
        region_id,
    )


async def _insert_person(conn: Connection, table: str, person: Person) -> None:
    await conn.execute(
        f"INSERT INTO {table} (id, name, email, department_id, region_id, time_zone, roles)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
        person.id,
        person.name,
        person.email,
        person.department_id,
        person.region_id,
        person.time_zone,
        list(person.roles),
    )


async def enrol_everywhere(runtimes: RuntimeCache, caller: Caller) -> None:
    """Enrol ``caller`` in a running stack through the requests directory's use cases (the
    outbox, the relay, events), then wait until every other service's copy knows them."""
    requests = await runtimes.get("requests")
    if await _lookup(requests, caller.sub) is None:
        async with requests.pool.acquire() as conn:
            await _ensure_home(conn, caller.region or HOME_REGION, home_department(caller))
            await _ensure_home(conn, HOME_REGION, HOME_DEPARTMENT)
        if is_partner(caller):
            await _register_partner(requests, caller)
        else:
            await _save_person(requests, person_of(caller))
    for service in ("tasks", "issues", "notify"):
        await _wait_for_copy(await runtimes.get(service), caller.sub)


async def _save_person(requests: ServiceRuntime, person: Person) -> None:
    async with unit_of_work(requests) as uow:
        await save_person(uow, person)


async def _register_partner(requests: ServiceRuntime, caller: Caller) -> None:
    if await _lookup(requests, PARTNER_OWNER) is None:
        await _save_person(requests, _owner())
    client = PartnerClient(caller.sub, caller.sub, PARTNER_OWNER, tuple(caller.scopes or ()))
    admin = Principal("enrolment", frozenset({Role.ADMIN}), ())
    await upsert_partner_client(requests, admin, client)


async def _lookup(runtime: ServiceRuntime, sub: str) -> object:
    return await runtime.pool.fetchval("SELECT 1 FROM directory_principals WHERE id = $1", sub)


async def _wait_for_copy(runtime: ServiceRuntime, sub: str) -> None:
    deadline = time.monotonic() + COPY_TIMEOUT_SECONDS
    while await _lookup(runtime, sub) is None:
        assert time.monotonic() < deadline, f"{runtime.service} never got a copy of {sub}"
        await asyncio.sleep(0.05)
