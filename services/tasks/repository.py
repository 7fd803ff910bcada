"""SQL of tasks, their RACI and dependencies. Functions take a connection and return models.

Progress reports and recurring operations keep their SQL in their own subpackages.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from services.tasks.models import (
    NewTask,
    RaciAssignment,
    RaciRole,
    Task,
    TaskFilter,
    TaskSort,
    TaskSource,
    TaskStatus,
)
from shared.auth import Principal
from shared.child_lists import ChildList, SortKey
from shared.db import Connection, StatementParams
from shared.graphql.compiled.sql import Entity, Source
from shared.ids import new_id
from shared.search_text import document, matching, query_terms

TASK_COLUMNS = """id, request_id, title, description, status, due_at, created_by,
    created_at, updated_at, parent_id, phase, is_milestone, progress, planned_start,
    started_at, completed_at, source, source_ref, recurring_task_id, region_id,
    reminder_offsets"""


def task_from_row(row: Any) -> Task:
    offsets = row["reminder_offsets"]
    return Task(
        **{
            **dict(row),
            "status": TaskStatus(row["status"]),
            "source": TaskSource(row["source"]),
            "reminder_offsets": tuple(offsets) if offsets is not None else None,
        }
    )


TASKS_OF_REQUESTS = ChildList(
    source="tasks",
    parent="request_id",
    columns=TASK_COLUMNS,
    order=(SortKey("id"),),
    to_model=task_from_row,
)
"""``CollabRequest.tasks``: each request's tasks in creation order (ids are UUIDv7)."""

CHILDREN_OF_TASKS = ChildList(
    source="tasks",
    parent="parent_id",
    columns=TASK_COLUMNS,
    order=(SortKey("id"),),
    to_model=task_from_row,
)
"""``Task.children``: each task's subtasks in creation order."""


async def insert_task(conn: Connection, command: NewTask, *, created_by: str) -> Task | None:
    """Store a TODO task, its RACI assignments and dependencies.

    Returns None when a task with the same ``source_ref`` exists (a replayed source).
    """
    row = await conn.fetchrow(
        f"""
        INSERT INTO tasks (id, request_id, title, description, status, due_at, created_by,
            parent_id, phase, is_milestone, planned_start, source, source_ref,
            recurring_task_id, region_id, reminder_offsets, search_text, search_grams)
        VALUES ($1, $2, $3, $4, 'TODO', $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
            $16, $17)
        ON CONFLICT (source, source_ref) WHERE source_ref IS NOT NULL DO NOTHING
        RETURNING {TASK_COLUMNS}
        """,
        new_id(),
        command.request_id,
        command.title,
        command.description,
        command.due_at,
        created_by,
        command.parent_id,
        command.phase,
        command.is_milestone,
        command.planned_start,
        command.source.value,
        command.source_ref,
        command.recurring_task_id,
        command.region_id,
        list(command.reminder_offsets) if command.reminder_offsets is not None else None,
        *document(command.title, command.description),
    )
    if row is None:
        return None
    await replace_raci(conn, row["id"], command.raci)
    await replace_dependencies(conn, row["id"], command.depends_on)
    return task_from_row(row)


async def replace_raci(conn: Connection, task_id: str, raci: Sequence[RaciAssignment]) -> None:
    await conn.execute("DELETE FROM raci_assignments WHERE task_id = $1", task_id)
    await conn.executemany(
        """
        INSERT INTO raci_assignments (task_id, position, role, person_id, department_id)
        VALUES ($1, $2, $3, $4, $5)
        """,
        [(task_id, i, a.role.value, a.person_id, a.department_id) for i, a in enumerate(raci)],
    )


async def replace_dependencies(conn: Connection, task_id: str, depends_on: Sequence[str]) -> None:
    await conn.execute("DELETE FROM task_dependencies WHERE task_id = $1", task_id)
    await conn.executemany(
        "INSERT INTO task_dependencies (task_id, depends_on_id) VALUES ($1, $2)",
        [(task_id, other) for other in depends_on],
    )


_UPDATABLE = {
    "title",
    "description",
    "phase",
    "due_at",
    "planned_start",
    "parent_id",
    "is_milestone",
    "status",
    "progress",
    "reminder_offsets",
    "started_at",
    "completed_at",
}


async def update_task(conn: Connection, task_id: str, values: dict[str, Any]) -> Task:
    """Write the given columns (names from :class:`TaskChanges`) and bump ``updated_at``;
    a new title or description also renews the task's search columns."""
    assert set(values) <= _UPDATABLE, set(values) - _UPDATABLE
    names = sorted(values)
    assignments = ", ".join(f"{name} = ${i + 2}" for i, name in enumerate(names))
    row = await conn.fetchrow(
        f"UPDATE tasks SET {assignments}, updated_at = now() WHERE id = $1"
        f" RETURNING {TASK_COLUMNS}",
        task_id,
        *(_db_value(values[name]) for name in names),
    )
    assert row is not None
    if {"title", "description"} & set(values):
        await conn.execute(
            "UPDATE tasks SET search_text = $2, search_grams = $3 WHERE id = $1",
            task_id,
            *document(row["title"], row["description"]),
        )
    return task_from_row(row)


def _db_value(value: Any) -> Any:
    if isinstance(value, TaskStatus):
        return value.value
    if isinstance(value, tuple):
        return list(value)
    return value


async def lock_task(conn: Connection, task_id: str) -> Task | None:
    """The task, locked for the rest of the transaction (concurrent updates serialise)."""
    row = await conn.fetchrow(f"SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1 FOR UPDATE", task_id)
    return task_from_row(row) if row else None


def request_visible(request_id: str) -> str:
    """SQL: whether the caller ($1: sees everything, $2: their departments) may see the
    request whose id is the SQL ``request_id``, judged on the local copy (``may_see_request``
    in types.py): the one visibility predicate of the compiled and the Python path."""
    return f"""($1 OR EXISTS (
    SELECT 1 FROM request_replicas q WHERE q.id = {request_id}
       AND (q.lead_department_id = ANY($2) OR q.participant_department_ids && $2)))"""


def visibility_args(principal: Principal) -> tuple[bool, tuple[str, ...]]:
    """The values of :func:`request_visible`'s ``$1`` and ``$2`` (hashable, as a
    :class:`shared.child_lists.ChildPage`'s args are)."""
    return principal.sees_everything, tuple(principal.departments)


def task_entity(principal: Principal) -> Entity:
    """A task by its id for the compiled read path, if the caller may see its request."""
    where = "t.id = {key} AND " + request_visible("t.request_id")
    return Entity("tasks", "t", where, [principal.sees_everything, list(principal.departments)])


def stub_entity(principal: Principal) -> Entity:
    """An entity of another subgraph (a request, a person) for the compiled read path: any
    id, as its ``resolve_reference`` answers; each field judges visibility itself."""
    return Entity("(SELECT {key} AS id)", "r", "TRUE", [])


def task_source(principal: Principal, arguments: Mapping[str, Any]) -> Source:
    """The row of ``task(id)``: :func:`task_entity` with the id as ``$3``."""
    return task_entity(principal).by_key("$3", [arguments["id"]])


async def tasks_by_ids(conn: Connection, ids: Sequence[str]) -> dict[str, Task]:
    rows = await conn.fetch(f"SELECT {TASK_COLUMNS} FROM tasks WHERE id = ANY($1)", list(ids))
    return {r["id"]: task_from_row(r) for r in rows}


async def tasks_by_request_ids(conn: Connection, ids: Sequence[str]) -> dict[str, list[Task]]:
    """Each request's tasks in creation order (ids are UUIDv7)."""
    rows = await conn.fetch(
        f"SELECT {TASK_COLUMNS} FROM tasks WHERE request_id = ANY($1) ORDER BY request_id, id",
        list(ids),
    )
    result: dict[str, list[Task]] = {}
    for row in rows:
        result.setdefault(row["request_id"], []).append(task_from_row(row))
    return result


async def children_by_parent_ids(conn: Connection, ids: Sequence[str]) -> dict[str, list[Task]]:
    rows = await conn.fetch(
        f"SELECT {TASK_COLUMNS} FROM tasks WHERE parent_id = ANY($1) ORDER BY parent_id, id",
        list(ids),
    )
    result: dict[str, list[Task]] = {}
    for row in rows:
        result.setdefault(row["parent_id"], []).append(task_from_row(row))
    return result


async def raci_by_task_ids(conn: Connection, ids: Sequence[str]) -> dict[str, list[RaciAssignment]]:
    rows = await conn.fetch(
        "SELECT task_id, role, person_id, department_id FROM raci_assignments"
        " WHERE task_id = ANY($1) ORDER BY task_id, position",
        list(ids),
    )
    result: dict[str, list[RaciAssignment]] = {}
    for row in rows:
        assignment = RaciAssignment(RaciRole(row["role"]), row["person_id"], row["department_id"])
        result.setdefault(row["task_id"], []).append(assignment)
    return result


async def dependencies_by_task_ids(conn: Connection, ids: Sequence[str]) -> dict[str, list[str]]:
    rows = await conn.fetch(
        "SELECT task_id, depends_on_id FROM task_dependencies WHERE task_id = ANY($1)"
        " ORDER BY task_id, depends_on_id",
        list(ids),
    )
    result: dict[str, list[str]] = {}
    for row in rows:
        result.setdefault(row["task_id"], []).append(row["depends_on_id"])
    return result


async def reaches(conn: Connection, start_ids: Sequence[str], target_id: str, edge: str) -> bool:
    """Whether ``target_id`` is reachable from ``start_ids`` along dependencies or parents.

    Used to refuse cycles: a task may not depend on (or sit under) something that already
    depends on (or sits under) it.
    """
    step = (
        "SELECT d.depends_on_id FROM task_dependencies d JOIN walk w ON d.task_id = w.id"
        if edge == "dependency"
        else "SELECT t.parent_id FROM tasks t JOIN walk w ON t.id = w.id"
        " WHERE t.parent_id IS NOT NULL"
    )
    found = await conn.fetchval(
        f"""
        WITH RECURSIVE walk(id) AS (SELECT unnest($1::text[]) UNION {step})
        SELECT EXISTS (SELECT 1 FROM walk WHERE id = $2)
        """,
        list(start_ids),
        target_id,
    )
    return bool(found)


# Who holds what: a person's own entries, and an entry naming only a department is its head's,
# as for alerts (:func:`services.tasks.parties.people_in_roles`). Two arms of a UNION (also
# the duplicates' DISTINCT), into each of which the planner pushes the person's id, so each
# is found by an index (raci_person; department_replicas' head, then raci_department); an
# OR across both sides of one join read every assignment.
_HELD = """(
    SELECT a.person_id AS assignee, a.role, a.task_id
      FROM raci_assignments a
     WHERE a.person_id IS NOT NULL
     UNION
    SELECT d.head_id, a.role, a.task_id
      FROM department_replicas d
      JOIN raci_assignments a ON a.department_id = d.id AND a.person_id IS NULL
     WHERE d.head_id IS NOT NULL)"""


def _assignment(row: Mapping[str, Any]) -> tuple[RaciRole, Task]:
    columns = dict(row)
    return RaciRole(columns.pop("role")), task_from_row(columns)


ASSIGNMENTS_OF_PEOPLE = ChildList(
    # LIMIT 1 keeps each task a lookup by its key: joined plainly, the planner walks the
    # whole tasks table newest first for a person with few, old assignments.
    source=f"""{_HELD} held CROSS JOIN LATERAL (
        SELECT {TASK_COLUMNS} FROM tasks WHERE tasks.id = held.task_id LIMIT 1) t""",
    parent="held.assignee",
    columns=f"held.role, {TASK_COLUMNS}",
    order=(
        SortKey("t.id", name="id", descending=True),
        SortKey("held.role", name="role", descending=True),
    ),
    to_model=_assignment,
    where=f"{request_visible('t.request_id')} AND ($3::text IS NULL OR held.role = $3::text)",
)
"""``Person.assignments``: (role, task) of each person, newest task first (ids are UUIDv7),
then by role; on requests the caller may see (args: :func:`visibility_args`, then the role
asked for or None)."""


# --- the tasks list ---------------------------------------------------------------------------
# Query.tasks: only the filters given are in the SQL, each one condition that an index of
# migrations/0005_task_lists.sql (or 0001's) serves, after request_visible; the statements
# are planned for their values (shared.db.plan_with_values), so a caller who sees everything
# has no visibility condition left at all.

_DUE_KEY = "coalesce(t.due_at, 'infinity'::timestamptz)"
"""DUE_SOONEST's key: tasks without a due time after every other (index tasks_due_order)."""

_OPEN = "t.status NOT IN ('DONE', 'CANCELLED')"
"""Word for word the WHERE of the index tasks_open_due, so that the planner may use it."""

_OVERDUE = f"{_OPEN} AND {_DUE_KEY} < now()"
"""``Task.isOverdue`` in SQL: due before now and neither DONE nor CANCELLED."""

_NOT_OVERDUE = f"(t.status IN ('DONE', 'CANCELLED') OR {_DUE_KEY} >= now())"
"""The other tasks: closed (tasks_status_due) or not yet due, undated ones included
(tasks_due_order)."""

_TASKS_OF_DEPARTMENT = "SELECT a.task_id FROM raci_assignments a WHERE a.department_id"
"""The tasks on whose RACI a department holds a role, by itself or with a person of it
(raci_department), when completed with ``= <department>``."""


def _instant_or_none(value: Any) -> Any:
    return None if value is None else SortKey("due_at", sql_type="timestamptz").parse(value)


@dataclass(frozen=True)
class _Order:
    """One sort of the list: ``by`` is its ORDER BY, ``after`` the rows after a cursor's key
    values (``{0}``, ``{1}``: a row comparison its index serves), ``parsers`` turn those
    values back into SQL parameters, ``key`` gives a task's values."""

    by: str
    after: str
    parsers: tuple[Callable[[Any], Any], ...]
    key: Callable[[Task], list[Any]]


_ID = SortKey("id").parse
_INSTANT = SortKey("updated_at", sql_type="timestamptz").parse

TASK_ORDERS: dict[TaskSort, _Order] = {
    TaskSort.DUE_SOONEST: _Order(
        f"{_DUE_KEY}, t.id",
        f"({_DUE_KEY}, t.id) > (coalesce({{0}}::timestamptz, 'infinity'), {{1}}::text)",
        (_instant_or_none, _ID),
        lambda t: [t.due_at.isoformat() if t.due_at else None, t.id],
    ),
    TaskSort.UPDATED_NEWEST: _Order(
        "t.updated_at DESC, t.id DESC",
        "(t.updated_at, t.id) < ({0}::timestamptz, {1}::text)",
        (_INSTANT, _ID),
        lambda t: [t.updated_at.isoformat(), t.id],
    ),
    # Ids are UUIDv7: in creation order.
    TaskSort.CREATED_OLDEST: _Order("t.id", "t.id > {0}::text", (_ID,), lambda t: [t.id]),
}


def parse_after(sort: TaskSort, values: Sequence[Any]) -> tuple[Any, ...]:
    """A cursor's key values under ``sort`` as SQL parameters; ValueError if they are not."""
    parsers = TASK_ORDERS[sort].parsers
    if len(values) != len(parsers):
        raise ValueError(f"{len(values)} key values for {len(parsers)} sort columns")
    return tuple(parse(v) for parse, v in zip(parsers, values, strict=True))


def _held_by(params: StatementParams, person_id: str, role: RaciRole | None) -> str:
    """The person holds ``role`` (any, if None) on the task, as in ``Person.assignments``:
    an entry naming only a department counts for its head (raci_person, raci_department)."""
    held = f"held.assignee = {params.add(person_id)}"
    if role is not None:
        held += f" AND held.role = {params.add(role.value)}"
    return f"t.id IN (SELECT held.task_id FROM {_HELD} held WHERE {held})"


def _due_between(params: StatementParams, chosen: TaskFilter) -> str:
    """In [dueAfter, dueBefore) on DUE_SOONEST's key (tasks_due_order): a task without a due
    time (infinity) is in no range."""
    low = ""
    if chosen.due_after is not None:
        low = f"{_DUE_KEY} >= {params.add(chosen.due_after)} AND "
    high = "'infinity'" if chosen.due_before is None else params.add(chosen.due_before)
    return f"{low}{_DUE_KEY} < {high}"


def _task_conditions(params: StatementParams, chosen: TaskFilter) -> list[str]:
    """The filters that are set, one condition each; those not set are left out."""
    conditions = []
    if chosen.request_id is not None:  # tasks_request
        conditions.append(f"t.request_id = {params.add(chosen.request_id)}")
    if chosen.assignee_id is not None:
        conditions.append(_held_by(params, chosen.assignee_id, chosen.role))
    if chosen.department_id is not None:  # raci_department
        department = params.add(chosen.department_id)
        conditions.append(f"t.id IN ({_TASKS_OF_DEPARTMENT} = {department})")
    statuses = list(dict.fromkeys(s.value for s in chosen.statuses))
    if statuses:  # tasks_status_due
        conditions.append(f"t.status = ANY({params.add(statuses)}::text[])")
    if chosen.due_after is not None or chosen.due_before is not None:
        conditions.append(_due_between(params, chosen))
    if chosen.overdue is not None:
        conditions.append(_OVERDUE if chosen.overdue else _NOT_OVERDUE)
    if chosen.source is not None:  # tasks_source_due
        conditions.append(f"t.source = {params.add(chosen.source.value)}")
    terms, grams = query_terms(chosen.text or "")
    if terms:  # tasks_search_grams
        conditions.append(matching("t", params.add(grams), params.add(terms)))
    return conditions


def _list_where(principal: Principal, chosen: TaskFilter) -> tuple[StatementParams, list[str]]:
    """The parameters and conditions of the list: request_visible ($1, $2), then the filter."""
    params = StatementParams()
    for value in visibility_args(principal):
        params.add(list(value) if isinstance(value, tuple) else value)
    return params, [request_visible("t.request_id"), *_task_conditions(params, chosen)]


async def list_tasks(
    conn: Connection,
    principal: Principal,
    chosen: TaskFilter,
    sort: TaskSort,
    *,
    after: Sequence[Any] | None,
    limit: int,
) -> list[Task]:
    """Tasks of requests the caller may see that pass ``chosen``, in ``sort`` order, after
    the key values ``after`` (see :func:`parse_after`)."""
    params, conditions = _list_where(principal, chosen)
    order = TASK_ORDERS[sort]
    if after is not None:
        conditions.append(order.after.format(*(params.add(v) for v in after)))
    rows = await conn.fetch(
        f"SELECT {TASK_COLUMNS} FROM tasks t WHERE {' AND '.join(conditions)}"
        f" ORDER BY {order.by} LIMIT {params.add(limit)}",
        *params.values,
    )
    return [task_from_row(r) for r in rows]


async def count_tasks(conn: Connection, principal: Principal, chosen: TaskFilter) -> int:
    """How many tasks :func:`list_tasks` pages through with the same filter."""
    params, conditions = _list_where(principal, chosen)
    found = await conn.fetchval(
        f"SELECT count(*) FROM tasks t WHERE {' AND '.join(conditions)}", *params.values
    )
    return int(found)
