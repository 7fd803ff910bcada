"""Through the gateway, as a front end: request -> task with RACI -> issue -> notification."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from devstack.processes import ProcessGroup
from devstack.stack import gateway_url, subgraph_url
from shared.settings import Settings
from tests.e2e.gateway_client import GatewayClient
from tests.support import ADMIN, Caller, nodes

LI = Caller("li", departments=("mkt",), roles=("DEPARTMENT_HEAD",))  # leads the request
WANG = Caller("wang", departments=("rd",), roles=("DEPARTMENT_HEAD",))  # A on the task
SUN = Caller("sun", departments=("rd",))  # R on the task

DIRECTORY = """
mutation {
  hq: upsertRegion(input: {id: "hq", code: "HQ", name: "HQ", timeZone: "Asia/Shanghai"})
    { userErrors { code } }
  mkt: upsertDepartment(input: {id: "mkt", code: "MKT", name: "Marketing", regionId: "hq"})
    { userErrors { code } }
  rd: upsertDepartment(input: {id: "rd", code: "RD", name: "R&D", regionId: "hq"})
    { userErrors { code } }
  li: upsertPerson(input: {id: "li", name: "Li Na", email: "li@x.example", departmentId: "mkt",
                           regionId: "hq", timeZone: "Asia/Shanghai"}) { userErrors { code } }
  wang: upsertPerson(input: {id: "wang", name: "Wang Lei", email: "wang@x.example",
                             departmentId: "rd", regionId: "hq", timeZone: "Asia/Shanghai"})
    { userErrors { code } }
  sun: upsertPerson(input: {id: "sun", name: "Sun Yu", email: "sun@x.example",
                            departmentId: "rd", regionId: "hq", timeZone: "Asia/Shanghai"})
    { userErrors { code } }
  liu: upsertPerson(input: {id: "liu", name: "Liu Yang", email: "liu@x.example",
                            departmentId: "mkt", regionId: "hq", timeZone: "Asia/Shanghai"})
    { userErrors { code } }
  mktHead: upsertDepartment(input: {id: "mkt", code: "MKT", name: "Marketing", regionId: "hq",
                                    headId: "li"}) { userErrors { code } }
}
"""

CREATE_REQUEST = """
mutation($input: CreateRequestInput!) {
  createRequest(input: $input) { request { id code } userErrors { code message } }
}
"""

CREATE_TASK = """
mutation($input: CreateTaskInput!) {
  createTask(input: $input) { task { id } userErrors { code message } }
}
"""

REPORT_ISSUE = """
mutation($input: ReportIssueInput!) {
  reportIssue(input: $input) { issue { id code } userErrors { code message } }
}
"""

NOTIFICATIONS = "subscription { notifications { id type title } }"
INBOX = "{ myNotifications(first: 50) { totalCount edges { node { title } } } }"

REQUEST_WITH_EVERYTHING = """
query($id: ID!) {
  request(id: $id) {
    code title leadDepartment { name }
    tasks { totalCount edges { node { title raci { role person { id name } } } } }
    issues { totalCount edges { node { code status slaClocks { metric targetMinutes state } } } }
  }
}
"""


LAGGING = {"REQUEST_NOT_FOUND", "PERSON_NOT_FOUND", "DEPARTMENT_NOT_FOUND"}
"""Refusals that only mean a local copy has not caught up yet."""


async def retry_while_unknown(
    gateway: GatewayClient, query: str, variables: dict[str, Any], caller: Caller, field: str
) -> dict[str, Any]:
    """Mutations on a request created a moment ago wait for the event to reach the service
    (local copies are eventually consistent, usually within a few hundred ms)."""
    deadline = time.monotonic() + 10
    while True:
        payload: dict[str, Any] = (await gateway.execute(query, variables, caller=caller))[field]
        codes = [e["code"] for e in payload["userErrors"]]
        if not codes or not set(codes) <= LAGGING or time.monotonic() > deadline:
            assert codes == [], payload["userErrors"]
            return payload
        await asyncio.sleep(0.1)


async def create_request(gateway: GatewayClient, **changes: Any) -> dict[str, Any]:
    """Load the small directory and create a request led by marketing with R&D taking part."""
    data = await gateway.execute(DIRECTORY, caller=ADMIN)
    assert all(not v["userErrors"] for v in data.values()), data
    request_input = {
        "kind": "PROJECT",
        "title": "Q4 new product national launch",
        "leadDepartmentId": "mkt",
        "participantDepartmentIds": ["rd"],
        "goals": [{"metric": "sales", "target": "2000000", "unit": "CNY", "dueDate": "2027-03-01"}],
        **changes,
    }
    payload = (await gateway.execute(CREATE_REQUEST, {"input": request_input}, caller=LI))[
        "createRequest"
    ]
    assert payload["userErrors"] == []
    request: dict[str, Any] = payload["request"]
    return request


def task_input(request_id: str, title: str = "Product promotion materials") -> dict[str, Any]:
    return {
        "requestId": request_id,
        "title": title,
        "raci": [
            {"role": "A", "personId": "wang"},
            {"role": "R", "personId": "sun"},
            {"role": "I", "departmentId": "mkt"},
        ],
    }


@pytest.mark.timeout(120)
async def test_request_task_issue_and_notification_through_the_gateway(
    gateway: GatewayClient,
) -> None:
    request = await create_request(gateway)
    async with gateway.subscribe(NOTIFICATIONS, caller=WANG) as next_event:
        await asyncio.sleep(0.5)  # let the gateway open its upstream subscription
        started = time.monotonic()
        await retry_while_unknown(
            gateway, CREATE_TASK, {"input": task_input(request["id"])}, LI, "createTask"
        )
        event = await next_event(5)
        latency = time.monotonic() - started
    assert event["notifications"]["type"] == "tasks.task.created"
    assert latency < 2.0, f"notification took {latency:.2f}s"

    issue_input = {
        "requestId": request["id"],
        "title": "Samples delayed",
        "description": "The sample batch for East China is two weeks late.",
        "severity": "HIGH",
        "urgent": False,
    }
    await retry_while_unknown(gateway, REPORT_ISSUE, {"input": issue_input}, SUN, "reportIssue")

    data = await gateway.execute(REQUEST_WITH_EVERYTHING, {"id": request["id"]}, caller=LI)
    found = data["request"]
    assert found["code"] == request["code"]
    assert found["leadDepartment"] == {"name": "Marketing"}
    assert (found["tasks"]["totalCount"], found["issues"]["totalCount"]) == (1, 1)
    [task], [issue] = nodes(found["tasks"]), nodes(found["issues"])
    assert task["title"] == "Product promotion materials"
    roles = {(r["role"], r["person"]["name"] if r["person"] else None) for r in task["raci"]}
    assert {("A", "Wang Lei"), ("R", "Sun Yu")} <= roles
    assert issue["status"] == "REPORTED"
    assert issue["slaClocks"] == [
        {"metric": "RESPONSE", "targetMinutes": 120, "state": "RUNNING"},
        {"metric": "PLAN", "targetMinutes": 1440, "state": "RUNNING"},
    ]


async def test_gateway_refuses_requests_without_a_valid_token(gateway: GatewayClient) -> None:
    missing = await gateway.post("{ regions { id } }", caller=None)
    assert missing.status_code == 401
    async with httpx.AsyncClient() as http:
        forged = await http.post(
            gateway.url,
            json={"query": "{ regions { id } }"},
            headers={"authorization": "Bearer not-a-jwt"},
        )
    assert forged.status_code in (400, 401)
    assert "data" not in forged.json() or forged.json()["data"] is None


async def test_subgraph_refuses_calls_that_bypass_the_gateway(
    gateway: GatewayClient, e2e_settings: Settings
) -> None:
    token = gateway.token(ADMIN)
    async with httpx.AsyncClient() as http:
        response = await http.post(
            subgraph_url(e2e_settings, "requests"),
            json={"query": "{ regions { id } }"},
            headers={"authorization": f"Bearer {token}"},
        )
    assert response.status_code == 401
    assert "gateway" in response.text


@pytest.mark.timeout(180)
async def test_no_notification_is_lost_when_the_consumer_restarts(
    gateway: GatewayClient, e2e_stack: ProcessGroup
) -> None:
    request = await create_request(gateway)
    before = (await gateway.execute(INBOX, caller=WANG))["myNotifications"]["totalCount"]
    await retry_while_unknown(
        gateway, CREATE_TASK, {"input": task_input(request["id"], "warm-up")}, LI, "createTask"
    )
    titles = [f"task {n}" for n in range(12)]
    for title in titles[:6]:
        await gateway.execute(CREATE_TASK, {"input": task_input(request["id"], title)}, caller=LI)
    worker = e2e_stack.running["notify-worker"][0]
    e2e_stack.stop([worker.name])  # SIGTERM while events are in flight
    for title in titles[6:]:
        await gateway.execute(CREATE_TASK, {"input": task_input(request["id"], title)}, caller=LI)
    e2e_stack.start(worker)

    # wang is A on the warm-up task and the 12 others: 13 new notifications, each once.
    deadline = time.monotonic() + 30
    while True:
        data = await gateway.execute(INBOX, caller=WANG)
        count = data["myNotifications"]["totalCount"] - before
        if count >= 13 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.3)
    await asyncio.sleep(1)  # a duplicate would show up now
    data = await gateway.execute(INBOX, caller=WANG)
    titles_seen = [e["node"]["title"] for e in data["myNotifications"]["edges"]]
    assert data["myNotifications"]["totalCount"] - before == 13, titles_seen
    assert sorted(t for t in titles_seen if "task " in t) == sorted(
        f"New task: {t}" for t in titles
    )


async def test_every_subgraph_reports_alive_and_ready(
    e2e_stack: ProcessGroup, e2e_settings: Settings
) -> None:
    async with httpx.AsyncClient() as http:
        for service in ("requests", "tasks", "issues", "notify"):
            base = subgraph_url(e2e_settings, service).removesuffix("/graphql")
            alive = await http.get(f"{base}/healthz")
            ready = await http.get(f"{base}/readyz")
            assert alive.json() == {"status": "ok"}
            assert ready.json() == {"status": "ok", "database": "ok", "redis": "ok"}


async def test_the_gateway_exports_prometheus_metrics_of_what_it_served(
    gateway: GatewayClient, e2e_settings: Settings
) -> None:
    await gateway.execute("{ regions { id } }", caller=ADMIN)
    public_url = gateway_url(e2e_settings).removesuffix("/graphql") + "/metrics"
    metrics_url = f"http://{e2e_settings.host}:{e2e_settings.gateway_metrics_port}/metrics"
    async with httpx.AsyncClient() as http:
        assert (await http.get(public_url)).status_code == 404  # not on the public port
        scraped = await http.get(metrics_url)  # no token: scrapers do not carry one
    assert scraped.status_code == 200
    families = {line.split()[2] for line in scraped.text.splitlines() if line.startswith("# TYPE ")}
    # Requests served, and each subgraph call timed: what the dashboards are built on.
    assert {"graphql_yoga_http_duration", "graphql_gateway_fetch_duration"} <= families


PARTNER = Caller("acme", roles=("PARTNER",), scopes=("requests.request.*",))
PARTNER_EVENTS = """
subscription { events(types: ["requests.request.created"]) { id type subject source } }
"""


@pytest.mark.timeout(60)
async def test_partner_gets_its_scoped_event_stream_through_the_gateway(
    gateway: GatewayClient,
) -> None:
    async with gateway.subscribe(PARTNER_EVENTS, caller=PARTNER) as next_event:
        await asyncio.sleep(0.5)  # let the gateway open its upstream subscription
        request = await create_request(gateway)
        # The stream may first carry requests created by earlier tests that the event log
        # took in after the subscription started; ours must follow, and only the asked type.
        received = [(await next_event(10))["events"]]
        while received[-1]["subject"] != request["id"]:
            received.append((await next_event(10))["events"])
    assert {e["type"] for e in received} == {"requests.request.created"}
    assert received[-1]["source"] == "requests"

    replay = "query($after: String) { events(after: $after) { edges { node { id type } } } }"
    earlier = await gateway.execute(replay, {"after": None}, caller=PARTNER)
    seen = {edge["node"]["type"] for edge in earlier["events"]["edges"]}
    assert "requests.request.created" in seen
    assert all(t.startswith("requests.request.") for t in seen)  # nothing outside its scope
