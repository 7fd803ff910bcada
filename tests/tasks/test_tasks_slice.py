"""The tasks subgraph's first slice: creating a task with a validated RACI, and who sees it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.events.consumer import Consumer
from shared.events.contracts.requests import RequestCreated
from shared.events.envelope import EventEnvelope, new_event
from shared.replicas import REPLICA_HANDLERS
from shared.runtime import ServiceRuntime
from tests.support import Caller, GraphQLFailure, SubgraphClient, nodes
from tests.tasks.helpers import seed_directory

LEAD = Caller("li", departments=("mkt",))  # member of the lead department
PARTICIPANT = Caller("wang", departments=("rd",))  # takes part, does not plan
STRANGER = Caller("zhao", departments=("legal",))
PMO = Caller("pmo", roles=("PMO",))

CREATE = """
mutation($input: CreateTaskInput!) {
  createTask(input: $input) {
    task { id title description status dueAt isOverdue createdAt updatedAt
           raci { role person { id } department { id } } request { id } }
    userErrors { field message code }
  }
}
"""

TASK = "query($id: ID!) { task(id: $id) { id title } }"

REQUEST_TASKS = """
query($r: [_Any!]!) {
  _entities(representations: $r) {
    ... on CollabRequest { id tasks { totalCount edges { node { id } } } }
  }
}
"""


def request_created(request_id: str = "req-1") -> EventEnvelope:
    """The event the requests service emits when a request led by `mkt` is created."""
    data = RequestCreated(
        id=request_id,
        code="CR-2026-0001",
        kind="PROJECT",
        title="Q4 launch",
        status="DRAFT",
        lead_department_id="mkt",
        participant_department_ids=["rd"],
        created_by="li",
    )
    return new_event(
        "requests", "requests.request.created", request_id, data, departments=["mkt", "rd"]
    )


async def seed_request(runtime: ServiceRuntime, request_id: str = "req-1") -> None:
    """Give the tasks service its copy of a request, the way its consumer would."""
    assert await Consumer(runtime, REPLICA_HANDLERS).handle(request_created(request_id))


def task_input(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "requestId": "req-1",
        "title": "Prepare launch materials",
        "description": "Brochures and the landing page",
        "dueAt": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
        "raci": [
            {"role": "A", "personId": "li"},
            {"role": "R", "departmentId": "rd", "personId": "wang"},
            {"role": "C", "departmentId": "legal"},
            {"role": "I", "departmentId": "eu"},
        ],
    }
    return {**base, **changes}


@pytest.fixture
async def api(tasks_api: SubgraphClient) -> SubgraphClient:
    await seed_directory(tasks_api.runtime)
    await seed_request(tasks_api.runtime)
    return tasks_api


async def create(api: SubgraphClient, caller: Caller = LEAD, **changes: Any) -> dict[str, Any]:
    data = await api.execute(CREATE, {"input": task_input(**changes)}, caller=caller)
    payload: dict[str, Any] = data["createTask"]
    return payload


async def stored_counts(api: SubgraphClient) -> tuple[int, int, int]:
    pool = api.runtime.pool
    return (
        await pool.fetchval("SELECT count(*) FROM tasks"),
        await pool.fetchval("SELECT count(*) FROM raci_assignments"),
        await pool.fetchval("SELECT count(*) FROM outbox"),
    )


async def test_create_task_stores_it_with_raci_and_emits_event(api: SubgraphClient) -> None:
    payload = await create(api)
    assert payload["userErrors"] == []
    task = payload["task"]
    assert task["status"] == "TODO"
    assert task["isOverdue"] is False
    assert task["request"] == {"id": "req-1"}
    assert task["raci"] == [
        {"role": "A", "person": {"id": "li"}, "department": None},
        {"role": "R", "person": {"id": "wang"}, "department": {"id": "rd"}},
        {"role": "C", "person": None, "department": {"id": "legal"}},
        {"role": "I", "person": None, "department": {"id": "eu"}},
    ]
    assert await stored_counts(api) == (1, 4, 3)  # the event, R's work item, the search entry

    row = await api.runtime.pool.fetchrow("SELECT event_type, envelope FROM outbox ORDER BY seq")
    assert row is not None
    assert row["event_type"] == "tasks.task.created"
    envelope = row["envelope"]
    assert envelope["subject"] == task["id"]
    assert envelope["departments"] == ["mkt", "rd"]
    assert envelope["data"]["request_id"] == "req-1"
    assert envelope["data"]["created_by"] == "li"
    assert envelope["data"]["raci"][:2] == [
        {"role": "A", "person_id": "li", "department_id": None},
        {"role": "R", "person_id": "wang", "department_id": "rd"},
    ]


async def test_due_time_is_stored_in_utc_and_overdue_is_computed(api: SubgraphClient) -> None:
    payload = await create(api, caller=PMO, dueAt="2020-01-31T18:00:00+08:00")
    task = payload["task"]
    assert datetime.fromisoformat(task["dueAt"]) == datetime(2020, 1, 31, 10, tzinfo=UTC)
    assert task["isOverdue"] is True


def _without_a(raci: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in raci if r["role"] != "A"]


BASE_RACI = task_input()["raci"]


@pytest.mark.parametrize(
    ("caller", "changes", "expected"),
    [
        (LEAD, {"requestId": "unknown"}, [("requestId", "REQUEST_NOT_FOUND")]),
        (PARTICIPANT, {}, [("requestId", "FORBIDDEN")]),
        (STRANGER, {}, [("requestId", "FORBIDDEN")]),
        (LEAD, {"raci": _without_a(BASE_RACI)}, [("raci", "RACI_ACCOUNTABLE")]),
        (
            LEAD,
            {"raci": [*BASE_RACI, {"role": "A", "personId": "wang"}]},
            [("raci", "RACI_ACCOUNTABLE")],
        ),
        (
            LEAD,
            {"raci": [*_without_a(BASE_RACI), {"role": "A", "departmentId": "mkt"}]},
            [("raci", "RACI_ACCOUNTABLE_PERSON")],
        ),
        (LEAD, {"raci": [{"role": "A", "personId": "li"}]}, [("raci", "RACI_RESPONSIBLE")]),
        (LEAD, {"raci": [*BASE_RACI, {"role": "C"}]}, [("raci.4", "INVALID")]),
        (
            LEAD,
            {"raci": [*BASE_RACI, {"role": "C", "personId": "ghost"}]},
            [("raci.4.personId", "PERSON_NOT_FOUND")],
        ),
        (LEAD, {"title": "   "}, [("title", "INVALID")]),
        (LEAD, {"title": "x" * 201}, [("title", "INVALID")]),
    ],
)
async def test_refusals_are_user_errors_and_store_nothing(
    api: SubgraphClient,
    caller: Caller,
    changes: dict[str, Any],
    expected: list[tuple[str, str]],
) -> None:
    payload = await create(api, caller=caller, **changes)
    assert payload["task"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == expected
    assert await stored_counts(api) == (0, 0, 0)


async def test_a_due_time_without_utc_offset_is_refused_before_anything_runs(
    api: SubgraphClient,
) -> None:
    with pytest.raises(GraphQLFailure, match="has no UTC offset"):
        await create(api, caller=LEAD, dueAt="2027-01-31T18:00:00")  # 18:00 where?
    assert await stored_counts(api) == (0, 0, 0)


async def test_unknown_request_message_says_copies_lag(api: SubgraphClient) -> None:
    payload = await create(api, requestId="unknown")
    assert "eventually consistent" in payload["userErrors"][0]["message"]


async def test_several_problems_are_reported_together(api: SubgraphClient) -> None:
    payload = await create(api, title="", raci=[{"role": "C", "personId": "li"}])
    codes = {e["code"] for e in payload["userErrors"]}
    assert codes == {"INVALID", "RACI_ACCOUNTABLE", "RACI_RESPONSIBLE"}


@pytest.mark.parametrize(
    ("caller", "visible"),
    [(LEAD, True), (PARTICIPANT, True), (PMO, True), (STRANGER, False)],
)
async def test_task_is_visible_to_taking_part_departments(
    api: SubgraphClient, caller: Caller, visible: bool
) -> None:
    task_id = (await create(api))["task"]["id"]
    found = (await api.execute(TASK, {"id": task_id}, caller=caller))["task"]
    assert (found == {"id": task_id, "title": "Prepare launch materials"}) is visible


async def test_unknown_task_is_null(api: SubgraphClient) -> None:
    assert (await api.execute(TASK, {"id": "nope"}, caller=PMO))["task"] is None


async def test_collab_request_tasks_through_entities(api: SubgraphClient) -> None:
    await seed_request(api.runtime, "req-2")
    first = (await create(api))["task"]["id"]
    second = (await create(api, title="Book the venue"))["task"]["id"]
    representations = [
        {"__typename": "CollabRequest", "id": "req-1"},
        {"__typename": "CollabRequest", "id": "req-2"},
    ]
    data = await api.execute(REQUEST_TASKS, {"r": representations}, caller=PARTICIPANT)
    assert [(e["id"], e["tasks"]["totalCount"], nodes(e["tasks"])) for e in data["_entities"]] == [
        ("req-1", 2, [{"id": first}, {"id": second}]),
        ("req-2", 0, []),
    ]
    hidden = await api.execute(REQUEST_TASKS, {"r": representations[:1]}, caller=STRANGER)
    [entity] = hidden["_entities"]
    assert (entity["tasks"]["totalCount"], nodes(entity["tasks"])) == (0, [])


async def test_applying_a_replica_event_twice_is_idempotent(tasks_api: SubgraphClient) -> None:
    runtime = tasks_api.runtime
    consumer = Consumer(runtime, REPLICA_HANDLERS)
    envelope = request_created()
    assert await consumer.handle(envelope) is True
    assert await consumer.handle(envelope) is False
    rows = await runtime.pool.fetch(
        "SELECT id, lead_department_id, participant_department_ids FROM request_replicas"
    )
    assert [dict(r) for r in rows] == [
        {"id": "req-1", "lead_department_id": "mkt", "participant_department_ids": ["rd"]}
    ]
    assert await runtime.pool.fetchval("SELECT count(*) FROM inbox") == 1
