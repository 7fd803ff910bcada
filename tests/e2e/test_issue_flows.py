"""Issues through the gateway: the closed loop of an urgent issue, with concurrent verification,
the timeline, federation to requests and tasks, and the SLA report."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.e2e.gateway_client import GatewayClient
from tests.e2e.test_walking_skeleton import LI, SUN, create_request
from tests.support import Caller, nodes

LIU = Caller("liu", departments=("mkt",))  # a colleague of Li's
PMO = Caller("zhou", roles=("PMO",))

FIELDS = "issue { id status } userErrors { code message field }"
REPORT = f"mutation($input: ReportIssueInput!) {{ reportIssue(input: $input) {{ {FIELDS} }} }}"
ACK = (
    f"mutation($input: AcknowledgeIssueInput!) {{ acknowledgeIssue(input: $input) {{ {FIELDS} }} }}"
)
PLAN = f"mutation($input: ProposePlanInput!) {{ proposePlan(input: $input) {{ {FIELDS} }} }}"
START = f"mutation($input: IssueMoveInput!) {{ startWork(input: $input) {{ {FIELDS} }} }}"
WAIT = f"mutation($input: IssueMoveInput!) {{ waitForReporter(input: $input) {{ {FIELDS} }} }}"
RESUME = f"mutation($input: IssueMoveInput!) {{ resumeIssue(input: $input) {{ {FIELDS} }} }}"
RESOLVE = f"mutation($input: ResolveIssueInput!) {{ resolveIssue(input: $input) {{ {FIELDS} }} }}"
VERIFY = (
    f"mutation($input: VerifyResolutionInput!) {{ verifyResolution(input: $input) {{ {FIELDS} }} }}"
)
ARCHIVE = f"mutation($input: IssueMoveInput!) {{ archiveIssue(input: $input) {{ {FIELDS} }} }}"

ISSUE = """
query($id: ID!) {
  issue(id: $id) {
    code status plan resolution
    owner { id name } responsibleDepartment { id name } leadDepartment { name }
    request { id title issues { edges { node { id } } } }
    slaClocks { metric calendar state targetMinutes }
    timeline { totalCount edges { node { action actor { id name } } } }
  }
}
"""

SLA_REPORT = """
query($from: DateTime!, $to: DateTime!) {
  slaReport(from: $from, to: $to, groupBy: DEPARTMENT) { key issueCount responseMetPercent }
}
"""

# The issues service learns of requests, departments and people by events, a moment later.
_LAGGING = {"REQUEST_NOT_FOUND", "DEPARTMENT_NOT_FOUND", "OWNER_NOT_IN_DEPARTMENT"}


async def move(gateway: GatewayClient, query: str, caller: Caller, **input_: Any) -> dict[str, Any]:
    """Run a mutation that must succeed, waiting out replica lag."""
    deadline = time.monotonic() + 10
    while True:
        data = await gateway.execute(query, {"input": input_}, caller=caller)
        payload: dict[str, Any] = next(iter(data.values()))
        codes = {e["code"] for e in payload["userErrors"]}
        if not codes & _LAGGING or time.monotonic() > deadline:
            assert payload["userErrors"] == []
            return payload
        await asyncio.sleep(0.1)


async def new_request(gateway: GatewayClient) -> str:
    request = await create_request(
        gateway,
        kind="EMERGENCY",
        title="Batch quality complaint in East China",
        goals=[{"metric": "answers", "target": "1", "unit": "report", "dueDate": "2027-01-31"}],
    )
    request_id: str = request["id"]
    return request_id


@pytest.mark.timeout(120)
async def test_urgent_issue_closes_the_loop_through_the_gateway(gateway: GatewayClient) -> None:
    request_id = await new_request(gateway)
    report_input = {
        "requestId": request_id,
        "title": "Batch 42 fails the drop test",
        "severity": "CRITICAL",
        "urgent": True,
        "impact": "deliveries to three key accounts",
        "attemptedMeasures": "re-tested ten units",
    }
    issue_id = (await move(gateway, REPORT, SUN, **report_input))["issue"]["id"]
    await move(gateway, ACK, LI, issueId=issue_id, responsibleDepartmentId="rd", ownerId="sun")
    await move(gateway, PLAN, SUN, issueId=issue_id, plan="replace the foam inserts")
    await move(gateway, START, SUN, issueId=issue_id)
    await move(gateway, WAIT, SUN, issueId=issue_id, comment="need the customer's photos")
    await move(gateway, RESUME, SUN, issueId=issue_id)
    await move(gateway, RESOLVE, SUN, issueId=issue_id, resolution="inserts replaced")

    # Two lead-department members verify at the same moment: one wins, one is told why not.
    results = await asyncio.gather(
        *(
            gateway.execute(VERIFY, {"input": {"issueId": issue_id, "accepted": True}}, caller=c)
            for c in (LI, LIU)
        )
    )
    payloads = [r["verifyResolution"] for r in results]
    assert sorted(p["issue"] is not None for p in payloads) == [False, True]
    refused = next(p for p in payloads if p["issue"] is None)
    assert [e["code"] for e in refused["userErrors"]] == ["INVALID_TRANSITION"]
    await move(gateway, ARCHIVE, LI, issueId=issue_id)

    issue = (await gateway.execute(ISSUE, {"id": issue_id}, caller=LI))["issue"]
    assert (issue["status"], issue["plan"], issue["resolution"]) == (
        "ARCHIVED",
        "replace the foam inserts",
        "inserts replaced",
    )
    assert issue["owner"] == {"id": "sun", "name": "Sun Yu"}
    assert issue["responsibleDepartment"] == {"id": "rd", "name": "R&D"}
    assert issue["leadDepartment"] == {"name": "Marketing"}
    assert issue["request"]["title"] == "Batch quality complaint in East China"
    assert {"id": issue_id} in nodes(issue["request"]["issues"])
    assert [(c["metric"], c["calendar"], c["state"]) for c in issue["slaClocks"]] == [
        ("RESPONSE", "AROUND_THE_CLOCK", "MET"),
        ("PLAN", "AROUND_THE_CLOCK", "MET"),
    ]
    assert [(e["action"], e["actor"]["id"]) for e in nodes(issue["timeline"])] == [
        ("REPORTED", "sun"),
        ("ACKNOWLEDGED", "li"),
        ("PLAN_PROPOSED", "sun"),
        ("WORK_STARTED", "sun"),
        ("WAITING", "sun"),
        ("RESUMED", "sun"),
        ("RESOLVED", "sun"),
        ("VERIFIED", nodes(issue["timeline"])[7]["actor"]["id"]),
        ("ARCHIVED", "li"),
    ]
    assert nodes(issue["timeline"])[0]["actor"]["name"] == "Sun Yu"

    today = datetime.now(UTC)
    period = {
        "from": (today - timedelta(days=1)).isoformat(),
        "to": (today + timedelta(days=1)).isoformat(),
    }
    rows = (await gateway.execute(SLA_REPORT, period, caller=PMO))["slaReport"]
    assert {"key": "rd", "issueCount": 1, "responseMetPercent": 100.0} in rows
