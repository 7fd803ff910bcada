"""Tasks as a plan: hierarchy, milestones, finish-to-start dependencies, status moves,
progress and actual dates; every refusal changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import Caller, SubgraphClient, nodes
from tests.tasks.helpers import (
    LI,
    PMO,
    WANG,
    ZHAO,
    create_task,
    outbox,
    seeded,
    snapshot,
    update,
)


@pytest.fixture
async def api(tasks_api: SubgraphClient) -> SubgraphClient:
    return await seeded(tasks_api)


async def test_subtasks_milestones_and_dependencies_are_stored_and_shown(
    api: SubgraphClient,
) -> None:
    parent = await create_task(api, title="Launch", isMilestone=True, phase="EXECUTION")
    design = await create_task(api, title="Design", parentId=parent["id"])
    build = await create_task(api, title="Build", parentId=parent["id"], dependsOn=[design["id"]])
    assert parent["isMilestone"] is True
    assert parent["phase"] == "EXECUTION"
    assert build["parent"] == {"id": parent["id"]}
    assert build["dependsOn"] == [{"id": design["id"]}]
    query = "query($id: ID!) { task(id: $id) { children { edges { node { id title } } } } }"
    data = await api.execute(query, {"id": parent["id"]}, caller=WANG)
    assert nodes(data["task"]["children"]) == [
        {"id": design["id"], "title": "Design"},
        {"id": build["id"], "title": "Build"},
    ]


async def test_starting_before_a_dependency_is_done_is_refused_then_allowed(
    api: SubgraphClient,
) -> None:
    design = await create_task(api, title="Design")
    build = await create_task(api, title="Build", dependsOn=[design["id"]])
    before = await snapshot(api)

    refused = await update(api, taskId=build["id"], status="IN_PROGRESS")
    assert refused["task"] is None
    assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [
        ("status", "DEPENDENCY_NOT_DONE")
    ]
    assert "Design" in refused["userErrors"][0]["message"]
    assert await snapshot(api) == before

    await update(api, taskId=design["id"], status="IN_PROGRESS")
    await update(api, taskId=design["id"], status="DONE")
    started = await update(api, taskId=build["id"], status="IN_PROGRESS")
    assert started["userErrors"] == []
    assert started["task"]["status"] == "IN_PROGRESS"
    assert started["task"]["startedAt"] is not None


async def test_a_cancelled_dependency_no_longer_holds_its_dependent_up(
    api: SubgraphClient,
) -> None:
    design = await create_task(api, title="Design")
    build = await create_task(api, title="Build", dependsOn=[design["id"]])
    await update(api, taskId=design["id"], status="CANCELLED")
    started = await update(api, taskId=build["id"], status="IN_PROGRESS")
    assert started["userErrors"] == []
    assert started["task"]["status"] == "IN_PROGRESS"
    assert started["task"]["dependsOn"] == [{"id": design["id"]}]  # kept, for re-planning


async def test_adding_an_undone_dependency_to_started_work_is_refused(api: SubgraphClient) -> None:
    design = await create_task(api, title="Design")
    build = await create_task(api, title="Build")
    await update(api, taskId=build["id"], status="IN_PROGRESS")
    before = await snapshot(api)
    refused = await update(api, taskId=build["id"], dependsOn=[design["id"]])
    assert [e["code"] for e in refused["userErrors"]] == ["DEPENDENCY_NOT_DONE"]
    assert await snapshot(api) == before


async def test_status_moves_set_actual_dates_and_progress(api: SubgraphClient) -> None:
    task = await create_task(api)
    assert (task["status"], task["progress"], task["startedAt"]) == ("TODO", 0, None)
    moving = await update(api, caller=WANG, taskId=task["id"], status="IN_PROGRESS", progress=40)
    assert moving["task"]["progress"] == 40
    assert moving["task"]["startedAt"] is not None
    done = await update(api, caller=WANG, taskId=task["id"], status="DONE")
    assert done["task"]["progress"] == 100
    assert done["task"]["completedAt"] is not None
    reopened = await update(api, taskId=task["id"], status="IN_PROGRESS")
    assert reopened["task"]["completedAt"] is None
    assert reopened["task"]["startedAt"] == moving["task"]["startedAt"]

    [*_, last] = await outbox(api, "tasks.task.updated")
    data = last["data"]
    assert (data["status"], data["previous_status"], data["changed"]) == (
        "IN_PROGRESS",
        "DONE",
        ["status"],
    )
    assert {(r["role"], r["department_id"]) for r in data["raci"]} >= {("C", "legal"), ("I", "eu")}
    # Sending values it already has changes nothing, and says so (nobody is told of it).
    same = {"status": "IN_PROGRESS", "title": task["title"], "dependsOn": []}
    await update(api, taskId=task["id"], progress=55, **same)
    [*_, last] = await outbox(api, "tasks.task.updated")
    assert last["data"]["changed"] == ["progress"]


async def test_overdue_is_computed_from_due_time_and_status(api: SubgraphClient) -> None:
    task = await create_task(api, dueAt="2020-01-31T18:00:00+08:00")
    assert task["isOverdue"] is True
    await update(api, taskId=task["id"], status="CANCELLED")
    query = "query($id: ID!) { task(id: $id) { isOverdue } }"
    assert (await api.execute(query, {"id": task["id"]}))["task"]["isOverdue"] is False


async def test_planned_dates_can_be_moved_and_cleared(api: SubgraphClient) -> None:
    task = await create_task(api, plannedStart="2027-01-04T09:00:00+01:00")
    moved = await update(api, taskId=task["id"], plannedStart=None, dueAt="2027-02-01T10:00:00Z")
    assert moved["task"]["plannedStart"] is None
    assert moved["task"]["dueAt"].startswith("2027-02-01T10:00:00")


async def _refusal_cases(api: SubgraphClient) -> list[tuple[Caller, dict[str, Any], str, str]]:
    parent = await create_task(api, title="Parent")
    child = await create_task(api, title="Child", parentId=parent["id"])
    other = await create_task(api, title="Other", dependsOn=[child["id"]])
    return [
        (LI, {"taskId": child["id"], "status": "DONE"}, "status", "INVALID_STATUS_MOVE"),
        (LI, {"taskId": child["id"], "progress": 101}, "progress", "INVALID"),
        (LI, {"taskId": child["id"], "title": " "}, "title", "INVALID"),
        (LI, {"taskId": parent["id"], "parentId": child["id"]}, "parentId", "CYCLE"),
        (LI, {"taskId": child["id"], "dependsOn": [other["id"]]}, "dependsOn", "CYCLE"),
        (LI, {"taskId": child["id"], "dependsOn": ["nope"]}, "dependsOn.0", "NOT_FOUND"),
        (
            LI,
            {"taskId": child["id"], "reminderOffsetsMinutes": [0]},
            "reminderOffsetsMinutes",
            "INVALID",
        ),
        (WANG, {"taskId": parent["id"], "title": "Renamed"}, "taskId", "FORBIDDEN"),
        (ZHAO, {"taskId": parent["id"], "status": "IN_PROGRESS"}, "taskId", "NOT_FOUND"),
        (LI, {"taskId": "missing", "status": "IN_PROGRESS"}, "taskId", "NOT_FOUND"),
    ]


async def test_update_refusals_are_user_errors_and_change_nothing(api: SubgraphClient) -> None:
    cases = await _refusal_cases(api)
    for caller, fields, field, code in cases:
        before = await snapshot(api)
        payload = await update(api, caller=caller, **fields)
        assert payload["task"] is None, fields
        assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(field, code)], fields
        assert await snapshot(api) == before, fields


async def test_finishing_a_parent_with_open_subtasks_is_refused(api: SubgraphClient) -> None:
    parent = await create_task(api, title="Parent")
    await create_task(api, title="Child", parentId=parent["id"])
    await update(api, taskId=parent["id"], status="IN_PROGRESS")
    before = await snapshot(api)
    refused = await update(api, caller=PMO, taskId=parent["id"], status="DONE")
    assert [e["code"] for e in refused["userErrors"]] == ["CHILDREN_OPEN"]
    assert await snapshot(api) == before


async def test_create_refuses_links_outside_the_request(api: SubgraphClient) -> None:
    from tests.tasks.helpers import CREATE, RACI, seed_request

    await seed_request(api.runtime, "req-2")
    foreign = await create_task(api, requestId="req-2")
    before = await snapshot(api)
    variables = {
        "input": {
            "requestId": "req-1",
            "title": "X",
            "raci": RACI,
            "parentId": foreign["id"],
            "dependsOn": [foreign["id"]],
        }
    }
    payload = (await api.execute(CREATE, variables, caller=LI))["createTask"]
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
        ("parentId", "NOT_FOUND"),
        ("dependsOn.0", "NOT_FOUND"),
    ]
    assert await snapshot(api) == before
