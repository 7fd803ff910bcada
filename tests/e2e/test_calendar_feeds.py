"""Calendar feeds through the gateway, fetched as a calendar app does (no bearer token) and
parsed with ``icalendar``: a person's meeting, task due time, SLA deadline and secondment end
in their time zone; a reschedule keeps the UID and raises SEQUENCE; rotating and revoking the
token; a request's feed for a member and for an outsider; the internal routes the feed reads."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
from icalendar import Calendar, Event

from devstack.stack import subgraph_url
from shared.auth import GATEWAY_SECRET_HEADER
from shared.settings import Settings
from tests.e2e.gateway_client import GatewayClient
from tests.e2e.test_issue_flows import ACK, REPORT, move
from tests.e2e.test_requests_lifecycle import ACTIVATE, CREATE, DECIDE, SCHEDULE, SUBMIT
from tests.e2e.test_tasks_flows import CREATE_TASK, UPDATE_TASK
from tests.support import ADMIN, Caller

BERLIN = ZoneInfo("Europe/Berlin")
LEAD = Caller("cal-lead", departments=("cal-mkt",), roles=("DEPARTMENT_HEAD",))
APPROVER = Caller("cal-dir", departments=("cal-mkt",), roles=("DEPARTMENT_HEAD",))
EU_HEAD = Caller("cal-eu-head", departments=("cal-eu",), roles=("DEPARTMENT_HEAD",))
ANNA = Caller("cal-anna", departments=("cal-eu",))  # the feed's owner, in Berlin
OUTSIDER = Caller("cal-out", departments=("cal-other",))
PARTNER = Caller("cal-partner", roles=("PARTNER",), scopes=("*",))

DIRECTORY = """
mutation {
  sh: upsertRegion(input: {id: "cal-sh", code: "CAL-SH", name: "Shanghai",
                           timeZone: "Asia/Shanghai"}) { userErrors { code } }
  ber: upsertRegion(input: {id: "cal-ber", code: "CAL-BER", name: "Berlin",
                            timeZone: "Europe/Berlin"}) { userErrors { code } }
  mkt: upsertDepartment(input: {id: "cal-mkt", code: "CAL-MKT", name: "Marketing",
                                regionId: "cal-sh"}) { userErrors { code } }
  eu: upsertDepartment(input: {id: "cal-eu", code: "CAL-EU", name: "EU Sales",
                               regionId: "cal-ber"}) { userErrors { code } }
  other: upsertDepartment(input: {id: "cal-other", code: "CAL-OTHER", name: "Legal",
                                  regionId: "cal-sh"}) { userErrors { code } }
  lead: upsertPerson(input: {id: "cal-lead", name: "Li", email: "li@cal.example",
    departmentId: "cal-mkt", regionId: "cal-sh", timeZone: "Asia/Shanghai",
    roles: ["DEPARTMENT_HEAD"]}) { userErrors { code } }
  dir: upsertPerson(input: {id: "cal-dir", name: "Director", email: "dir@cal.example",
    departmentId: "cal-mkt", regionId: "cal-sh", timeZone: "Asia/Shanghai",
    roles: ["DEPARTMENT_HEAD"]}) { userErrors { code } }
  euHead: upsertPerson(input: {id: "cal-eu-head", name: "Eva", email: "eva@cal.example",
    departmentId: "cal-eu", regionId: "cal-ber", timeZone: "Europe/Berlin",
    roles: ["DEPARTMENT_HEAD"]}) { userErrors { code } }
  anna: upsertPerson(input: {id: "cal-anna", name: "Anna", email: "anna@cal.example",
    departmentId: "cal-eu", regionId: "cal-ber", timeZone: "Europe/Berlin"})
    { userErrors { code } }
  out: upsertPerson(input: {id: "cal-out", name: "Otto", email: "otto@cal.example",
    departmentId: "cal-other", regionId: "cal-sh", timeZone: "Asia/Shanghai"})
    { userErrors { code } }
  mktHead: upsertDepartment(input: {id: "cal-mkt", code: "CAL-MKT", name: "Marketing",
    regionId: "cal-sh", headId: "cal-lead"}) { userErrors { code } }
  euHeadDept: upsertDepartment(input: {id: "cal-eu", code: "CAL-EU", name: "EU Sales",
    regionId: "cal-ber", headId: "cal-eu-head"}) { userErrors { code } }
}
"""
FEED_URL = "query($r: ID) { calendarFeedUrl(requestId: $r) calendarFeedWebcalUrl(requestId: $r) }"
ROTATE = "mutation { rotateCalendarFeed { url webcalUrl userErrors { code } } }"
REVOKE = "mutation { revokeCalendarFeed { revoked userErrors { code } } }"
SECONDMENT = """
mutation($input: RequestSecondmentInput!) {
  requestSecondment(input: $input) { secondment { id status } userErrors { code message } }
}
"""
DECIDE_SECONDMENT = """
mutation($input: DecideSecondmentInput!) {
  decideSecondment(input: $input) { secondment { id status } userErrors { code message } }
}
"""
TASK_DUE = datetime(2027, 2, 1, 9, 0, tzinfo=UTC)
MEETING_START = datetime(2027, 1, 11, 8, 0, tzinfo=UTC)
SECONDMENT_END = date(2027, 6, 30)
WAIT_SECONDS = 20.0
T = TypeVar("T")


async def until(read: Callable[[], Awaitable[T]], ok: Callable[[T], bool]) -> T:
    """``read()`` again until ``ok`` holds of it (events reach replicas after a moment)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        value = await read()
        if ok(value) or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.1)


async def fetch(gateway: GatewayClient, url: str) -> httpx.Response:
    """GET a feed URL's path from the test's gateway, anonymously, as a calendar app."""
    base = urlsplit(gateway.url)
    async with httpx.AsyncClient(timeout=15) as http:
        return await http.get(f"{base.scheme}://{base.netloc}{urlsplit(url).path}")


def events(response: httpx.Response) -> dict[str, Event]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    return {str(e["UID"]): e for e in calendar.events}


async def feed_url(gateway: GatewayClient, caller: Caller, request_id: str | None = None) -> str:
    data = await gateway.execute(FEED_URL, {"r": request_id}, caller=caller)
    url: str = data["calendarFeedUrl"]
    assert data["calendarFeedWebcalUrl"] == "webcal://" + url.split("://", 1)[1]
    return url


async def active_request(gateway: GatewayClient) -> str:
    """A request led by marketing with EU sales taking part, approved and running."""
    data = await gateway.execute(DIRECTORY, caller=ADMIN)
    assert all(not v["userErrors"] for v in data.values()), data
    created = await move(
        gateway,
        CREATE,
        LEAD,
        kind="PROJECT",
        title="Calendar launch",
        leadDepartmentId="cal-mkt",
        participantDepartmentIds=["cal-eu"],
        approverId="cal-dir",
        goals=[{"metric": "sales", "target": "1", "unit": "kEUR", "dueDate": "2027-03-31"}],
    )
    request_id: str = created["request"]["id"]
    await move(gateway, SUBMIT, LEAD, requestId=request_id)
    await move(gateway, DECIDE, APPROVER, requestId=request_id, decision="APPROVE")
    await move(gateway, ACTIVATE, LEAD, requestId=request_id)
    return request_id


async def dated_items(gateway: GatewayClient, request_id: str) -> dict[str, str]:
    """A meeting, a task (Anna R), an issue Anna owns and Anna's secondment: their ids."""
    meeting = await move(
        gateway,
        SCHEDULE,
        LEAD,
        requestId=request_id,
        kind="KICKOFF",
        title="Kickoff",
        startsAt=MEETING_START.isoformat(),
        endsAt="2027-01-11T09:00:00+00:00",
        mode="ONLINE",
        joinUrl="https://meet.example/cal",
        attendees=[{"personId": "cal-lead"}, {"personId": "cal-anna"}],
    )
    raci = [{"role": "A", "personId": "cal-lead"}, {"role": "R", "personId": "cal-anna"}]
    task = await move(
        gateway,
        CREATE_TASK,
        LEAD,
        requestId=request_id,
        title="EU price list",
        raci=raci,
        dueAt=TASK_DUE.isoformat(),
    )
    issue = await move(
        gateway, REPORT, ANNA, requestId=request_id, title="Price list late", severity="HIGH"
    )
    issue_id = issue["issue"]["id"]
    await move(
        gateway, ACK, LEAD, issueId=issue_id, responsibleDepartmentId="cal-eu", ownerId="cal-anna"
    )
    return {
        "meeting": meeting["meeting"]["id"],
        "task": task["task"]["id"],
        "issue": issue_id,
        "secondment": await approved_secondment(gateway, request_id),
    }


async def approved_secondment(gateway: GatewayClient, request_id: str) -> str:
    loan = {
        "personId": "cal-anna",
        "fromDepartmentId": "cal-eu",
        "toDepartmentId": "cal-mkt",
        "startsOn": "2027-04-01",
        "endsOn": SECONDMENT_END.isoformat(),
        "duties": ["launch in Shanghai"],
        "evaluationCriteria": ["launch on time"],
        "requestId": request_id,
    }
    secondment_id: str = (await move(gateway, SECONDMENT, LEAD, **loan))["secondment"]["id"]
    for head in (LEAD, EU_HEAD):
        await move(gateway, DECIDE_SECONDMENT, head, secondmentId=secondment_id, decision="APPROVE")
    return secondment_id


def uids(ids: dict[str, str]) -> dict[str, str]:
    return {
        "meeting": f"{ids['meeting']}@liaison",
        "task": f"task-{ids['task']}-due@liaison",
        "issue": f"issue-{ids['issue']}-sla-plan@liaison",
        "secondment": f"secondment-{ids['secondment']}-end@liaison",
    }


async def wait_for_next_second(moment: float) -> None:
    """SEQUENCE of a row without a version counter is its last change in whole seconds: a
    second change must fall in a later second to raise it."""
    await asyncio.sleep(max(0.0, int(moment) + 1 - time.time()))


@pytest.mark.timeout(180)
async def test_personal_feed_through_the_gateway(
    gateway: GatewayClient, e2e_settings: Settings
) -> None:
    request_id = await active_request(gateway)
    ids = await dated_items(gateway, request_id)
    expected = uids(ids)
    url = await feed_url(gateway, ANNA)
    assert await feed_url(gateway, ANNA) == url  # the same URL on every ask
    assert urlsplit(url).path.startswith("/calendar/")
    assert url.endswith(".ics")

    response = await until(
        lambda: fetch(gateway, url),
        lambda r: r.status_code == 200 and set(expected.values()) <= set(events(r)),
    )
    found = events(response)
    assert set(expected.values()) <= set(found), sorted(found)
    calendar = Calendar.from_ical(response.content)
    assert [str(tz["TZID"]) for tz in calendar.timezones] == ["Europe/Berlin"]
    meeting = found[expected["meeting"]]
    assert meeting["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert meeting.decoded("DTSTART") == MEETING_START.astimezone(BERLIN)
    assert meeting.decoded("DTSTART").hour == 9  # 08:00 UTC is 09:00 in a Berlin winter
    task = found[expected["task"]]
    assert task["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert task.decoded("DTSTART") == TASK_DUE
    assert "EU price list" in str(task["SUMMARY"])
    issue = found[expected["issue"]]
    assert issue.decoded("DTSTART") > datetime.now(UTC)
    assert found[expected["secondment"]].decoded("DTSTART") == SECONDMENT_END

    # Reschedule the task: the same entry, a higher SEQUENCE, the new time.
    await wait_for_next_second(time.time())
    moved = TASK_DUE.replace(day=8)
    await move(gateway, UPDATE_TASK, LEAD, taskId=ids["task"], dueAt=moved.isoformat())
    after = await until(
        lambda: fetch(gateway, url),
        lambda r: events(r)[expected["task"]].decoded("DTSTART") == moved,
    )
    rescheduled = events(after)[expected["task"]]
    assert rescheduled.decoded("DTSTART") == moved
    assert rescheduled.sequence > task.sequence
    assert sum(1 for e in events(after).values() if "EU price list" in str(e["SUMMARY"])) == 1

    # Rotate: the old URL is refused from now on, the new one works.
    rotated = (await gateway.execute(ROTATE, caller=ANNA))["rotateCalendarFeed"]
    assert rotated["userErrors"] == []
    assert rotated["webcalUrl"].startswith("webcal://")
    assert rotated["url"] != url
    assert await feed_url(gateway, ANNA) == rotated["url"]
    assert (await fetch(gateway, url)).status_code == 404
    assert expected["task"] in events(await fetch(gateway, rotated["url"]))

    # Revoke: no feed any more.
    revoked = (await gateway.execute(REVOKE, caller=ANNA))["revokeCalendarFeed"]
    assert revoked == {"revoked": True, "userErrors": []}
    assert (await fetch(gateway, rotated["url"])).status_code == 404
    assert (await gateway.execute(REVOKE, caller=ANNA))["revokeCalendarFeed"]["revoked"] is False

    await _request_feed(gateway, request_id, expected)
    await _internal_routes_need_the_gateway_secret(e2e_settings, ids["task"])


async def _request_feed(gateway: GatewayClient, request_id: str, expected: dict[str, str]) -> None:
    """A member reads the request's feed; an outsider's token opens nothing there."""
    member_url = await feed_url(gateway, ANNA, request_id)
    assert urlsplit(member_url).path.endswith(f"/requests/{request_id}.ics")
    found = events(await fetch(gateway, member_url))
    assert set(expected.values()) <= set(found)
    outsider_personal = await feed_url(gateway, OUTSIDER)
    assert (await gateway.execute(FEED_URL, {"r": request_id}, caller=OUTSIDER)) == {
        "calendarFeedUrl": None,
        "calendarFeedWebcalUrl": None,
    }
    forged = outsider_personal.removesuffix(".ics") + f"/requests/{request_id}.ics"
    assert (await fetch(gateway, forged)).status_code == 404
    assert expected["task"] not in events(await fetch(gateway, outsider_personal))


async def _internal_routes_need_the_gateway_secret(settings: Settings, task_id: str) -> None:
    """The routes the feed reads answer the gateway's secret only (and the gateway does not
    route them)."""
    for service in ("tasks", "issues"):
        base = subgraph_url(settings, service).removesuffix("/graphql")
        url = f"{base}/internal/calendar/people/cal-anna"
        async with httpx.AsyncClient(timeout=10) as http:
            refused = await http.get(url)
            wrong = await http.get(url, headers={GATEWAY_SECRET_HEADER: "guess"})
            allowed = await http.get(url, headers={GATEWAY_SECRET_HEADER: settings.gateway_secret})
        assert (refused.status_code, wrong.status_code, allowed.status_code) == (401, 401, 200)
        if service == "tasks":
            assert [i["uid"] for i in allowed.json()["items"]] == [f"task-{task_id}-due@liaison"]


async def test_partner_clients_have_no_feed(gateway: GatewayClient) -> None:
    assert (await gateway.execute(FEED_URL, caller=PARTNER)) == {
        "calendarFeedUrl": None,
        "calendarFeedWebcalUrl": None,
    }
    refused = (await gateway.execute(ROTATE, caller=PARTNER))["rotateCalendarFeed"]
    assert refused == {"url": None, "webcalUrl": None, "userErrors": [{"code": "FORBIDDEN"}]}


async def test_an_unknown_token_is_refused_through_the_gateway(gateway: GatewayClient) -> None:
    assert (await fetch(gateway, "/calendar/not-a-token.ics")).status_code == 404
