"""The tasks service through the gateway, continued: a recurring operation with one instance
per participating region and a consolidation task, and a reported problem raised as an issue
in the issues service, linked back once that service has opened it."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.e2e import test_requests_lifecycle
from tests.e2e.gateway_client import GatewayClient
from tests.e2e.test_requests_more import codes, mutation, until
from tests.e2e.test_walking_skeleton import LI, WANG, create_request, retry_while_unknown
from tests.support import ADMIN, nodes

THIRD_BUSINESS_DAY = "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=3;BYHOUR=18;BYMINUTE=0"
"""The handbook's monthly finance close: the 3rd business day of each region, 18:00 local."""

CREATE_RECURRING = mutation(
    "createRecurringTask",
    "CreateRecurringTaskInput",
    """
    recurringTask {
      id regions { region { id } departments { id } }
      instances(first: 100) { edges { node { id title source dueAt dependsOn { id }
                                             raci { role person { id } department { id } } } } }
    }
    """,
)
RECURRING = """
query($id: ID!) {
  request(id: $id) {
    recurringTasks { edges { node { id consolidationDepartment { id } accountable { name } } } }
  }
}
"""

ZONES = {"hq": ZoneInfo("Asia/Shanghai"), "e2e-ber": ZoneInfo("Europe/Berlin")}
"""Regions of the participating departments: R&D at HQ, European sales in Berlin."""


def due(task: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(task["dueAt"])


def roles(task: dict[str, Any]) -> set[tuple[str, str]]:
    """(role, person or department id) of each RACI assignment."""
    return {(r["role"], (r["person"] or r["department"])["id"]) for r in task["raci"]}


def series(request_id: str, **changes: Any) -> dict[str, Any]:
    base = {
        "requestId": request_id,
        "title": "Submit regional sales data",
        "rrule": THIRD_BUSINESS_DAY,
        "regionId": "hq",
        "accountablePersonId": "wang",
        "consolidationTitle": "Consolidate the monthly report",
    }
    return {**base, **changes}


@pytest.mark.timeout(120)
async def test_recurring_task_has_an_instance_per_region_and_a_consolidation(
    gateway: GatewayClient,
) -> None:
    # Europe's department (region e2e-ber) comes from the lifecycle file's directory.
    directory = await gateway.execute(test_requests_lifecycle.DIRECTORY, caller=ADMIN)
    assert all(not v["userErrors"] for v in directory.values()), directory
    request = await create_request(gateway, participantDepartmentIds=["rd", "e2e-eu"])
    created = (
        await retry_while_unknown(
            gateway,
            CREATE_RECURRING,
            {"input": series(request["id"])},
            LI,
            "createRecurringTask",
        )
    )["recurringTask"]
    assert {
        (r["region"]["id"], tuple(d["id"] for d in r["departments"])) for r in created["regions"]
    } == {
        ("hq", ("rd",)),
        ("e2e-ber", ("e2e-eu",)),
    }

    instances = nodes(created["instances"])
    consolidations = [t for t in instances if t["dependsOn"]]
    regional = {t["id"]: t for t in instances if not t["dependsOn"]}
    assert consolidations, instances  # at least one month within the horizon
    assert len(regional) == 2 * len(consolidations)
    assert {t["source"] for t in instances} == {"RECURRING"}
    for consolidation in consolidations:
        assert consolidation["title"].startswith("Consolidate the monthly report (")
        parts = [regional[d["id"]] for d in consolidation["dependsOn"]]
        assert sorted(t["title"] for t in parts) == [
            "Submit regional sales data (Berlin)",
            "Submit regional sales data (HQ)",
        ]
        # Due after both regional instances, R the lead department, A the accountable.
        assert due(consolidation) > max(due(t) for t in parts)
        assert roles(consolidation) == {("A", "wang"), ("R", "mkt")}
    for task in regional.values():
        region = "e2e-ber" if task["title"].endswith("(Berlin)") else "hq"
        local = due(task).astimezone(ZONES[region])
        assert (local.hour, local.minute, local.isoweekday() <= 5) == (18, 0, True)
        department = "e2e-eu" if region == "e2e-ber" else "rd"
        assert roles(task) == {("A", "wang"), ("R", department)}

    tasks = await gateway.execute(
        "query($id: ID!) { request(id: $id) { tasks(first: 100) { edges { node { source } } } } }",
        {"id": request["id"]},
        caller=LI,
    )
    sources = Counter(t["source"] for t in nodes(tasks["request"]["tasks"]))
    assert sources == {"RECURRING": len(instances)}
    listed = await gateway.execute(RECURRING, {"id": request["id"]}, caller=WANG)
    assert nodes(listed["request"]["recurringTasks"]) == [
        {
            "id": created["id"],
            "consolidationDepartment": {"id": "mkt"},
            "accountable": {"name": "Wang Lei"},
        }
    ]

    bad_rule = await gateway.execute(
        CREATE_RECURRING, {"input": series(request["id"], rrule="FREQ=HOURLY")}, caller=LI
    )
    assert [(e["field"], e["code"]) for e in bad_rule["createRecurringTask"]["userErrors"]] == [
        ("rrule", "INVALID_RRULE")
    ]
    not_lead = await gateway.execute(
        CREATE_RECURRING, {"input": series(request["id"])}, caller=WANG
    )
    assert codes(not_lead["createRecurringTask"]) == ["FORBIDDEN"]
    after = await gateway.execute(RECURRING, {"id": request["id"]}, caller=LI)
    assert len(after["request"]["recurringTasks"]["edges"]) == 1  # the refusals created nothing


SUBMIT_REPORT = mutation(
    "submitProgressReport", "SubmitProgressReportInput", "report { problems { id } }"
)
RAISE = mutation(
    "raiseProblemAsIssue", "RaiseProblemAsIssueInput", "problem { id raisedAt linkedIssue { id } }"
)
PROBLEMS = """
query($id: ID!) {
  request(id: $id) {
    progressReports { edges { node { problems { id linkedIssue {
      id code title severity urgent status sourceProblemId reportingDepartment { id } } } } } }
    issues { edges { node { id sourceProblemId } } }
  }
}
"""


@pytest.mark.timeout(120)
async def test_reported_problem_is_raised_as_a_linked_issue(gateway: GatewayClient) -> None:
    request = await create_request(gateway)
    report = {
        "requestId": request["id"],
        "departmentId": "rd",
        "periodStart": "2027-02-01",
        "periodEnd": "2027-02-07",
        "problems": [
            {
                "description": "Customs hold on the demo units\nReleased in two weeks at best.",
                "impact": "roadshow in Chengdu slips",
                "attemptedMeasures": "asked the forwarder to expedite",
            }
        ],
    }
    submitted = await retry_while_unknown(
        gateway, SUBMIT_REPORT, {"input": report}, WANG, "submitProgressReport"
    )
    problem_id = submitted["report"]["problems"][0]["id"]

    wrong_severity = await gateway.execute(
        RAISE, {"input": {"problemId": problem_id, "severity": "SEVERE"}}, caller=LI
    )
    assert [
        (e["field"], e["code"]) for e in wrong_severity["raiseProblemAsIssue"]["userErrors"]
    ] == [("severity", "INVALID")]
    raised = (
        await gateway.execute(
            RAISE,
            {"input": {"problemId": problem_id, "severity": "HIGH", "urgent": True}},
            caller=WANG,
        )
    )["raiseProblemAsIssue"]
    assert raised["userErrors"] == []
    assert raised["problem"]["raisedAt"] is not None
    again = await gateway.execute(RAISE, {"input": {"problemId": problem_id}}, caller=LI)
    assert codes(again["raiseProblemAsIssue"]) == ["ALREADY_RAISED"]

    # The issues service opens the issue from the event; tasks links the problem when it hears.
    def linked(data: dict[str, Any]) -> bool:
        problems = nodes(data["request"]["progressReports"])[0]["problems"]
        return problems[0]["linkedIssue"] is not None

    data = await until(lambda: gateway.execute(PROBLEMS, {"id": request["id"]}, caller=LI), linked)
    issue = nodes(data["request"]["progressReports"])[0]["problems"][0]["linkedIssue"]
    assert issue is not None, data
    assert issue["code"].startswith("ISS-")
    assert (issue["title"], issue["severity"], issue["urgent"], issue["status"]) == (
        "Customs hold on the demo units",
        "HIGH",
        True,
        "REPORTED",
    )
    assert issue["sourceProblemId"] == problem_id
    assert issue["reportingDepartment"] == {"id": "rd"}
    assert nodes(data["request"]["issues"]) == [{"id": issue["id"], "sourceProblemId": problem_id}]
