"""The tasks service through the gateway: planning with dependencies and RACI, the matrix,
a person's assignments composed with the directory, and a progress report."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.gateway_client import GatewayClient
from tests.e2e.test_walking_skeleton import LI, SUN, WANG, create_request, retry_while_unknown
from tests.support import Caller, nodes

OUTSIDER = Caller("e2e-dash-outsider", departments=("e2e-dash-legal",))
"""Of a department that takes part in no request here."""

CREATE_TASK = """
mutation($input: CreateTaskInput!) {
  createTask(input: $input) { task { id status } userErrors { field code message } }
}
"""

UPDATE_TASK = """
mutation($input: UpdateTaskInput!) {
  updateTask(input: $input) { task { id status progress } userErrors { field code } }
}
"""

SET_RACI = """
mutation($input: SetRaciInput!) {
  setRaci(input: $input) { task { id } userErrors { field code } }
}
"""

PLAN = """
query($id: ID!) {
  request(id: $id) {
    code
    tasks { edges { node { title status dependsOn { title } raci { role person { name } } } } }
    raciMatrix {
      columns { key person { name } }
      problems { totalCount edges { node { code department { name } } } }
    }
  }
}
"""

ME = """
{ me { name assignments(role: R, first: 100) {
  totalCount edges { node { role task { title request { id } } } } } } }
"""

SUBMIT = """
mutation($input: SubmitProgressReportInput!) {
  submitProgressReport(input: $input) { report { id } userErrors { field code } }
}
"""

STATUS = """
query($id: ID!) {
  request(id: $id) {
    reportingStatus(period: {start: "2027-01-04", end: "2027-01-10"}) {
      departments { department { name } submitted }
    }
  }
}
"""


def task_input(request_id: str, title: str, **changes: Any) -> dict[str, Any]:
    base = {
        "requestId": request_id,
        "title": title,
        "raci": [{"role": "A", "personId": "wang"}, {"role": "R", "personId": "sun"}],
    }
    return {**base, **changes}


@pytest.mark.timeout(120)
async def test_plan_raci_matrix_and_assignments_through_the_gateway(
    gateway: GatewayClient,
) -> None:
    request = await create_request(gateway)
    design = (
        await retry_while_unknown(
            gateway,
            CREATE_TASK,
            {"input": task_input(request["id"], "Design the campaign")},
            LI,
            "createTask",
        )
    )["task"]
    build = (
        await gateway.execute(
            CREATE_TASK,
            {"input": task_input(request["id"], "Produce the materials", dependsOn=[design["id"]])},
            caller=LI,
        )
    )["createTask"]["task"]

    refused = (
        await gateway.execute(
            UPDATE_TASK, {"input": {"taskId": build["id"], "status": "IN_PROGRESS"}}, caller=SUN
        )
    )["updateTask"]
    assert refused["task"] is None
    assert refused["userErrors"] == [{"field": "status", "code": "DEPENDENCY_NOT_DONE"}]

    for status in ("IN_PROGRESS", "DONE"):
        moved = await gateway.execute(
            UPDATE_TASK, {"input": {"taskId": design["id"], "status": status}}, caller=SUN
        )
        assert moved["updateTask"]["userErrors"] == []
    started = await gateway.execute(
        UPDATE_TASK,
        {"input": {"taskId": build["id"], "status": "IN_PROGRESS", "progress": 10}},
        caller=SUN,
    )
    assert started["updateTask"]["task"]["status"] == "IN_PROGRESS"

    bad_raci = await gateway.execute(
        SET_RACI,
        {"input": {"taskId": build["id"], "assignments": [{"role": "R", "personId": "sun"}]}},
        caller=LI,
    )
    assert bad_raci["setRaci"]["userErrors"] == [
        {"field": "assignments", "code": "RACI_ACCOUNTABLE"}
    ]
    good_raci = await gateway.execute(
        SET_RACI,
        {
            "input": {
                "taskId": build["id"],
                "assignments": [
                    {"role": "A", "personId": "li"},
                    {"role": "R", "personId": "sun"},
                    {"role": "C", "departmentId": "rd"},
                ],
            }
        },
        caller=LI,
    )
    assert good_raci["setRaci"]["userErrors"] == []

    plan = (await gateway.execute(PLAN, {"id": request["id"]}, caller=LI))["request"]
    tasks = nodes(plan["tasks"])
    assert [t["title"] for t in tasks] == ["Design the campaign", "Produce the materials"]
    assert tasks[1]["dependsOn"] == [{"title": "Design the campaign"}]
    assert {(r["role"], r["person"]["name"]) for r in tasks[1]["raci"] if r["person"]} == {
        ("A", "Li Na"),
        ("R", "Sun Yu"),
    }
    names = {c["person"]["name"] for c in plan["raciMatrix"]["columns"] if c["person"]}
    assert names == {"Li Na", "Wang Lei", "Sun Yu"}
    problems = plan["raciMatrix"]["problems"]
    assert problems == {"totalCount": 0, "edges": []}  # rd holds roles; mkt is the lead (Li Na)

    mine = (await gateway.execute(ME, caller=SUN))["me"]
    assert mine["name"] == "Sun Yu"
    # Other tests of the shared e2e stack give Sun Yu tasks of their own requests too.
    edges = mine["assignments"]["edges"]
    assert mine["assignments"]["totalCount"] == len(edges)
    here = [
        e["node"]["task"]["title"]
        for e in edges
        if e["node"]["task"]["request"]["id"] == request["id"]
    ]
    assert sorted(here) == ["Design the campaign", "Produce the materials"]


@pytest.mark.timeout(120)
async def test_progress_report_and_reporting_status_through_the_gateway(
    gateway: GatewayClient,
) -> None:
    request = await create_request(gateway)
    task = (
        await retry_while_unknown(
            gateway,
            CREATE_TASK,
            {"input": task_input(request["id"], "Regional roadshow")},
            LI,
            "createTask",
        )
    )["task"]
    report = {
        "requestId": request["id"],
        "departmentId": "rd",
        "periodStart": "2027-01-04",
        "periodEnd": "2027-01-10",
        "items": [
            {
                "taskId": task["id"],
                "plannedProgress": 50,
                "actualProgress": 20,
                "status": "IN_PROGRESS",
            }
        ],
    }
    refused = await gateway.execute(SUBMIT, {"input": report}, caller=WANG)
    assert refused["submitProgressReport"]["userErrors"] == [
        {"field": "items.0.delayReason", "code": "DELAY_REASON_REQUIRED"}
    ]
    report["items"][0]["delayReason"] = "venue booking fell through"
    accepted = await gateway.execute(SUBMIT, {"input": report}, caller=WANG)
    assert accepted["submitProgressReport"]["userErrors"] == []

    status = (await gateway.execute(STATUS, {"id": request["id"]}, caller=LI))["request"]
    assert status["reportingStatus"]["departments"] == [
        {"department": {"name": "R&D"}, "submitted": True}
    ]


DASHBOARD = """
query($id: ID!, $after: String) {
  request(id: $id) {
    code title status leadDepartment { name }
    tasks(first: 2, after: $after) {
      totalCount pageInfo { hasNextPage endCursor }
      edges { node { title status raci { role person { name } department { name } } } }
    }
    issues(first: 5) { totalCount edges { node { code status } } }
  }
}
"""


@pytest.mark.timeout(120)
async def test_dashboard_pages_the_tasks_of_a_request_through_the_gateway(
    gateway: GatewayClient,
) -> None:
    request = await create_request(gateway, title="Dashboard with many tasks")
    titles = [f"Regional roadshow {n}" for n in range(3)]
    first_task = task_input(request["id"], titles[0])
    await retry_while_unknown(gateway, CREATE_TASK, {"input": first_task}, LI, "createTask")
    for title in titles[1:]:
        created = await gateway.execute(
            CREATE_TASK, {"input": task_input(request["id"], title)}, caller=LI
        )
        assert created["createTask"]["userErrors"] == []

    first = (await gateway.execute(DASHBOARD, {"id": request["id"]}, caller=LI))["request"]
    assert (first["code"], first["leadDepartment"]) == (request["code"], {"name": "Marketing"})
    assert (first["tasks"]["totalCount"], first["tasks"]["pageInfo"]["hasNextPage"]) == (3, True)
    assert first["issues"] == {"totalCount": 0, "edges": []}
    after = first["tasks"]["pageInfo"]["endCursor"]
    rest = (await gateway.execute(DASHBOARD, {"id": request["id"], "after": after}, caller=LI))[
        "request"
    ]
    assert (rest["tasks"]["totalCount"], rest["tasks"]["pageInfo"]["hasNextPage"]) == (3, False)
    tasks = nodes(first["tasks"]) + nodes(rest["tasks"])
    assert [t["title"] for t in tasks] == titles
    assert {(r["role"], r["person"]["name"]) for r in tasks[0]["raci"]} == {
        ("A", "Wang Lei"),
        ("R", "Sun Yu"),
    }
    # Someone of a department that does not take part does not get the request at all.
    outsider = await gateway.execute(DASHBOARD, {"id": request["id"]}, caller=OUTSIDER)
    assert outsider["request"] is None
