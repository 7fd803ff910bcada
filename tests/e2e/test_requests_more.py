"""The requests service through the gateway, rule by rule: directory upkeep, editing and
cancelling, the agenda, the kickoff outputs, the acceptance tolerance, secondments and
document folders, each with the refusals a front end must be able to show."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest

from tests.e2e.gateway_client import GatewayClient
from tests.e2e.test_requests_lifecycle import (
    ACTIVATE,
    CREATE,
    DECIDE,
    RECORD,
    SCHEDULE,
    START_ACCEPTANCE,
    SUBMIT,
    run,
)
from tests.support import ADMIN, Caller, nodes

T = TypeVar("T")

# Ids of their own (rm-*), so this file shares the session's stack with the other e2e files.
LI = Caller("rm-li", departments=("rm-mkt",), roles=("DEPARTMENT_HEAD",))
"""Head of marketing, the lead department of the requests created here."""
CHEN = Caller("rm-chen", departments=("rm-mkt",))
"""A member of the lead department."""
DIRECTOR = Caller("rm-dir", departments=("rm-mkt",), roles=("DEPARTMENT_HEAD",))
"""The approver named on the requests."""
ANNA = Caller("rm-anna", departments=("rm-eu",), roles=("DEPARTMENT_HEAD",))
"""Head of European sales, the participating department."""
MAX = Caller("rm-max", departments=("rm-eu",))
"""A member of the participating department."""

DIRECTORY = """
mutation {
  sh: upsertRegion(input: {id: "rm-sh", code: "RM-SH", name: "Shanghai",
                           timeZone: "Asia/Shanghai", holidayCountry: "CN"}) { userErrors { code } }
  ber: upsertRegion(input: {id: "rm-ber", code: "RM-BER", name: "Berlin",
                            timeZone: "Europe/Berlin", holidayCountry: "DE"})
    { userErrors { code } }
  mkt: upsertDepartment(input: {id: "rm-mkt", code: "RM-MKT", name: "市场部", regionId: "rm-sh"})
    { userErrors { code } }
  eu: upsertDepartment(input: {id: "rm-eu", code: "RM-EU", name: "欧洲销售", regionId: "rm-ber"})
    { userErrors { code } }
  li: upsertPerson(input: {id: "rm-li", name: "Li Na", email: "li@rm.example",
                           departmentId: "rm-mkt", regionId: "rm-sh", timeZone: "Asia/Shanghai",
                           roles: ["DEPARTMENT_HEAD"]}) { userErrors { code } }
  chen: upsertPerson(input: {id: "rm-chen", name: "Chen Jie", email: "chen@rm.example",
                             departmentId: "rm-mkt", regionId: "rm-sh",
                             timeZone: "Asia/Shanghai"}) { userErrors { code } }
  dir: upsertPerson(input: {id: "rm-dir", name: "Director", email: "dir@rm.example",
                            departmentId: "rm-mkt", regionId: "rm-sh", timeZone: "Asia/Shanghai",
                            roles: ["DEPARTMENT_HEAD"]}) { userErrors { code } }
  anna: upsertPerson(input: {id: "rm-anna", name: "Anna Becker", email: "anna@rm.example",
                             departmentId: "rm-eu", regionId: "rm-ber", timeZone: "Europe/Berlin",
                             roles: ["DEPARTMENT_HEAD"]}) { userErrors { code } }
  max: upsertPerson(input: {id: "rm-max", name: "Max Weber", email: "max@rm.example",
                            departmentId: "rm-eu", regionId: "rm-ber",
                            timeZone: "Europe/Berlin"}) { userErrors { code } }
  mktHead: upsertDepartment(input: {id: "rm-mkt", code: "RM-MKT", name: "市场部",
                                    regionId: "rm-sh", headId: "rm-li"}) { userErrors { code } }
  euHead: upsertDepartment(input: {id: "rm-eu", code: "RM-EU", name: "欧洲销售",
                                   regionId: "rm-ber", headId: "rm-anna"}) { userErrors { code } }
}
"""

TITLE = "欧洲渠道拓展"
ERRORS = "userErrors { field code message }"


def mutation(name: str, input_type: str, selection: str) -> str:
    """A one-mutation document taking ``$input`` and selecting ``selection`` and the errors."""
    return f"mutation($input: {input_type}!) {{ {name}(input: $input) {{ {selection} {ERRORS} }} }}"


def codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["userErrors"]]


async def until(
    fetch: Callable[[], Awaitable[T]], done: Callable[[T], bool], seconds: float = 15
) -> T:
    """Poll ``fetch`` until ``done`` holds, for what other services learn by events (copies
    are eventually consistent); returns the last value, so a failing assertion shows it."""
    deadline = time.monotonic() + seconds
    while True:
        value = await fetch()
        if done(value) or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.2)


async def draft_request(gateway: GatewayClient) -> str:
    """Load the directory; a DRAFT request led by marketing, Europe taking part."""
    data = await gateway.execute(DIRECTORY, caller=ADMIN)
    assert all(not v["userErrors"] for v in data.values()), data
    created = await run(
        gateway,
        CREATE,
        LI,
        kind="PROJECT",
        title=TITLE,
        leadDepartmentId="rm-mkt",
        participantDepartmentIds=["rm-eu"],
        approverId="rm-dir",
        goals=[{"metric": "dealers", "target": "100", "unit": "dealer", "dueDate": "2027-06-30"}],
    )
    assert created["userErrors"] == []
    request_id: str = created["request"]["id"]
    return request_id


async def approved_request(gateway: GatewayClient) -> str:
    request_id = await draft_request(gateway)
    assert (await run(gateway, SUBMIT, LI, requestId=request_id))["userErrors"] == []
    decided = await run(gateway, DECIDE, DIRECTOR, requestId=request_id, decision="APPROVE")
    assert decided["request"]["status"] == "APPROVED"
    return request_id


async def active_request(gateway: GatewayClient) -> str:
    request_id = await approved_request(gateway)
    assert (await run(gateway, ACTIVATE, LI, requestId=request_id))["userErrors"] == []
    return request_id


# --- directory -------------------------------------------------------------------------------

UPSERT_REGION = mutation("upsertRegion", "UpsertRegionInput", "region { id }")
UPSERT_DEPARTMENT = mutation("upsertDepartment", "UpsertDepartmentInput", "department { id }")
UPSERT_PERSON = mutation("upsertPerson", "UpsertPersonInput", "person { id }")
DIRECTORY_VIEW = """
{
  regions { id timeZone calendar { holidayCountry extraHolidays extraWorkdays
                                   workingHours { weekday start end } } }
  departments { id name parent { id } head { id } region { id } }
  people(departmentId: "rm-south") {
    edges { node { id roles timeZone dingtalkId wecomId feishuId } }
  }
}
"""

SOUTH = {"id": "rm-south", "code": "RM-SOUTH", "name": "华南销售", "regionId": "rm-gz"}


@pytest.mark.timeout(120)
async def test_directory_is_kept_by_admins_and_refused_to_others(gateway: GatewayClient) -> None:
    await draft_request(gateway)  # the rm-* directory, rm-mkt the parent below
    region = {
        "id": "rm-gz",
        "code": "RM-GZ",
        "name": "Guangzhou",
        "timeZone": "Asia/Shanghai",
        "holidayCountry": "CN",
        "workingHours": [{"weekday": 1, "start": "09:00:00", "end": "17:30:00"}],
        "extraHolidays": ["2027-01-04"],
        "extraWorkdays": ["2027-01-09"],
    }
    assert (await run(gateway, UPSERT_REGION, ADMIN, **region))["userErrors"] == []
    department = {**SOUTH, "parentId": "rm-mkt"}
    assert (await run(gateway, UPSERT_DEPARTMENT, ADMIN, **department))["userErrors"] == []
    person = {
        "id": "rm-zhou",
        "name": "Zhou Min",
        "email": "zhou@rm.example",
        "departmentId": "rm-south",
        "regionId": "rm-gz",
        "timeZone": "Asia/Shanghai",
        "roles": ["DEPARTMENT_HEAD"],
        "dingtalkId": "dt-zhou",
        "wecomId": "wc-zhou",
        "feishuId": "fs-zhou",
    }
    assert (await run(gateway, UPSERT_PERSON, ADMIN, **person))["userErrors"] == []
    headed = await run(gateway, UPSERT_DEPARTMENT, ADMIN, **department, headId="rm-zhou")
    assert headed["userErrors"] == []

    # Nobody but an ADMIN keeps the directory, not even a department head; nothing changes.
    refusals = [
        await run(gateway, UPSERT_REGION, LI, **{**region, "name": "Canton"}),
        await run(gateway, UPSERT_DEPARTMENT, LI, **{**department, "name": "South"}),
        await run(gateway, UPSERT_PERSON, LI, **{**person, "roles": ["PMO"]}),
    ]
    assert [codes(p) for p in refusals] == [["FORBIDDEN"]] * 3
    mkt_under_south = {
        "id": "rm-mkt",
        "code": "RM-MKT",
        "name": "市场部",
        "regionId": "rm-sh",
        "headId": "rm-li",
        "parentId": "rm-south",
    }
    cycle = await run(gateway, UPSERT_DEPARTMENT, ADMIN, **mkt_under_south)
    assert [(e["field"], e["code"]) for e in cycle["userErrors"]] == [
        ("parentId", "HIERARCHY_CYCLE")
    ]

    view = await gateway.execute(DIRECTORY_VIEW, caller=CHEN)
    [gz] = [r for r in view["regions"] if r["id"] == "rm-gz"]
    assert gz == {
        "id": "rm-gz",
        "timeZone": "Asia/Shanghai",
        "calendar": {
            "holidayCountry": "CN",
            "extraHolidays": ["2027-01-04"],
            "extraWorkdays": ["2027-01-09"],
            "workingHours": [{"weekday": 1, "start": "09:00:00", "end": "17:30:00"}],
        },
    }
    [south] = [d for d in view["departments"] if d["id"] == "rm-south"]
    assert south == {
        "id": "rm-south",
        "name": "华南销售",
        "parent": {"id": "rm-mkt"},
        "head": {"id": "rm-zhou"},
        "region": {"id": "rm-gz"},
    }
    [mkt] = [d for d in view["departments"] if d["id"] == "rm-mkt"]
    assert mkt["parent"] is None
    assert nodes(view["people"]) == [
        {
            "id": "rm-zhou",
            "roles": ["DEPARTMENT_HEAD"],
            "timeZone": "Asia/Shanghai",
            "dingtalkId": "dt-zhou",
            "wecomId": "wc-zhou",
            "feishuId": "fs-zhou",
        }
    ]


# --- editing and cancelling ------------------------------------------------------------------

FORM = """
request { title background status goals { metric unit }
          history { edges { node { action actor { id } } } } }
"""
UPDATE = mutation("updateRequest", "UpdateRequestInput", FORM)
CANCEL = mutation(
    "cancelRequest",
    "CancelRequestInput",
    "request { status phase history { edges { node { action comment actor { id } } } } }",
)
READ_FORM = "query($id: ID!) { request(id: $id) { title status } }"


@pytest.mark.timeout(120)
async def test_draft_is_edited_by_the_lead_and_frozen_once_submitted(
    gateway: GatewayClient,
) -> None:
    request_id = await draft_request(gateway)
    goals = [
        {"metric": "signed dealers", "target": "80", "unit": "dealer", "dueDate": "2027-05-31"}
    ]
    edited = await run(
        gateway,
        UPDATE,
        CHEN,
        requestId=request_id,
        background="Dealers in Poland and Czechia",
        goals=goals,
        comment="narrowed to two countries",
    )
    assert edited["userErrors"] == []
    assert edited["request"]["title"] == TITLE  # left out, so kept
    assert edited["request"]["background"] == "Dealers in Poland and Czechia"
    assert edited["request"]["goals"] == [{"metric": "signed dealers", "unit": "dealer"}]
    last = nodes(edited["request"]["history"])[-1]
    assert last == {"action": "EDITED", "actor": {"id": "rm-chen"}}

    by_participant = await run(gateway, UPDATE, ANNA, requestId=request_id, title="Ours now")
    assert codes(by_participant) == ["NOT_LEAD_DEPARTMENT"]
    no_goal = await run(gateway, UPDATE, LI, requestId=request_id, goals=[])
    assert [(e["field"], e["code"]) for e in no_goal["userErrors"]] == [("goals", "GOAL_REQUIRED")]

    assert (await run(gateway, SUBMIT, LI, requestId=request_id))["userErrors"] == []
    frozen = await run(gateway, UPDATE, LI, requestId=request_id, title="Too late")
    assert frozen["request"] is None
    assert codes(frozen) == ["INVALID_STATUS"]
    assert "SUBMITTED" in frozen["userErrors"][0]["message"]
    current = await gateway.execute(READ_FORM, {"id": request_id}, caller=LI)
    assert current["request"] == {"title": TITLE, "status": "SUBMITTED"}


@pytest.mark.timeout(120)
async def test_cancelling_needs_a_reason_and_the_lead_department(gateway: GatewayClient) -> None:
    request_id = await approved_request(gateway)
    silent = await run(gateway, CANCEL, LI, requestId=request_id, comment="  ")
    assert [(e["field"], e["code"]) for e in silent["userErrors"]] == [
        ("comment", "COMMENT_REQUIRED")
    ]
    assert "APPROVED" in silent["userErrors"][0]["message"]
    by_participant = await run(gateway, CANCEL, ANNA, requestId=request_id, comment="not needed")
    assert codes(by_participant) == ["NOT_LEAD_DEPARTMENT"]
    current = await gateway.execute(READ_FORM, {"id": request_id}, caller=LI)
    assert current["request"]["status"] == "APPROVED"

    cancelled = await run(gateway, CANCEL, LI, requestId=request_id, comment="budget frozen")
    assert cancelled["userErrors"] == []
    assert (cancelled["request"]["status"], cancelled["request"]["phase"]) == (
        "CANCELLED",
        "CLOSED",
    )
    assert nodes(cancelled["request"]["history"])[-1] == {
        "action": "CANCELLED",
        "comment": "budget frozen",
        "actor": {"id": "rm-li"},
    }
    again = await run(gateway, CANCEL, LI, requestId=request_id, comment="once more")
    assert codes(again) == ["INVALID_STATUS"]
    assert "CANCELLED" in again["userErrors"][0]["message"]


# --- meetings: the agenda ----------------------------------------------------------------------

SEND_AGENDA = mutation(
    "sendAgenda", "SendAgendaInput", "meeting { agendaSentAt materials { title url } }"
)
MEETING = """
query($id: ID!) {
  meeting(id: $id) {
    agendaSentAt materials { title }
    agenda { title minutes presenter { id } }
    attendees { edges { node { required person { id } } } }
  }
}
"""


async def schedule(gateway: GatewayClient, request_id: str, **changes: Any) -> str:
    meeting = {
        "requestId": request_id,
        "kind": "KICKOFF",
        "title": "Kickoff",
        "startsAt": "2027-01-11T08:00:00+00:00",
        "endsAt": "2027-01-11T09:00:00+00:00",
        "mode": "ONLINE",
        "joinUrl": "https://meet.example/rm",
        "attendees": [
            {"personId": "rm-li"},
            {"personId": "rm-anna"},
            {"personId": "rm-max", "required": False},
        ],
        **changes,
    }
    payload = await run(gateway, SCHEDULE, LI, **meeting)
    assert payload["userErrors"] == []
    meeting_id: str = payload["meeting"]["id"]
    return meeting_id


@pytest.mark.timeout(120)
async def test_agenda_and_materials_are_sent_by_the_lead(gateway: GatewayClient) -> None:
    request_id = await approved_request(gateway)
    agenda = [
        {"title": "目标与分工", "minutes": 30, "presenterId": "rm-li"},
        {"title": "Reporting rhythm", "minutes": 20, "presenterId": "rm-anna"},
    ]
    meeting_id = await schedule(gateway, request_id, agenda=agenda)
    brief = {"title": "Market brief", "url": "https://drive.example/brief"}

    not_a_link = await run(
        gateway, SEND_AGENDA, LI, meetingId=meeting_id, materials=[{**brief, "url": "ftp://x"}]
    )
    assert [(e["field"], e["code"]) for e in not_a_link["userErrors"]] == [
        ("materials.0", "INVALID")
    ]
    by_participant = await run(gateway, SEND_AGENDA, ANNA, meetingId=meeting_id)
    assert codes(by_participant) == ["NOT_LEAD_DEPARTMENT"]
    unsent = await gateway.execute(MEETING, {"id": meeting_id}, caller=ANNA)
    assert unsent["meeting"]["agendaSentAt"] is None

    before = datetime.now(UTC)
    sent = await run(gateway, SEND_AGENDA, LI, meetingId=meeting_id, materials=[brief])
    assert sent["userErrors"] == []
    assert datetime.fromisoformat(sent["meeting"]["agendaSentAt"]) >= before - timedelta(seconds=5)
    assert sent["meeting"]["materials"] == [brief]
    seen = (await gateway.execute(MEETING, {"id": meeting_id}, caller=MAX))["meeting"]
    assert seen["materials"] == [{"title": "Market brief"}]
    assert [(a["title"], a["minutes"], a["presenter"]["id"]) for a in seen["agenda"]] == [
        ("目标与分工", 30, "rm-li"),
        ("Reporting rhythm", 20, "rm-anna"),
    ]
    attendees = nodes(seen["attendees"])
    assert [(a["person"]["id"], a["required"]) for a in attendees][-1] == (
        "rm-max",
        False,
    )  # required attendees first
    assert {a["person"]["id"] for a in attendees} == {"rm-li", "rm-anna", "rm-max"}

    bare = await schedule(gateway, request_id, kind="PROGRESS", title="Weekly")
    empty = await run(gateway, SEND_AGENDA, LI, meetingId=bare)
    assert [(e["field"], e["code"]) for e in empty["userErrors"]] == [("agenda", "AGENDA_EMPTY")]


# --- kickoff outputs ---------------------------------------------------------------------------

PLAN_FIELDS = """
meetingCadence channels reportTemplate reportCadence reportDeadlineWeekday reportDeadlineTime
timeZone
"""
SET_PLAN = mutation(
    "setCommunicationPlan", "SetCommunicationPlanInput", f"communicationPlan {{ {PLAN_FIELDS} }}"
)
RISK_FIELDS = "risk { id description likelihood impact mitigation status owner { id } }"
ADD_RISK = mutation("addRisk", "AddRiskInput", RISK_FIELDS)
UPDATE_RISK = mutation("updateRisk", "UpdateRiskInput", RISK_FIELDS)
KICKOFF = f"""
query($id: ID!) {{
  request(id: $id) {{
    communicationPlan {{ {PLAN_FIELDS} }}
    risks {{ edges {{ node {{ description status owner {{ name }} }} }} }}
    reportingStatus(period: {{start: "2027-01-04", end: "2027-01-10"}}) {{ deadline }}
  }}
}}
"""


@pytest.mark.timeout(120)
async def test_kickoff_plan_and_risk_register(gateway: GatewayClient) -> None:
    request_id = await draft_request(gateway)
    plan = {
        "requestId": request_id,
        "meetingCadence": "weekly progress meeting, Mon 16:00 Beijing",
        "channels": ["DingTalk group", "e-mail"],
        "reportTemplate": "template 3",
    }
    too_early = await run(gateway, SET_PLAN, LI, **plan)
    assert codes(too_early) == ["INVALID_STATUS"]
    assert "DRAFT" in too_early["userErrors"][0]["message"]
    assert (await run(gateway, SUBMIT, LI, requestId=request_id))["userErrors"] == []
    assert (await run(gateway, DECIDE, DIRECTOR, requestId=request_id, decision="APPROVE"))[
        "userErrors"
    ] == []

    by_participant = await run(gateway, SET_PLAN, ANNA, **plan)
    assert codes(by_participant) == ["NOT_LEAD_DEPARTMENT"]
    no_channel = await run(gateway, SET_PLAN, LI, **{**plan, "channels": [" "]})
    assert [(e["field"], e["code"]) for e in no_channel["userErrors"]] == [("channels", "INVALID")]
    saved = await run(gateway, SET_PLAN, LI, **plan)
    expected_plan = {
        "meetingCadence": "weekly progress meeting, Mon 16:00 Beijing",
        "channels": ["DingTalk group", "e-mail"],
        "reportTemplate": "template 3",
        "reportCadence": "WEEKLY",
        "reportDeadlineWeekday": 5,  # Friday 17:00 in the lead department's region
        "reportDeadlineTime": "17:00:00",
        "timeZone": "Asia/Shanghai",
    }
    assert saved == {"communicationPlan": expected_plan, "userErrors": []}

    risk = {
        "description": "Dealers wait for the spring fair",
        "likelihood": "MEDIUM",
        "impact": "HIGH",
        "mitigation": "Offer early-bird terms",
        "ownerId": "rm-anna",
    }
    added = await run(gateway, ADD_RISK, LI, requestId=request_id, risk=risk)
    assert added["userErrors"] == []
    assert added["risk"]["status"] == "OPEN"
    refused = await run(gateway, ADD_RISK, ANNA, requestId=request_id, risk=risk)
    assert codes(refused) == ["NOT_LEAD_DEPARTMENT"]
    unknown_owner = await run(
        gateway, ADD_RISK, LI, requestId=request_id, risk={**risk, "ownerId": "rm-nobody"}
    )
    assert [(e["field"], e["code"]) for e in unknown_owner["userErrors"]] == [
        ("ownerId", "NOT_FOUND")
    ]
    mitigated = await run(
        gateway, UPDATE_RISK, LI, riskId=added["risk"]["id"], risk={**risk, "status": "MITIGATED"}
    )
    assert mitigated["risk"]["status"] == "MITIGATED"

    # The tasks service learns the reporting deadline from the plan's event.
    def fetch() -> Awaitable[dict[str, Any]]:
        return gateway.execute(KICKOFF, {"id": request_id}, caller=ANNA)

    seen = (
        await until(
            fetch, lambda d: (d["request"]["reportingStatus"] or {}).get("deadline") is not None
        )
    )["request"]
    assert seen["communicationPlan"] == expected_plan
    assert nodes(seen["risks"]) == [
        {
            "description": "Dealers wait for the spring fair",
            "status": "MITIGATED",
            "owner": {"name": "Anna Becker"},
        }
    ]
    deadline = datetime.fromisoformat(seen["reportingStatus"]["deadline"])
    assert deadline == datetime(2027, 1, 8, 9, tzinfo=UTC)  # Friday 17:00 in Shanghai


# --- acceptance tolerance ----------------------------------------------------------------------

TOLERANCE = mutation(
    "setAcceptanceTolerance",
    "SetAcceptanceToleranceInput",
    "request { status history { edges { node { action actor { id } } } } }",
)
ACCEPTANCE = """
query($id: ID!) {
  request(id: $id) {
    goals { id }
    acceptance { tolerancePercent metCount complete goals { actual met } }
  }
}
"""


async def acceptance(gateway: GatewayClient, request_id: str) -> dict[str, Any]:
    data = await gateway.execute(ACCEPTANCE, {"id": request_id}, caller=LI)
    found: dict[str, Any] = data["request"]
    return found


@pytest.mark.timeout(120)
async def test_acceptance_tolerance_is_the_approvers_to_set(gateway: GatewayClient) -> None:
    request_id = await active_request(gateway)
    by_lead = await run(gateway, TOLERANCE, LI, requestId=request_id, tolerancePercent="10")
    assert codes(by_lead) == ["NOT_APPROVER"]
    assert "ACTIVE" in by_lead["userErrors"][0]["message"]
    out_of_range = await run(
        gateway, TOLERANCE, DIRECTOR, requestId=request_id, tolerancePercent="150"
    )
    assert [(e["field"], e["code"]) for e in out_of_range["userErrors"]] == [
        ("tolerancePercent", "INVALID")
    ]
    loose = await run(
        gateway, TOLERANCE, DIRECTOR, requestId=request_id, tolerancePercent="10", comment="fair"
    )
    assert loose["userErrors"] == []
    last = nodes(loose["request"]["history"])[-1]
    assert last == {"action": "TOLERANCE_SET", "actor": {"id": "rm-dir"}}

    assert (await run(gateway, START_ACCEPTANCE, LI, requestId=request_id))["userErrors"] == []
    goal_id = (await acceptance(gateway, request_id))["goals"][0]["id"]
    results = [{"goalId": goal_id, "actual": "92"}]
    assert (await run(gateway, RECORD, LI, requestId=request_id, results=results))[
        "userErrors"
    ] == []
    met = (await acceptance(gateway, request_id))["acceptance"]
    assert float(met["tolerancePercent"]) == 10
    assert (met["metCount"], met["complete"], met["goals"][0]["met"]) == (1, True, True)
    assert float(met["goals"][0]["actual"]) == 92

    # A tighter tolerance judges the recorded result again: 92 of 100 is not within 5 %.
    tight = await run(gateway, TOLERANCE, DIRECTOR, requestId=request_id, tolerancePercent="5")
    assert tight["userErrors"] == []
    missed = (await acceptance(gateway, request_id))["acceptance"]
    assert (missed["metCount"], missed["goals"][0]["met"]) == (0, False)


# --- secondments -------------------------------------------------------------------------------

SECONDMENT = """
secondment { id status person { id } fromDepartment { id } toDepartment { id }
             request { id } approvals { decision department { id } approver { id } } }
"""
REQUEST_SECONDMENT = mutation("requestSecondment", "RequestSecondmentInput", SECONDMENT)
DECIDE_SECONDMENT = mutation("decideSecondment", "DecideSecondmentInput", SECONDMENT)
SECONDMENTS = "{ secondments(first: 50) { edges { node { id status } } } }"
INBOX = "{ myNotifications(first: 50) { edges { node { title } } } }"


def loan(request_id: str, **changes: Any) -> dict[str, Any]:
    """Max goes from European sales to marketing, which asks for him."""
    today = datetime.now(UTC).date()
    base = {
        "personId": "rm-max",
        "fromDepartmentId": "rm-eu",
        "toDepartmentId": "rm-mkt",
        "startsOn": today.isoformat(),
        "endsOn": (today + timedelta(days=60)).isoformat(),
        "duties": ["run the dealer workshops"],
        "evaluationCriteria": ["ten workshops held"],
        "support": ["flat in Shanghai"],
        "requestId": request_id,
    }
    return {**base, **changes}


@pytest.mark.timeout(120)
async def test_secondment_needs_both_department_heads(gateway: GatewayClient) -> None:
    request_id = await approved_request(gateway)
    by_lender = await run(gateway, REQUEST_SECONDMENT, ANNA, **loan(request_id))
    assert [(e["field"], e["code"]) for e in by_lender["userErrors"]] == [
        ("toDepartmentId", "NOT_BORROWING_DEPARTMENT")
    ]
    # Ending in ten days: the "ends soon" reminder (14 days ahead) is due at once.
    ends = (datetime.now(UTC).date() + timedelta(days=10)).isoformat()
    asked = await run(gateway, REQUEST_SECONDMENT, CHEN, **loan(request_id, endsOn=ends))
    assert asked["userErrors"] == []
    secondment_id = asked["secondment"]["id"]
    assert asked["secondment"]["status"] == "REQUESTED"
    assert asked["secondment"]["request"] == {"id": request_id}

    decide = {"secondmentId": secondment_id, "decision": "APPROVE"}
    not_head = await run(gateway, DECIDE_SECONDMENT, CHEN, **decide)
    assert codes(not_head) == ["NOT_DEPARTMENT_HEAD"]
    half = await run(gateway, DECIDE_SECONDMENT, LI, **decide)
    assert half["secondment"]["status"] == "REQUESTED"  # the lender's head has not decided
    twice = await run(gateway, DECIDE_SECONDMENT, LI, **decide)
    assert codes(twice) == ["ALREADY_DECIDED"]
    both = await run(gateway, DECIDE_SECONDMENT, ANNA, **decide)
    assert both["secondment"]["status"] == "ACTIVE"  # approved, and its period has begun
    assert {
        (a["department"]["id"], a["approver"]["id"]) for a in both["secondment"]["approvals"]
    } == {
        ("rm-mkt", "rm-li"),
        ("rm-eu", "rm-anna"),
    }
    late = await run(gateway, DECIDE_SECONDMENT, ANNA, **decide)
    assert codes(late) == ["INVALID_STATUS"]

    other = (await run(gateway, REQUEST_SECONDMENT, LI, **loan(request_id)))["secondment"]["id"]
    silent = await run(gateway, DECIDE_SECONDMENT, ANNA, secondmentId=other, decision="REJECT")
    assert [(e["field"], e["code"]) for e in silent["userErrors"]] == [
        ("comment", "COMMENT_REQUIRED")
    ]
    rejected = await run(
        gateway,
        DECIDE_SECONDMENT,
        ANNA,
        secondmentId=other,
        decision="REJECT",
        comment="Max is needed for the spring fair",
    )
    assert rejected["secondment"]["status"] == "REJECTED"

    listed = await gateway.execute(SECONDMENTS, caller=MAX)
    statuses = {e["node"]["id"]: e["node"]["status"] for e in listed["secondments"]["edges"]}
    assert (statuses[secondment_id], statuses[other]) == ("ACTIVE", "REJECTED")
    inbox = await until(
        lambda: gateway.execute(INBOX, caller=MAX),
        lambda d: any("Max Weber" in e["node"]["title"] for e in d["myNotifications"]["edges"]),
    )
    titles = [e["node"]["title"] for e in inbox["myNotifications"]["edges"]]
    assert "Secondment ending soon (借调即将结束): Max Weber" in titles


# --- document folders --------------------------------------------------------------------------

FOLDER = """
folder { id path canEdit access { kind granteeId access }
         links { edges { node { id title addedBy { id } } } } }
"""
CREATE_FOLDER = mutation("createFolder", "CreateFolderInput", FOLDER)
ADD_LINK = mutation("addFolderLink", "AddFolderLinkInput", FOLDER)
REMOVE_LINK = mutation("removeFolderLink", "RemoveFolderLinkInput", FOLDER)
FOLDERS = "query($id: ID!) { request(id: $id) { folders { edges { node { path } } } } }"


async def listed(gateway: GatewayClient, request_id: str, caller: Caller) -> list[str]:
    data = await gateway.execute(FOLDERS, {"id": request_id}, caller=caller)
    return [f["path"] for f in nodes(data["request"]["folders"])]


@pytest.mark.timeout(120)
async def test_document_folders_enforce_their_lists(gateway: GatewayClient) -> None:
    request_id = await draft_request(gateway)
    private = [
        {"kind": "PERSON", "granteeId": "rm-li", "access": "EDIT"},
        {"kind": "PERSON", "granteeId": "rm-anna", "access": "VIEW"},
    ]
    by_participant = await run(
        gateway, CREATE_FOLDER, ANNA, requestId=request_id, departmentId="rm-eu", fileType="x"
    )
    assert codes(by_participant) == ["NOT_LEAD_DEPARTMENT"]
    created = await run(
        gateway,
        CREATE_FOLDER,
        LI,
        requestId=request_id,
        departmentId="rm-mkt",
        fileType="contracts",
        access=private,
    )
    assert created["userErrors"] == []
    folder_id = created["folder"]["id"]
    path = f"{TITLE}-市场部-contracts"
    assert created["folder"]["path"] == path

    assert await listed(gateway, request_id, LI) == [path]
    assert await listed(gateway, request_id, ANNA) == [path]
    assert await listed(gateway, request_id, CHEN) == []  # lead department, but on no list
    assert await listed(gateway, request_id, MAX) == []

    link = {"folderId": folder_id, "title": "Dealer contract", "url": "https://drive.example/c"}
    added = await run(gateway, ADD_LINK, LI, **link)
    assert [(x["title"], x["addedBy"]["id"]) for x in nodes(added["folder"]["links"])] == [
        ("Dealer contract", "rm-li")
    ]
    viewer = await run(gateway, ADD_LINK, ANNA, **link)
    assert [(e["field"], e["code"]) for e in viewer["userErrors"]] == [
        ("folderId", "FOLDER_READ_ONLY")
    ]
    hidden = await run(gateway, ADD_LINK, CHEN, **link)
    assert codes(hidden) == ["FOLDER_NOT_FOUND"]
    link_id = nodes(added["folder"]["links"])[0]["id"]
    viewer_removes = await run(gateway, REMOVE_LINK, ANNA, folderId=folder_id, linkId=link_id)
    assert codes(viewer_removes) == ["FOLDER_READ_ONLY"]
    removed = await run(gateway, REMOVE_LINK, LI, folderId=folder_id, linkId=link_id)
    assert removed["userErrors"] == []
    assert nodes(removed["folder"]["links"]) == []
    gone = await run(gateway, REMOVE_LINK, LI, folderId=folder_id, linkId=link_id)
    assert [(e["field"], e["code"]) for e in gone["userErrors"]] == [("linkId", "LINK_NOT_FOUND")]

    # Without lists, the folder's department edits and the other taking part views.
    designs = await run(
        gateway, CREATE_FOLDER, LI, requestId=request_id, departmentId="rm-eu", fileType="designs"
    )
    assert {(a["granteeId"], a["access"]) for a in designs["folder"]["access"]} == {
        ("rm-eu", "EDIT"),
        ("rm-mkt", "VIEW"),
    }
    assert designs["folder"]["canEdit"] is False
    by_member = await run(
        gateway,
        ADD_LINK,
        MAX,
        folderId=designs["folder"]["id"],
        title="Booth design",
        url="https://drive.example/booth",
    )
    assert by_member["userErrors"] == []
    assert await listed(gateway, request_id, CHEN) == [f"{TITLE}-欧洲销售-designs"]
