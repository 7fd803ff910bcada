"""``myWork`` through the gateway for the requests and issues services' items: each kind enters
the list of whoever must act and leaves it within 2 s of the action that settles it; a
department's item reaches its members and its head, a head-only approval only the head."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.e2e.gateway_client import GatewayClient
from tests.e2e.test_issue_flows import (
    ACK,
    PLAN,
    REPORT,
    RESOLVE,
    RESUME,
    START,
    VERIFY,
    WAIT,
    move,
)
from tests.support import ADMIN, Caller, nodes

LI = Caller("li", departments=("mkt",), roles=("DEPARTMENT_HEAD",))
"""Head of marketing, the lead department."""
LIU = Caller("liu", departments=("mkt",))
"""A member of marketing."""
WANG = Caller("wang", departments=("rd",), roles=("DEPARTMENT_HEAD",))
"""Head of R&D."""
SUN = Caller("sun", departments=("rd",))
"""An R&D engineer: reports the issue and owns it."""
DIR = Caller("dir", departments=("exec",), roles=("DEPARTMENT_HEAD",))
"""The director who approves requests."""

# The names and emails of people and departments that other modules of the stack use too are
# theirs (tests/e2e/test_walking_skeleton.py), so whichever module runs first, each sees its own.
DIRECTORY = """
mutation {
  hq: upsertRegion(input: {id: "hq", code: "HQ", name: "HQ", timeZone: "Asia/Shanghai"})
    { userErrors { code } }
  mkt: upsertDepartment(input: {id: "mkt", code: "MKT", name: "Marketing", regionId: "hq"})
    { userErrors { code } }
  rd: upsertDepartment(input: {id: "rd", code: "RD", name: "R&D", regionId: "hq"})
    { userErrors { code } }
  exec: upsertDepartment(input: {id: "exec", code: "EXEC", name: "Executive", regionId: "hq"})
    { userErrors { code } }
  li: upsertPerson(input: {id: "li", name: "Li Na", email: "li@x.example", departmentId: "mkt",
                           regionId: "hq", timeZone: "Asia/Shanghai", roles: ["DEPARTMENT_HEAD"]})
    { userErrors { code } }
  liu: upsertPerson(input: {id: "liu", name: "Liu Yang", email: "liu@x.example",
                            departmentId: "mkt", regionId: "hq", timeZone: "Asia/Shanghai"})
    { userErrors { code } }
  wang: upsertPerson(input: {id: "wang", name: "Wang Lei", email: "wang@x.example",
                             departmentId: "rd", regionId: "hq", timeZone: "Asia/Shanghai",
                             roles: ["DEPARTMENT_HEAD"]}) { userErrors { code } }
  sun: upsertPerson(input: {id: "sun", name: "Sun Yu", email: "sun@x.example",
                            departmentId: "rd", regionId: "hq", timeZone: "Asia/Shanghai"})
    { userErrors { code } }
  dir: upsertPerson(input: {id: "dir", name: "Director", email: "dir@x.example",
                            departmentId: "exec", regionId: "hq", timeZone: "Asia/Shanghai",
                            roles: ["DEPARTMENT_HEAD"]}) { userErrors { code } }
  mktHead: upsertDepartment(input: {id: "mkt", code: "MKT", name: "Marketing", regionId: "hq",
                                    headId: "li"}) { userErrors { code } }
  rdHead: upsertDepartment(input: {id: "rd", code: "RD", name: "R&D", regionId: "hq",
                                   headId: "wang"}) { userErrors { code } }
  execHead: upsertDepartment(input: {id: "exec", code: "EXEC", name: "Executive",
                                     regionId: "hq", headId: "dir"}) { userErrors { code } }
}
"""

MY_WORK = """
query($kinds: [WorkKind!]) {
  myWork(kinds: $kinds, first: 100) {
    edges { node { id kind role title target targetId dueAt state slaState urgent since } }
  }
}
"""

PAYLOAD = "userErrors { code message field }"
CREATE_REQUEST = f"""
mutation($input: CreateRequestInput!) {{ createRequest(input: $input) {{
  request {{ id code }} {PAYLOAD} }} }}"""
SUBMIT = f"""
mutation($input: RequestMoveInput!) {{ submitRequest(input: $input) {{ {PAYLOAD} }} }}"""
DECIDE = f"""
mutation($input: DecideRequestInput!) {{ decideRequest(input: $input) {{ {PAYLOAD} }} }}"""
REQUEST_SECONDMENT = f"""
mutation($input: RequestSecondmentInput!) {{ requestSecondment(input: $input) {{
  secondment {{ id }} {PAYLOAD} }} }}"""
DECIDE_SECONDMENT = f"""
mutation($input: DecideSecondmentInput!) {{ decideSecondment(input: $input) {{ {PAYLOAD} }} }}"""
SCHEDULE = f"""
mutation($input: ScheduleMeetingInput!) {{ scheduleMeeting(input: $input) {{
  meeting {{ id }} {PAYLOAD} }} }}"""
PUBLISH = f"""
mutation($input: PublishMinutesInput!) {{ publishMinutes(input: $input) {{ {PAYLOAD} }} }}"""

FIRST_APPEARANCE = 15.0
"""Seconds the first item of a test may take: the callers' directory copies settle first."""
SETTLED = 2.0
"""Seconds within which an item leaves (or the next one enters) after the settling action."""

Items = list[dict[str, Any]]


async def directory(gateway: GatewayClient) -> None:
    data = await gateway.execute(DIRECTORY, caller=ADMIN)
    assert all(not v["userErrors"] for v in data.values()), data


async def ok(gateway: GatewayClient, query: str, caller: Caller, **input_: Any) -> dict[str, Any]:
    data = await gateway.execute(query, {"input": input_}, caller=caller)
    payload: dict[str, Any] = next(iter(data.values()))
    assert payload["userErrors"] == [], payload["userErrors"]
    return payload


async def work_on(gateway: GatewayClient, caller: Caller, target_id: str, kind: str) -> Items:
    """The caller's ``kind`` items on one record (other tests share the stack's people)."""
    data = await gateway.execute(MY_WORK, {"kinds": [kind]}, caller=caller)
    return [n for n in nodes(data["myWork"]) if n["targetId"] == target_id]


async def until(
    gateway: GatewayClient,
    caller: Caller,
    target_id: str,
    kind: str,
    holds: Callable[[Items], bool],
    seconds: float,
) -> Items:
    """Poll the caller's ``myWork`` until ``holds`` is true of their items on the record;
    fail if it takes more than ``seconds``."""
    started = time.monotonic()
    while True:
        items = await work_on(gateway, caller, target_id, kind)
        if holds(items):
            return items
        elapsed = time.monotonic() - started
        assert elapsed < seconds, f"{caller.sub}'s {kind} on {target_id}: {items} after {elapsed}"
        await asyncio.sleep(0.05)


async def enters(
    gateway: GatewayClient, caller: Caller, target_id: str, kind: str, seconds: float = SETTLED
) -> dict[str, Any]:
    [item] = await until(gateway, caller, target_id, kind, lambda items: len(items) == 1, seconds)
    return item


async def leaves(gateway: GatewayClient, caller: Caller, target_id: str, kind: str) -> None:
    await until(gateway, caller, target_id, kind, lambda items: not items, SETTLED)


async def approved_request(gateway: GatewayClient, kind: str = "PROJECT") -> tuple[str, str]:
    """A request led by marketing with R&D, submitted to the director; (id, code)."""
    await directory(gateway)
    created = await ok(
        gateway,
        CREATE_REQUEST,
        LI,
        kind=kind,
        title="Q4 new product national launch",
        leadDepartmentId="mkt",
        participantDepartmentIds=["rd"],
        approverId="dir",
        goals=[{"metric": "sales", "target": "2000000", "unit": "CNY", "dueDate": "2027-03-01"}],
    )
    request = created["request"]
    await ok(gateway, SUBMIT, LI, requestId=request["id"])
    return request["id"], request["code"]


@pytest.mark.timeout(120)
async def test_the_approver_decides_a_submitted_request(gateway: GatewayClient) -> None:
    request_id, code = await approved_request(gateway, kind="EMERGENCY")
    item = await enters(gateway, DIR, request_id, "DECIDE_REQUEST", FIRST_APPEARANCE)
    assert (item["role"], item["target"], item["title"]) == (
        "APPROVER",
        "REQUEST",
        f"{code} Q4 new product national launch",
    )
    assert (item["dueAt"], item["state"], item["slaState"], item["urgent"]) == (
        None,
        "ON_TRACK",
        None,
        True,
    )
    assert await work_on(gateway, LI, request_id, "DECIDE_REQUEST") == []
    await ok(gateway, DECIDE, DIR, requestId=request_id, decision="APPROVE")
    await leaves(gateway, DIR, request_id, "DECIDE_REQUEST")


@pytest.mark.timeout(120)
async def test_a_secondment_waits_for_each_head_only(gateway: GatewayClient) -> None:
    await directory(gateway)
    loan = {
        "personId": "liu",
        "fromDepartmentId": "mkt",
        "toDepartmentId": "rd",
        "startsOn": "2027-04-01",
        "endsOn": "2027-06-30",
        "duties": ["bring the launch plan to R&D"],
        "evaluationCriteria": ["plan adopted"],
    }
    secondment_id = (await ok(gateway, REQUEST_SECONDMENT, WANG, **loan))["secondment"]["id"]
    lending = await enters(gateway, LI, secondment_id, "APPROVE_SECONDMENT", FIRST_APPEARANCE)
    assert (lending["role"], lending["target"]) == ("DEPARTMENT_HEAD", "SECONDMENT")
    await enters(gateway, WANG, secondment_id, "APPROVE_SECONDMENT")
    for member in (LIU, SUN):  # the departments' members are not asked
        assert await work_on(gateway, member, secondment_id, "APPROVE_SECONDMENT") == []

    await ok(gateway, DECIDE_SECONDMENT, LI, secondmentId=secondment_id, decision="APPROVE")
    await leaves(gateway, LI, secondment_id, "APPROVE_SECONDMENT")
    assert len(await work_on(gateway, WANG, secondment_id, "APPROVE_SECONDMENT")) == 1
    await ok(gateway, DECIDE_SECONDMENT, WANG, secondmentId=secondment_id, decision="APPROVE")
    await leaves(gateway, WANG, secondment_id, "APPROVE_SECONDMENT")


def meeting_input(request_id: str, ended: datetime) -> dict[str, Any]:
    return {
        "requestId": request_id,
        "kind": "KICKOFF",
        "title": "Kickoff",
        "startsAt": (ended - timedelta(hours=1)).isoformat(),
        "endsAt": ended.isoformat(),
        "mode": "ONLINE",
        "joinUrl": "https://meet.example/kickoff",
        "attendees": [{"personId": "li"}, {"personId": "wang"}],
    }


@pytest.mark.timeout(120)
async def test_the_lead_department_publishes_the_minutes_of_a_meeting_that_ended(
    gateway: GatewayClient,
) -> None:
    request_id, code = await approved_request(gateway)
    await ok(gateway, DECIDE, DIR, requestId=request_id, decision="APPROVE")
    ended = datetime.now(UTC) - timedelta(minutes=5)
    meeting = await ok(gateway, SCHEDULE, LIU, **meeting_input(request_id, ended))
    meeting_id = meeting["meeting"]["id"]
    item = await enters(gateway, LIU, meeting_id, "PUBLISH_MINUTES", FIRST_APPEARANCE)
    assert (item["role"], item["target"], item["title"], item["state"]) == (
        "ORGANIZER",
        "MEETING",
        f"{code} Kickoff",
        "ON_TRACK",
    )
    assert datetime.fromisoformat(item["dueAt"]) == ended + timedelta(hours=24)
    await enters(gateway, LI, meeting_id, "PUBLISH_MINUTES")  # the head is a member too
    assert await work_on(gateway, WANG, meeting_id, "PUBLISH_MINUTES") == []
    await ok(gateway, PUBLISH, LI, meetingId=meeting_id, summary="plan agreed")
    await leaves(gateway, LIU, meeting_id, "PUBLISH_MINUTES")
    await leaves(gateway, LI, meeting_id, "PUBLISH_MINUTES")


@pytest.mark.timeout(120)
async def test_an_issue_goes_from_hand_to_hand(gateway: GatewayClient) -> None:
    request_id, _ = await approved_request(gateway)
    reported = await move(
        gateway,
        REPORT,
        SUN,
        requestId=request_id,
        title="Batch 42 fails the drop test",
        severity="MEDIUM",
        impact="three key accounts",
        attemptedMeasures="re-tested ten units",
    )
    issue_id = reported["issue"]["id"]
    # The lead department's item: its member and its head both see it, with its SLA clock.
    item = await enters(gateway, LIU, issue_id, "ACKNOWLEDGE_ISSUE", FIRST_APPEARANCE)
    assert (item["role"], item["target"], item["slaState"], item["urgent"]) == (
        "LEAD_DEPARTMENT",
        "ISSUE",
        "RUNNING",
        False,
    )
    assert item["title"].endswith(" Batch 42 fails the drop test")
    assert item["dueAt"] is not None
    await enters(gateway, LI, issue_id, "ACKNOWLEDGE_ISSUE")

    await move(gateway, ACK, LI, issueId=issue_id, responsibleDepartmentId="rd", ownerId="sun")
    await leaves(gateway, LIU, issue_id, "ACKNOWLEDGE_ISSUE")
    await leaves(gateway, LI, issue_id, "ACKNOWLEDGE_ISSUE")
    planning = await enters(gateway, SUN, issue_id, "PLAN_ISSUE")
    assert (planning["role"], planning["slaState"]) == ("OWNER", "RUNNING")
    assert await work_on(gateway, WANG, issue_id, "PLAN_ISSUE") == []  # the owner's alone

    await move(gateway, WAIT, LI, issueId=issue_id, comment="which batch exactly?")
    await leaves(gateway, SUN, issue_id, "PLAN_ISSUE")
    answering = await enters(gateway, SUN, issue_id, "ANSWER_ISSUE")
    assert (answering["role"], answering["slaState"]) == ("REPORTER", "PAUSED")
    await move(gateway, RESUME, SUN, issueId=issue_id)
    await leaves(gateway, SUN, issue_id, "ANSWER_ISSUE")
    await enters(gateway, SUN, issue_id, "PLAN_ISSUE")

    await move(gateway, PLAN, SUN, issueId=issue_id, plan="replace the foam inserts")
    await leaves(gateway, SUN, issue_id, "PLAN_ISSUE")
    resolving = await enters(gateway, SUN, issue_id, "RESOLVE_ISSUE")
    assert (resolving["dueAt"], resolving["slaState"]) == (None, None)
    await move(gateway, START, SUN, issueId=issue_id)
    assert len(await work_on(gateway, SUN, issue_id, "RESOLVE_ISSUE")) == 1
    await move(gateway, RESOLVE, SUN, issueId=issue_id, resolution="inserts replaced")
    await leaves(gateway, SUN, issue_id, "RESOLVE_ISSUE")
    await enters(gateway, LIU, issue_id, "VERIFY_ISSUE")
    await move(gateway, VERIFY, LI, issueId=issue_id, accepted=True)
    await leaves(gateway, LIU, issue_id, "VERIFY_ISSUE")
    await leaves(gateway, LI, issue_id, "VERIFY_ISSUE")
