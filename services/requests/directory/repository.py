"""SQL of the directory: regions with calendars, departments, people."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.requests.models import Department, Person, Region
from shared.child_lists import SortKey
from shared.db import Connection, StatementParams, plan_with_values
from shared.graphql.compiled.sql import Entity
from shared.search_text import document, matching, query_terms


async def upsert_region(conn: Connection, region: Region) -> None:
    await conn.execute(
        """
        INSERT INTO regions (id, code, name, time_zone, calendar) VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (id) DO UPDATE SET code = EXCLUDED.code, name = EXCLUDED.name,
            time_zone = EXCLUDED.time_zone, calendar = EXCLUDED.calendar
        """,
        region.id,
        region.code,
        region.name,
        region.time_zone,
        region.calendar.model_dump(mode="json"),
    )


async def upsert_department(conn: Connection, department: Department) -> None:
    await conn.execute(
        """
        INSERT INTO departments (id, code, name, region_id, parent_id, head_id)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (id) DO UPDATE SET code = EXCLUDED.code, name = EXCLUDED.name,
            region_id = EXCLUDED.region_id, parent_id = EXCLUDED.parent_id,
            head_id = EXCLUDED.head_id
        """,
        department.id,
        department.code,
        department.name,
        department.region_id,
        department.parent_id,
        department.head_id,
    )


async def upsert_person(conn: Connection, person: Person) -> None:
    text, grams = document(person.name, person.email)
    await conn.execute(
        """
        INSERT INTO people (id, name, email, department_id, region_id, time_zone, roles,
                            dingtalk_id, wecom_id, feishu_id, active, search_text, search_grams)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
        ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, email = EXCLUDED.email,
            department_id = EXCLUDED.department_id, region_id = EXCLUDED.region_id,
            time_zone = EXCLUDED.time_zone, roles = EXCLUDED.roles,
            dingtalk_id = EXCLUDED.dingtalk_id, wecom_id = EXCLUDED.wecom_id,
            feishu_id = EXCLUDED.feishu_id, active = EXCLUDED.active,
            search_text = EXCLUDED.search_text, search_grams = EXCLUDED.search_grams
        """,
        person.id,
        person.name,
        person.email,
        person.department_id,
        person.region_id,
        person.time_zone,
        list(person.roles),
        person.dingtalk_id,
        person.wecom_id,
        person.feishu_id,
        person.active,
        text,
        grams,
    )


def _department(row: Any) -> Department:
    return Department(**dict(row))


def _person(row: Any) -> Person:
    return Person(**{**dict(row), "roles": tuple(row["roles"])})


async def list_regions(conn: Connection) -> list[Region]:
    rows = await conn.fetch("SELECT * FROM regions ORDER BY code")
    return [Region.from_row(r) for r in rows]


async def regions_by_ids(conn: Connection, ids: Sequence[str]) -> dict[str, Region]:
    rows = await conn.fetch("SELECT * FROM regions WHERE id = ANY($1)", list(ids))
    return {r["id"]: Region.from_row(r) for r in rows}


async def list_departments(conn: Connection) -> list[Department]:
    rows = await conn.fetch("SELECT * FROM departments ORDER BY code")
    return [_department(r) for r in rows]


async def departments_by_ids(conn: Connection, ids: Sequence[str]) -> dict[str, Department]:
    rows = await conn.fetch("SELECT * FROM departments WHERE id = ANY($1)", list(ids))
    return {r["id"]: _department(r) for r in rows}


PEOPLE_ORDER = (SortKey("name"), SortKey("id"))
"""``people``: by name, then id (names repeat)."""

_PERSON_COLUMNS = """id, name, email, department_id, region_id, time_zone, roles, dingtalk_id,
    wecom_id, feishu_id, active"""


def _people_conditions(
    params: StatementParams, department_id: str | None, text: str | None
) -> list[str]:
    """The filters of ``people`` that are set: the department (people_department_by_name),
    every word of ``text`` in the name or e-mail (people_search's n-grams, then a substring
    test of each word, as for requests: shared/search_text.py)."""
    conditions = []
    if department_id is not None:
        conditions.append(f"department_id = {params.add(department_id)}")
    terms, grams = query_terms(text or "")
    if terms:
        conditions.append(matching("people", params.add(grams), params.add(terms)))
    return conditions


async def list_people(
    conn: Connection,
    department_id: str | None,
    *,
    text: str | None = None,
    after: tuple[Any, ...] | None,
    limit: int,
) -> list[Person]:
    """People (of one department, matching ``text``, if given) after ``after`` (name, id), in
    that order."""
    params = StatementParams()
    conditions = _people_conditions(params, department_id, text)
    if after is not None:
        name, person_id = after
        conditions.append(f"(name, id) > ({params.add(name)}::text, {params.add(person_id)}::text)")
    where = " AND ".join(conditions) or "TRUE"
    async with plan_with_values(conn):
        rows = await conn.fetch(
            f"SELECT {_PERSON_COLUMNS} FROM people WHERE {where}"
            f" ORDER BY name, id LIMIT {params.add(limit)}",
            *params.values,
        )
    return [_person(r) for r in rows]


async def count_people(conn: Connection, department_id: str | None, text: str | None = None) -> int:
    """How many people :func:`list_people` pages through with the same filters."""
    params = StatementParams()
    where = " AND ".join(_people_conditions(params, department_id, text)) or "TRUE"
    async with plan_with_values(conn):
        found: int = await conn.fetchval(
            f"SELECT count(*) FROM people WHERE {where}", *params.values
        )
    return found


async def people_by_ids(conn: Connection, ids: Sequence[str]) -> dict[str, Person]:
    rows = await conn.fetch(f"SELECT {_PERSON_COLUMNS} FROM people WHERE id = ANY($1)", list(ids))
    return {r["id"]: _person(r) for r in rows}


async def ancestor_ids(conn: Connection, department_id: str) -> list[str]:
    """``department_id`` and every department above it; empty if it does not exist."""
    rows = await conn.fetch(
        """
        WITH RECURSIVE up(id, parent_id, depth) AS (
            SELECT id, parent_id, 0 FROM departments WHERE id = $1
            UNION ALL
            SELECT d.id, d.parent_id, up.depth + 1 FROM departments d
              JOIN up ON d.id = up.parent_id WHERE up.depth < 50
        )
        SELECT id FROM up
        """,
        department_id,
    )
    return [r["id"] for r in rows]


DEPARTMENT_ENTITY = Entity("departments", "d", "d.id = {key}", ())
"""A department by its id for the compiled read path (the directory is open to everyone)."""
PERSON_ENTITY = Entity("people", "p", "p.id = {key}", ())
REGION_ENTITY = Entity("regions", "g", "g.id = {key}", ())
