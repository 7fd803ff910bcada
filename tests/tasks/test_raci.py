"""setRaci, the RACI matrix and its gaps, Person.assignments, and action items as tasks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.events.contracts.requests import ActionItemCreated
from shared.events.envelope import new_event
from tests.support import SubgraphClient, nodes
from tests.tasks.helpers import (
    HANS,
    LI,
    PMO,
    SET_RACI,
    WANG,
    ZHAO,
    create_task,
    deliver_envelope,
    outbox,
    seeded,
    snapshot,
)


@pytest.fixture
async def api(tasks_api: SubgraphClient) -> SubgraphClient:
    return await seeded(tasks_api)


async def set_raci(
    api: SubgraphClient, task_id: str, assignments: list[dict[str, Any]], caller: Any = LI
) -> dict[str, Any]:
    variables = {"input": {"taskId": task_id, "assignments": assignments}}
    payload: dict[str, Any] = (await api.execute(SET_RACI, variables, caller=caller))["setRaci"]
    return payload


async def test_set_raci_replaces_assignments_and_announces_old_and_new(api: SubgraphClient) -> None:
    task = await create_task(api)
    new = [
        {"role": "A", "personId": "wang"},
        {"role": "R", "departmentId": "eu"},
        {"role": "I", "personId": "li"},
    ]
    payload = await set_raci(api, task["id"], new)
    assert payload["userErrors"] == []
    assert payload["task"]["raci"] == [
        {"role": "A", "person": {"id": "wang"}, "department": None},
        {"role": "R", "person": None, "department": {"id": "eu"}},
        {"role": "I", "person": {"id": "li"}, "department": None},
    ]
    [event] = await outbox(api, "tasks.raci.set")
    assert [e["role"] for e in event["data"]["raci"]] == ["A", "R", "I"]
    assert [e["role"] for e in event["data"]["previous_raci"]] == ["A", "R", "C", "I"]


@pytest.mark.parametrize(
    ("caller", "assignments", "expected"),
    [
        (LI, [{"role": "R", "personId": "wang"}], [("assignments", "RACI_ACCOUNTABLE")]),
        (
            LI,
            [
                {"role": "A", "personId": "li"},
                {"role": "A", "personId": "wang"},
                {"role": "R", "personId": "wang"},
            ],
            [("assignments", "RACI_ACCOUNTABLE")],
        ),
        (
            LI,
            [{"role": "A", "departmentId": "mkt"}, {"role": "R", "personId": "wang"}],
            [("assignments", "RACI_ACCOUNTABLE_PERSON")],
        ),
        (LI, [{"role": "A", "personId": "li"}], [("assignments", "RACI_RESPONSIBLE")]),
        (
            LI,
            [{"role": "A", "personId": "li"}, {"role": "R", "personId": "wang"}, {"role": "C"}],
            [("assignments.2", "INVALID")],
        ),
        (
            LI,
            [
                {"role": "A", "personId": "li"},
                {"role": "R", "personId": "wang", "departmentId": "nowhere"},
                {"role": "C", "personId": "ghost"},
                {"role": "I", "departmentId": "eu"},
            ],
            [
                ("assignments.1.departmentId", "DEPARTMENT_NOT_FOUND"),
                ("assignments.2.personId", "PERSON_NOT_FOUND"),
            ],
        ),
        (
            LI,
            [
                {"role": "A", "personId": "li"},
                {"role": "A", "personId": "li"},  # a repeat; positions stay the caller's
                {"role": "R", "personId": "ghost"},
            ],
            [("assignments.2.personId", "PERSON_NOT_FOUND")],
        ),
        (
            WANG,
            [{"role": "A", "personId": "li"}, {"role": "R", "personId": "wang"}],
            [("requestId", "FORBIDDEN")],
        ),
        (
            ZHAO,
            [{"role": "A", "personId": "li"}, {"role": "R", "personId": "wang"}],
            [("taskId", "NOT_FOUND")],
        ),
    ],
)
async def test_set_raci_refusals_keep_the_old_assignments(
    api: SubgraphClient,
    caller: Any,
    assignments: list[dict[str, Any]],
    expected: list[tuple[str, str]],
) -> None:
    task = await create_task(api)
    before = await snapshot(api)
    payload = await set_raci(api, task["id"], assignments, caller=caller)
    assert payload["task"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == expected
    assert await snapshot(api) == before


MATRIX = """
query($r: ID!) {
  raciMatrix(requestId: $r) {
    request { id }
    columns { key kind person { id } department { id } }
    rows { totalCount edges { node { task { title } cells { column letters } } } }
    problems { totalCount edges { node { code message task { title } department { id } } } }
  }
}
"""


async def test_matrix_has_a_row_per_task_a_column_per_party_and_finds_gaps(
    api: SubgraphClient,
) -> None:
    await create_task(
        api,
        title="Materials",
        raci=[
            {"role": "A", "personId": "li"},
            {"role": "R", "personId": "wang"},
            {"role": "C", "departmentId": "legal"},
        ],
    )
    item = ActionItemCreated(
        id="ai-1",
        request_id="req-1",
        meeting_id="m-1",
        title="Call the venue",
        owner_id="sun",
        department_id="rd",
        due_at=datetime.now(UTC) + timedelta(days=3),
    )
    await deliver_envelope(
        api.runtime, new_event("requests", "requests.action_item.created", "ai-1", item)
    )
    await api.runtime.pool.execute(  # an action item whose lead department has no head yet
        "DELETE FROM raci_assignments WHERE role = 'A' AND task_id IN"
        " (SELECT id FROM tasks WHERE source = 'ACTION_ITEM')"
    )
    matrix = (await api.execute(MATRIX, {"r": "req-1"}, caller=WANG))["raciMatrix"]
    assert matrix["request"] == {"id": "req-1"}
    assert [c["key"] for c in matrix["columns"]] == [
        "department:legal",
        "person:li",
        "person:sun",
        "person:wang",
    ]
    assert matrix["rows"]["totalCount"] == 2
    assert nodes(matrix["rows"]) == [
        {
            "task": {"title": "Materials"},
            "cells": [
                {"column": "department:legal", "letters": ["C"]},
                {"column": "person:li", "letters": ["A"]},
                {"column": "person:sun", "letters": []},
                {"column": "person:wang", "letters": ["R"]},
            ],
        },
        {
            "task": {"title": "Call the venue"},
            "cells": [
                {"column": "department:legal", "letters": []},
                {"column": "person:li", "letters": []},
                {"column": "person:sun", "letters": ["R"]},
                {"column": "person:wang", "letters": []},
            ],
        },
    ]
    assert matrix["problems"]["totalCount"] == 2
    assert [(p["code"], p["task"], p["department"]) for p in nodes(matrix["problems"])] == [
        ("NO_ACCOUNTABLE", {"title": "Call the venue"}, None),
        ("DEPARTMENT_UNASSIGNED", None, {"id": "eu"}),
    ]


async def test_matrix_leaves_out_cancelled_tasks_and_parties_only_they_have(
    api: SubgraphClient,
) -> None:
    await create_task(api, title="Kept")
    dropped = await create_task(
        api,
        title="Dropped",
        raci=[{"role": "A", "personId": "li"}, {"role": "R", "personId": "hans"}],
    )
    await api.runtime.pool.execute(
        "UPDATE tasks SET status = 'CANCELLED' WHERE id = $1", dropped["id"]
    )
    matrix = (await api.execute(MATRIX, {"r": "req-1"}, caller=LI))["raciMatrix"]
    keys = ["department:eu", "department:legal", "person:li", "person:wang"]
    assert [c["key"] for c in matrix["columns"]] == keys
    assert [n["task"]["title"] for n in nodes(matrix["rows"])] == ["Kept"]
    assert [c["column"] for c in nodes(matrix["rows"])[0]["cells"]] == keys


async def test_matrix_is_hidden_from_departments_not_taking_part(api: SubgraphClient) -> None:
    await create_task(api)
    assert (await api.execute(MATRIX, {"r": "req-1"}, caller=ZHAO))["raciMatrix"] is None


PROBLEMS = """
query($r: ID!, $after: String) {
  raciMatrix(requestId: $r) {
    problems(first: 3, after: $after) {
      totalCount pageInfo { hasNextPage endCursor }
      edges { node { code message task { title } department { id } } }
    }
  }
}
"""


async def test_matrix_reports_several_accountable_and_no_responsible_and_skips_cancelled(
    api: SubgraphClient,
) -> None:
    """Several As cannot be stored by setRaci (a unique index), but copies from elsewhere are
    checked: the index is dropped for the time of the test."""
    two, team, dropped = [await create_task(api, title=t) for t in ("Two", "Team", "Dropped")]
    pool = api.runtime.pool
    await pool.execute("UPDATE tasks SET status = 'CANCELLED' WHERE id = $1", dropped["id"])
    await pool.execute("DELETE FROM raci_assignments")
    await pool.execute("DROP INDEX raci_one_accountable")
    try:
        await pool.executemany(
            "INSERT INTO raci_assignments (task_id, position, role, person_id, department_id)"
            " VALUES ($1, $2, $3, $4, $5)",
            [
                (two["id"], 0, "A", "li", None),
                (two["id"], 1, "A", "wang", None),
                (team["id"], 0, "R", None, "rd"),
            ],
        )
        first = await api.execute(PROBLEMS, {"r": "req-1"}, caller=PMO)
        page = first["raciMatrix"]["problems"]
        after = page["pageInfo"]["endCursor"]
        second = await api.execute(PROBLEMS, {"r": "req-1", "after": after}, caller=PMO)
    finally:
        await pool.execute("DELETE FROM raci_assignments")
        await pool.execute(
            "CREATE UNIQUE INDEX raci_one_accountable ON raci_assignments (task_id)"
            " WHERE role = 'A'"
        )
    rest = second["raciMatrix"]["problems"]
    assert (page["totalCount"], page["pageInfo"]["hasNextPage"]) == (4, True)
    assert (rest["totalCount"], rest["pageInfo"]["hasNextPage"]) == (4, False)
    found = [(n["code"], n["message"], n["task"], n["department"]) for n in nodes(page)]
    found += [(n["code"], n["message"], n["task"], n["department"]) for n in nodes(rest)]
    assert found == [
        ("MULTIPLE_ACCOUNTABLE", "'Two' has 2 accountable (A) parties", {"title": "Two"}, None),
        ("NO_RESPONSIBLE", "nobody is responsible (R) for 'Two'", {"title": "Two"}, None),
        ("NO_ACCOUNTABLE", "nobody is accountable (A) for 'Team'", {"title": "Team"}, None),
        (
            "DEPARTMENT_UNASSIGNED",
            "a participating department holds no role in any task",
            None,
            {"id": "eu"},
        ),
    ]


ASSIGNMENTS = """
query($r: [_Any!]!, $role: RaciRole, $first: Int!, $after: String) {
  _entities(representations: $r) {
    ... on Person { id assignments(role: $role, first: $first, after: $after) {
      totalCount pageInfo { hasNextPage endCursor } edges { node { role task { title } } } } }
  }
}
"""


async def test_person_assignments_across_requests_by_role_and_visibility(
    api: SubgraphClient,
) -> None:
    from tests.tasks.helpers import seed_request

    await seed_request(api.runtime, "req-2", participants=("eu",))
    await create_task(api, title="One")
    await create_task(
        api,
        title="Two",
        requestId="req-2",
        raci=[{"role": "A", "personId": "hans"}, {"role": "R", "personId": "wang"}],
    )
    person = [{"__typename": "Person", "id": "wang"}]

    every = await api.execute(ASSIGNMENTS, {"r": person, "first": 10}, caller=PMO)
    found = every["_entities"][0]["assignments"]
    assert found["totalCount"] == 2
    assert [e["node"]["task"]["title"] for e in found["edges"]] == ["Two", "One"]

    mine = await api.execute(ASSIGNMENTS, {"r": person, "first": 10}, caller=WANG)
    assert [e["node"]["task"]["title"] for e in mine["_entities"][0]["assignments"]["edges"]] == [
        "One"
    ]  # rd does not take part in req-2

    first = await api.execute(ASSIGNMENTS, {"r": person, "first": 1, "role": "R"}, caller=PMO)
    page = first["_entities"][0]["assignments"]
    assert page["pageInfo"]["hasNextPage"] is True
    after = page["pageInfo"]["endCursor"]
    second = await api.execute(
        ASSIGNMENTS, {"r": person, "first": 1, "role": "R", "after": after}, caller=PMO
    )
    rest = second["_entities"][0]["assignments"]
    assert [e["node"]["task"]["title"] for e in rest["edges"]] == ["One"]
    assert rest["pageInfo"]["hasNextPage"] is False
    # Every page counts the whole list the role filter and visibility leave, not the page.
    assert (page["totalCount"], rest["totalCount"]) == (2, 2)
    assert mine["_entities"][0]["assignments"]["totalCount"] == 1

    accountable = await api.execute(
        ASSIGNMENTS,
        {"r": [{"__typename": "Person", "id": "hans"}], "first": 5, "role": "A"},
        caller=HANS,
    )
    assert [e["node"]["role"] for e in accountable["_entities"][0]["assignments"]["edges"]] == ["A"]


async def test_person_assignments_count_department_entries_for_the_head(
    api: SubgraphClient,
) -> None:
    """rd's head is wang, legal's zhao; an entry naming a person is that person's only."""
    await create_task(
        api,
        title="Department work",
        raci=[
            {"role": "A", "personId": "li"},
            {"role": "R", "departmentId": "rd"},
            {"role": "C", "departmentId": "legal"},
            {"role": "I", "personId": "sun", "departmentId": "rd"},
        ],
    )
    held = {}
    for person in ("wang", "zhao", "sun"):
        variables = {"r": [{"__typename": "Person", "id": person}], "first": 10}
        data = await api.execute(ASSIGNMENTS, variables, caller=PMO)
        edges = data["_entities"][0]["assignments"]["edges"]
        held[person] = [(e["node"]["role"], e["node"]["task"]["title"]) for e in edges]
    assert held == {
        "wang": [("R", "Department work")],
        "zhao": [("C", "Department work")],
        "sun": [("I", "Department work")],
    }


def action_item(item_id: str = "ai-1", **changes: Any) -> ActionItemCreated:
    base: dict[str, Any] = {
        "id": item_id,
        "request_id": "req-1",
        "meeting_id": "m-1",
        "title": "Send the revised budget",
        "owner_id": "wang",
        "department_id": "rd",
        "due_at": datetime.now(UTC) + timedelta(days=10),
        "chair_id": "li",
    }
    return ActionItemCreated(**{**base, **changes})


async def test_action_item_becomes_one_task_however_often_it_arrives(api: SubgraphClient) -> None:
    envelope = new_event("requests", "requests.action_item.created", "ai-1", action_item())
    assert await deliver_envelope(api.runtime, envelope) is True
    assert await deliver_envelope(api.runtime, envelope) is False
    # The same item again under a new event id (a republished minutes): still one task.
    again = new_event("requests", "requests.action_item.created", "ai-1", action_item())
    assert await deliver_envelope(api.runtime, again) is True
    rows = await api.runtime.pool.fetch("SELECT id, source, source_ref, title FROM tasks")
    assert [(r["source"], r["source_ref"], r["title"]) for r in rows] == [
        ("ACTION_ITEM", "ai-1", "Send the revised budget")
    ]
    raci = await api.runtime.pool.fetch(
        "SELECT role, person_id, department_id FROM raci_assignments ORDER BY position"
    )
    assert [tuple(r) for r in raci] == [("A", "li", None), ("R", "wang", "rd")]
    [created] = await outbox(api, "tasks.task.created")
    assert created["data"]["source"] == "ACTION_ITEM"
    kinds = await api.runtime.pool.fetch(
        "SELECT kind FROM timers WHERE subject = $1 ORDER BY kind", rows[0]["id"]
    )
    assert [k["kind"] for k in kinds] == ["task.overdue", "task.reminder"]


async def test_action_item_without_chair_is_owned_by_the_lead_departments_head(
    api: SubgraphClient,
) -> None:
    envelope = new_event(
        "requests", "requests.action_item.created", "ai-2", action_item("ai-2", chair_id=None)
    )
    await deliver_envelope(api.runtime, envelope)
    accountable = await api.runtime.pool.fetchval(
        "SELECT person_id FROM raci_assignments WHERE role = 'A'"
    )
    assert accountable == "li"  # head of mkt, the lead department, from the directory copy
