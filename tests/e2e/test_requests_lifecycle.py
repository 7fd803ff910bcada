"""Through the gateway: a request's lifecycle from submission to closing, its kickoff meeting,
minutes whose action items become tasks in the tasks service, slots, lessons and channels."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from tests.e2e.gateway_client import GatewayClient
from tests.support import ADMIN, Caller, nodes

# Own ids, so this file and the walking skeleton can share one e2e stack.
LEAD = Caller("e2e-lead", departments=("e2e-mkt",), roles=("DEPARTMENT_HEAD",))
PART = Caller("e2e-part", departments=("e2e-eu",), roles=("DEPARTMENT_HEAD",))
APPROVER = Caller("e2e-dir", departments=("e2e-mkt",), roles=("DEPARTMENT_HEAD",))

DIRECTORY = """
mutation {
  sh: upsertRegion(input: {id: "e2e-sh", code: "E2E-SH", name: "Shanghai",
                           timeZone: "Asia/Shanghai", holidayCountry: "CN"}) { userErrors { code } }
  ber: upsertRegion(input: {id: "e2e-ber", code: "E2E-BER", name: "Berlin",
                            timeZone: "Europe/Berlin", holidayCountry: "DE"})
    { userErrors { code } }
  mkt: upsertDepartment(input: {id: "e2e-mkt", code: "E2E-MKT", name: "市场部",
                                regionId: "e2e-sh"}) { userErrors { code } }
  eu: upsertDepartment(input: {id: "e2e-eu", code: "E2E-EU", name: "欧洲销售",
                               regionId: "e2e-ber"}) { userErrors { code } }
  lead: upsertPerson(input: {id: "e2e-lead", name: "Li", email: "lead@e2e.example",
                             departmentId: "e2e-mkt", regionId: "e2e-sh",
                             timeZone: "Asia/Shanghai"}) { userErrors { code } }
  dir: upsertPerson(input: {id: "e2e-dir", name: "Director", email: "dir@e2e.example",
                            departmentId: "e2e-mkt", regionId: "e2e-sh",
                            timeZone: "Asia/Shanghai", roles: ["DEPARTMENT_HEAD"]})
    { userErrors { code } }
  part: upsertPerson(input: {id: "e2e-part", name: "Anna", email: "anna@e2e.example",
                             departmentId: "e2e-eu", regionId: "e2e-ber",
                             timeZone: "Europe/Berlin"}) { userErrors { code } }
}
"""

STATE = """
request { id status phase history { edges { node { action actor { id } } } } }
userErrors { code message }
"""


def move(name: str, input_type: str) -> str:
    return f"mutation($input: {input_type}!) {{ {name}(input: $input) {{ {STATE} }} }}"


CREATE = move("createRequest", "CreateRequestInput")
SUBMIT = move("submitRequest", "RequestMoveInput")
DECIDE = move("decideRequest", "DecideRequestInput")
ACTIVATE = move("activateRequest", "RequestMoveInput")
START_ACCEPTANCE = move("startAcceptance", "RequestMoveInput")
CLOSE = move("closeRequest", "RequestMoveInput")
RECORD = move("recordAcceptance", "RecordAcceptanceInput")

SCHEDULE = """
mutation($input: ScheduleMeetingInput!) {
  scheduleMeeting(input: $input) { meeting { id minutesDueAt icalendar } userErrors { code } }
}
"""
PUBLISH = """
mutation($input: PublishMinutesInput!) {
  publishMinutes(input: $input) { meeting { minutes { actionItems { id } } } userErrors { code } }
}
"""
TASKS = "query($id: ID!) { request(id: $id) { tasks { edges { node { title source } } } } }"


async def run(
    gateway: GatewayClient, document: str, caller: Caller, **input: Any
) -> dict[str, Any]:
    data = await gateway.execute(document, {"input": input}, caller=caller)
    payload: dict[str, Any] = next(iter(data.values()))
    return payload


async def active_request(gateway: GatewayClient) -> dict[str, Any]:
    data = await gateway.execute(DIRECTORY, caller=ADMIN)
    assert all(not v["userErrors"] for v in data.values()), data
    created = await run(
        gateway,
        CREATE,
        LEAD,
        kind="PROJECT",
        title="2026欧洲新品推广",
        leadDepartmentId="e2e-mkt",
        participantDepartmentIds=["e2e-eu"],
        approverId="e2e-dir",
        goals=[{"metric": "sales", "target": "100", "unit": "kEUR", "dueDate": "2027-03-31"}],
    )
    rid = created["request"]["id"]
    assert (await run(gateway, SUBMIT, LEAD, requestId=rid))["userErrors"] == []
    refused = await run(gateway, DECIDE, PART, requestId=rid, decision="APPROVE")
    assert [e["code"] for e in refused["userErrors"]] == ["NOT_APPROVER"]
    assert "SUBMITTED" in refused["userErrors"][0]["message"]
    approved = await run(gateway, DECIDE, APPROVER, requestId=rid, decision="APPROVE")
    assert approved["request"]["status"] == "APPROVED"
    active = await run(gateway, ACTIVATE, LEAD, requestId=rid)
    assert active["request"]["phase"] == "EXECUTION"
    result: dict[str, Any] = active["request"]
    return result


@pytest.mark.timeout(120)
async def test_lifecycle_to_closing_through_the_gateway(gateway: GatewayClient) -> None:
    request = await active_request(gateway)
    rid = request["id"]
    assert [(h["action"], h["actor"]["id"]) for h in nodes(request["history"])] == [
        ("CREATED", "e2e-lead"),
        ("SUBMITTED", "e2e-lead"),
        ("APPROVED", "e2e-dir"),
        ("ACTIVATED", "e2e-lead"),
    ]
    names = await gateway.execute(
        "query($id: ID!) { request(id: $id) { channelNames { name } } }", {"id": rid}, caller=PART
    )
    assert names["request"]["channelNames"][0]["name"] == "2026欧洲新品推广-筹备-市场部"
    started = await run(gateway, START_ACCEPTANCE, LEAD, requestId=rid)
    assert started["request"]["status"] == "IN_ACCEPTANCE"
    goal = await gateway.execute(
        "query($id: ID!) { request(id: $id) { goals { id } } }", {"id": rid}, caller=LEAD
    )
    results = [{"goalId": goal["request"]["goals"][0]["id"], "actual": "120"}]
    assert (await run(gateway, RECORD, LEAD, requestId=rid, results=results))["userErrors"] == []
    closed = await run(gateway, CLOSE, APPROVER, requestId=rid, comment="all goals met")
    assert closed["request"]["status"] == "CLOSED"
    lesson = await gateway.execute(
        "mutation($input: AddLessonInput!) { addLesson(input: $input) { userErrors { code } } }",
        {"input": {"requestId": rid, "title": "欧洲时区的例会", "body": "Meet at 16:00 Beijing."}},
        caller=PART,
    )
    assert lesson["addLesson"]["userErrors"] == []
    found = await gateway.execute(
        '{ lessons(search: "时区") { edges { node { title request { code } } } } }', caller=LEAD
    )
    assert [e["node"]["title"] for e in found["lessons"]["edges"]] == ["欧洲时区的例会"]


@pytest.mark.timeout(120)
async def test_minutes_action_items_become_tasks(gateway: GatewayClient) -> None:
    rid = (await active_request(gateway))["id"]
    slots = await gateway.execute(
        """{ suggestMeetingSlots(attendeeIds: ["e2e-lead", "e2e-part"], durationMinutes: 60,
                                 from: "2027-01-11T00:00:00Z", to: "2027-01-12T00:00:00Z") {
               slots { startsAt } reasonCode } }""",
        caller=LEAD,
    )
    start = slots["suggestMeetingSlots"]["slots"][0]["startsAt"]
    assert start == "2027-01-11T08:00:00+00:00"  # 16:00 in Shanghai, 09:00 in Berlin
    meeting = await run(
        gateway,
        SCHEDULE,
        LEAD,
        requestId=rid,
        kind="KICKOFF",
        title="Kickoff",
        startsAt=start,
        endsAt="2027-01-11T09:00:00+00:00",
        mode="ONLINE",
        joinUrl="https://meet.example/e2e",
        attendees=[{"personId": "e2e-lead"}, {"personId": "e2e-part"}],
    )
    assert meeting["meeting"]["minutesDueAt"] == "2027-01-12T09:00:00+00:00"
    assert "BEGIN:VEVENT" in meeting["meeting"]["icalendar"]
    # The invite file itself, downloaded through the gateway like a calendar client would.
    invite_url = gateway.url.replace("/graphql", f"/meetings/{meeting['meeting']['id']}/invite.ics")
    async with httpx.AsyncClient() as http:
        invite = await http.get(
            invite_url, headers={"authorization": f"Bearer {gateway.token(PART)}"}
        )
        anonymous = await http.get(invite_url)
    assert invite.status_code == 200
    assert invite.headers["content-type"].startswith("text/calendar")
    assert "BEGIN:VEVENT" in invite.text
    assert anonymous.status_code == 401
    published = await run(
        gateway,
        PUBLISH,
        LEAD,
        meetingId=meeting["meeting"]["id"],
        summary="Kickoff held",
        actionItems=[
            {
                "title": "Translate the campaign",
                "ownerId": "e2e-part",
                "departmentId": "e2e-eu",
                "dueAt": "2027-01-20T10:00:00+00:00",
            }
        ],
    )
    assert published["userErrors"] == []
    deadline = time.monotonic() + 15
    tasks: list[dict[str, Any]] = []
    while time.monotonic() < deadline and not tasks:
        data = await gateway.execute(TASKS, {"id": rid}, caller=LEAD)
        tasks = nodes(data["request"]["tasks"])
        await asyncio.sleep(0.2)
    assert tasks == [{"title": "Translate the campaign", "source": "ACTION_ITEM"}]
