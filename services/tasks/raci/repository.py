"""SQL of the RACI matrix: its columns, rows and cells, read by both read paths.

The compiled path embeds these derived tables in its statement (see the fields of
:mod:`services.tasks.raci.types`); the Python path reads them through the functions below,
so a matrix's columns and letters have one definition.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from services.tasks.models import RaciRole
from services.tasks.raci.matrix import ColumnKind, MatrixProblem, MatrixProblemCode
from services.tasks.repository import TASK_COLUMNS, request_visible, task_from_row
from shared.auth import Principal
from shared.child_lists import ChildList, SortKey
from shared.db import Connection
from shared.graphql.compiled.sql import Source

# The derived tables below name their rows with aliases of their own (matrix_*), so that the
# request and task expressions they are given, which name the caller's rows, keep meaning
# those rows.


def columns_of(request_id: str) -> str:
    """SQL (a derived table) of the matrix columns of the request whose id is the SQL
    ``request_id``: a person column for an entry naming a person, else a department column,
    of every task that is not cancelled; departments first, each kind by id (code point
    order), numbered by ``position``."""
    party = "coalesce(matrix_a.person_id, matrix_a.department_id)"
    kind = "CASE WHEN matrix_a.person_id IS NOT NULL THEN 'PERSON' ELSE 'DEPARTMENT' END"
    return f"""(SELECT matrix_c.kind, matrix_c.party_id,
        lower(matrix_c.kind) || ':' || matrix_c.party_id AS key,
        CASE WHEN matrix_c.kind = 'PERSON' THEN matrix_c.party_id END AS person_id,
        CASE WHEN matrix_c.kind = 'DEPARTMENT' THEN matrix_c.party_id END AS department_id,
        row_number() OVER (
            ORDER BY matrix_c.kind COLLATE "C", matrix_c.party_id COLLATE "C") AS position
   FROM (SELECT DISTINCT {kind} AS kind, {party} AS party_id
           FROM tasks matrix_t JOIN raci_assignments matrix_a ON matrix_a.task_id = matrix_t.id
          WHERE matrix_t.request_id = {request_id} AND matrix_t.status <> 'CANCELLED') matrix_c)"""


def cells_of(request_id: str, task_id: str) -> str:
    """SQL (a derived table) of the cells of task ``task_id`` (SQL) in the matrix of its
    request ``request_id`` (SQL): one per column, in column order (``position``), with the
    letters the task gives it in R, A, C, I order (none where it gives none)."""
    letters = f"""ARRAY(SELECT matrix_l.role FROM raci_assignments matrix_l
          WHERE matrix_l.task_id = {task_id}
            AND coalesce(matrix_l.person_id, matrix_l.department_id) = matrix_k.party_id
            AND (matrix_l.person_id IS NOT NULL) = (matrix_k.kind = 'PERSON')
          GROUP BY matrix_l.role
          ORDER BY array_position(ARRAY['R', 'A', 'C', 'I'], matrix_l.role))"""
    return f"""(SELECT matrix_k.key AS column_key, matrix_k.position, {letters} AS letters
   FROM {columns_of(request_id)} matrix_k)"""


# The gaps of one task: (code, found, message) per rule.
_TASK_RULES = """(VALUES
    ('NO_ACCOUNTABLE', matrix_n.accountable = 0,
     format('nobody is accountable (A) for ''%s''', matrix_g.title)),
    ('MULTIPLE_ACCOUNTABLE', matrix_n.accountable > 1,
     format('''%s'' has %s accountable (A) parties', matrix_g.title, matrix_n.accountable)),
    ('NO_RESPONSIBLE', matrix_n.responsible = 0,
     format('nobody is responsible (R) for ''%s''', matrix_g.title)))"""


def problems_of(request_id: str) -> str:
    """SQL (a derived table) of the gaps in the matrix of request ``request_id`` (SQL): each
    task that is not cancelled needs exactly one A and at least one R (``problem_group`` 0,
    ``subject`` its id); each participating department must appear, holding a role itself or
    through one of its people (group 1, ``subject`` its id): one that appears nowhere has
    nothing to do, which the handbook calls a no-man's-land ("三不管") risk. Subjects and
    codes sort in code point order."""
    tasks = f"""SELECT 0::bigint, matrix_g.id, matrix_v.code, matrix_v.message, matrix_g.id,
           NULL::text
      FROM tasks matrix_g
     CROSS JOIN LATERAL (
           SELECT count(*) FILTER (WHERE matrix_h.role = 'A') AS accountable,
                  count(*) FILTER (WHERE matrix_h.role = 'R') AS responsible
             FROM raci_assignments matrix_h WHERE matrix_h.task_id = matrix_g.id) matrix_n
     CROSS JOIN LATERAL {_TASK_RULES} matrix_v (code, found, message)
     WHERE matrix_g.request_id = {request_id} AND matrix_g.status <> 'CANCELLED'
       AND matrix_v.found"""
    departments = f"""SELECT 1::bigint, matrix_d.id, 'DEPARTMENT_UNASSIGNED',
           'a participating department holds no role in any task', NULL::text, matrix_d.id
      FROM (SELECT DISTINCT unnest(matrix_r.lead_department_id
                                   || matrix_r.participant_department_ids) AS id
              FROM request_replicas matrix_r WHERE matrix_r.id = {request_id}) matrix_d
     WHERE NOT EXISTS (
           SELECT 1 FROM tasks matrix_o
             JOIN raci_assignments matrix_e ON matrix_e.task_id = matrix_o.id
             LEFT JOIN person_replicas matrix_w ON matrix_w.id = matrix_e.person_id
            WHERE matrix_o.request_id = {request_id} AND matrix_o.status <> 'CANCELLED'
              AND matrix_d.id IN (matrix_e.department_id, matrix_w.department_id))"""
    return f"""(SELECT matrix_u.problem_group, matrix_u.subject COLLATE "C" AS subject,
        matrix_u.code COLLATE "C" AS code, matrix_u.message, matrix_u.task_id,
        matrix_u.department_id
   FROM ({tasks} UNION ALL {departments})
        matrix_u (problem_group, subject, code, message, task_id, department_id))"""


def matrix_source(principal: Principal, arguments: Mapping[str, Any]) -> Source:
    """The row of ``raciMatrix(requestId)``: the request of the local copy (a matrix exists
    for each), if the caller may see it."""
    where = "m.id = $3 AND " + request_visible("m.id")
    params = [principal.sees_everything, list(principal.departments), arguments["requestId"]]
    return Source("request_replicas", "m", where, params)


ROWS_OF_MATRICES = ChildList(
    source="tasks",
    parent="request_id",
    columns=TASK_COLUMNS,
    order=(SortKey("id"),),
    to_model=task_from_row,
    where="status <> 'CANCELLED'",
)
"""``RaciMatrix.rows``: each request's tasks that are not cancelled, in creation order."""


@dataclass(frozen=True)
class MatrixColumn:
    key: str
    kind: ColumnKind
    person_id: str | None
    department_id: str | None


@dataclass(frozen=True)
class MatrixCell:
    column_key: str
    letters: tuple[RaciRole, ...]


async def columns_by_request_ids(
    conn: Connection, ids: Sequence[str]
) -> dict[str, list[MatrixColumn]]:
    rows = await conn.fetch(
        f"""SELECT r.id AS request_id, c.* FROM unnest($1::text[]) r(id)
            CROSS JOIN LATERAL {columns_of("r.id")} c ORDER BY r.id, c.position""",
        list(ids),
    )
    found: dict[str, list[MatrixColumn]] = {}
    for row in rows:
        column = MatrixColumn(
            row["key"], ColumnKind(row["kind"]), row["person_id"], row["department_id"]
        )
        found.setdefault(row["request_id"], []).append(column)
    return found


async def cells_by_task_ids(conn: Connection, ids: Sequence[str]) -> dict[str, list[MatrixCell]]:
    rows = await conn.fetch(
        f"""SELECT t.id AS task_id, c.* FROM tasks t
            CROSS JOIN LATERAL {cells_of("t.request_id", "t.id")} c
            WHERE t.id = ANY($1::text[]) ORDER BY t.id, c.position""",
        list(ids),
    )
    found: dict[str, list[MatrixCell]] = {}
    for row in rows:
        cell = MatrixCell(row["column_key"], tuple(RaciRole(r) for r in row["letters"]))
        found.setdefault(row["task_id"], []).append(cell)
    return found


def _problem(row: Mapping[str, Any]) -> MatrixProblem:
    code = MatrixProblemCode(row["code"])
    return MatrixProblem(code, row["message"], row["task_id"], row["department_id"])


PROBLEMS_OF_MATRICES = ChildList(
    source=f"request_replicas matrix_q CROSS JOIN LATERAL {problems_of('matrix_q.id')} matrix_x",
    parent="matrix_q.id",
    columns="matrix_x.*",
    order=(
        SortKey("matrix_x.problem_group", name="problem_group", sql_type="bigint"),
        SortKey("matrix_x.subject", name="subject"),
        SortKey("matrix_x.code", name="code"),
    ),
    to_model=_problem,
)
"""``RaciMatrix.problems``: the gaps of tasks first, in task order, then the participating
departments left out, by id."""
