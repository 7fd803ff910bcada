"""Helpers of the requests tests: a three-continent directory, callers, common operations."""

from __future__ import annotations

from typing import Any

from shared.events.contracts import internal_types
from tests.support import ADMIN, Caller, SubgraphClient

LI = Caller("li", departments=("mkt",), roles=("DEPARTMENT_HEAD",))
"""Head of marketing, the lead department of the requests created here."""
CHEN = Caller("chen", departments=("mkt",))
"""A member of the lead department."""
WANG = Caller("wang", departments=("rd",), roles=("DEPARTMENT_HEAD",))
"""Head of R&D, a participating department."""
APPROVER = Caller("dir", departments=("mkt",), roles=("DEPARTMENT_HEAD",))
"""The director named as approver."""
PMO = Caller("pmo", departments=("pmo",), roles=("PMO",))
ZHAO = Caller("zhao", departments=("legal",))
"""A member of a department that does not take part."""
ANNA = Caller("anna", departments=("sales-eu",), roles=("DEPARTMENT_HEAD",))
BOB = Caller("bob", departments=("sales-us",), roles=("DEPARTMENT_HEAD",))

DIRECTORY = """
mutation {
  hq: upsertRegion(input: {id: "hq", code: "HQ", name: "HQ", timeZone: "Asia/Shanghai",
                           holidayCountry: "CN"}) { userErrors { code message } }
  eu: upsertRegion(input: {id: "eu", code: "EU", name: "Berlin", timeZone: "Europe/Berlin",
                           holidayCountry: "DE"}) { userErrors { code message } }
  us: upsertRegion(input: {id: "us", code: "US", name: "Los Angeles",
                           timeZone: "America/Los_Angeles", holidayCountry: "US"})
    { userErrors { code message } }
  pmo: upsertDepartment(input: {id: "pmo", code: "PMO", name: "PMO", regionId: "hq"})
    { userErrors { code } }
  mkt: upsertDepartment(input: {id: "mkt", code: "MKT", name: "市场部", regionId: "hq"})
    { userErrors { code } }
  rd: upsertDepartment(input: {id: "rd", code: "RD", name: "研发部", regionId: "hq"})
    { userErrors { code } }
  legal: upsertDepartment(input: {id: "legal", code: "LEGAL", name: "Legal", regionId: "hq"})
    { userErrors { code } }
  eud: upsertDepartment(input: {id: "sales-eu", code: "SALES-EU", name: "Sales Europe",
                                regionId: "eu"}) { userErrors { code } }
  usd: upsertDepartment(input: {id: "sales-us", code: "SALES-US", name: "Sales US",
                                regionId: "us"}) { userErrors { code } }
  li: upsertPerson(input: {id: "li", name: "Li Na", email: "li@x.example", departmentId: "mkt",
                           regionId: "hq", timeZone: "Asia/Shanghai", roles: ["DEPARTMENT_HEAD"],
                           dingtalkId: "dt-li", wecomId: "wc-li", feishuId: "fs-li"})
    { userErrors { code } }
  chen: upsertPerson(input: {id: "chen", name: "Chen Jie", email: "chen@x.example",
                             departmentId: "mkt", regionId: "hq", timeZone: "Asia/Shanghai"})
    { userErrors { code } }
  dir: upsertPerson(input: {id: "dir", name: "Director", email: "dir@x.example",
                            departmentId: "mkt", regionId: "hq", timeZone: "Asia/Shanghai",
                            roles: ["DEPARTMENT_HEAD"]})
    { userErrors { code } }
  wang: upsertPerson(input: {id: "wang", name: "Wang Lei", email: "wang@x.example",
                             departmentId: "rd", regionId: "hq", timeZone: "Asia/Shanghai"})
    { userErrors { code } }
  zhao: upsertPerson(input: {id: "zhao", name: "Zhao Qing", email: "zhao@x.example",
                             departmentId: "legal", regionId: "hq", timeZone: "Asia/Shanghai",
                             roles: ["DEPARTMENT_HEAD"]})
    { userErrors { code } }
  pmoP: upsertPerson(input: {id: "pmo", name: "Zhou Min", email: "pmo@x.example",
                             departmentId: "pmo", regionId: "hq", timeZone: "Asia/Shanghai",
                             roles: ["PMO"]}) { userErrors { code } }
  anna: upsertPerson(input: {id: "anna", name: "Anna Becker", email: "anna@x.example",
                             departmentId: "sales-eu", regionId: "eu",
                             timeZone: "Europe/Berlin"}) { userErrors { code } }
  bob: upsertPerson(input: {id: "bob", name: "Bob Smith", email: "bob@x.example",
                            departmentId: "sales-us", regionId: "us",
                            timeZone: "America/Los_Angeles"}) { userErrors { code } }
  mktHead: upsertDepartment(input: {id: "mkt", code: "MKT", name: "市场部", regionId: "hq",
                                    headId: "li"}) { userErrors { code } }
  rdHead: upsertDepartment(input: {id: "rd", code: "RD", name: "研发部", regionId: "hq",
                                   headId: "wang"}) { userErrors { code } }
  euHead: upsertDepartment(input: {id: "sales-eu", code: "SALES-EU", name: "Sales Europe",
                                   regionId: "eu", headId: "anna"}) { userErrors { code } }
  usHead: upsertDepartment(input: {id: "sales-us", code: "SALES-US", name: "Sales US",
                                   regionId: "us", headId: "bob"}) { userErrors { code } }
}
"""

REQUEST_FIELDS = """
id code status phase title startsOn endsOn
leadDepartment { id } participants { id } approver { id }
goals { id metric target unit dueDate direction actual met }
milestones { title dueDate }
history(first: 100) { edges { node { action fromStatus toStatus comment actor { id } at } } }
"""

CREATE = f"""
mutation($input: CreateRequestInput!) {{
  createRequest(input: $input) {{
    request {{ {REQUEST_FIELDS} }} userErrors {{ field message code }}
  }}
}}
"""


def move_mutation(name: str, input_type: str) -> str:
    return f"""
mutation($input: {input_type}!) {{
  {name}(input: $input) {{ request {{ {REQUEST_FIELDS} }} userErrors {{ field message code }} }}
}}
"""


SUBMIT = move_mutation("submitRequest", "RequestMoveInput")
DECIDE = move_mutation("decideRequest", "DecideRequestInput")
ACTIVATE = move_mutation("activateRequest", "RequestMoveInput")
CANCEL = move_mutation("cancelRequest", "CancelRequestInput")
UPDATE = move_mutation("updateRequest", "UpdateRequestInput")
START_ACCEPTANCE = move_mutation("startAcceptance", "RequestMoveInput")
CLOSE = move_mutation("closeRequest", "RequestMoveInput")


def request_input(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "kind": "PROJECT",
        "title": "2024新品推广",
        "leadDepartmentId": "mkt",
        "participantDepartmentIds": ["rd", "sales-eu"],
        "approverId": "dir",
        "startsOn": "2026-01-05",
        "endsOn": "2026-06-30",
        "goals": [
            {"metric": "sales", "target": "2000000", "unit": "CNY", "dueDate": "2026-03-31"},
            {
                "metric": "answer time",
                "target": "24",
                "unit": "hours",
                "dueDate": "2026-03-31",
                "direction": "AT_MOST",
            },
        ],
        "milestones": [{"title": "campaign live", "dueDate": "2026-02-01"}],
    }
    return {**base, **changes}


async def load_directory(api: SubgraphClient) -> None:
    data = await api.execute(DIRECTORY, caller=ADMIN)
    problems = {k: v["userErrors"] for k, v in data.items() if v["userErrors"]}
    assert problems == {}


async def create_request(api: SubgraphClient, **changes: Any) -> dict[str, Any]:
    data = await api.execute(CREATE, {"input": request_input(**changes)}, caller=LI)
    assert data["createRequest"]["userErrors"] == []
    request: dict[str, Any] = data["createRequest"]["request"]
    return request


async def move(api: SubgraphClient, mutation: str, caller: Caller, **input: Any) -> dict[str, Any]:
    """Run a move mutation and return its payload (request and userErrors)."""
    data = await api.execute(mutation, {"input": input}, caller=caller)
    payload: dict[str, Any] = next(iter(data.values()))
    return payload


async def active_request(api: SubgraphClient, **changes: Any) -> dict[str, Any]:
    """A request taken through submission and approval to ACTIVE."""
    request = await create_request(api, **changes)
    rid = request["id"]
    assert (await move(api, SUBMIT, LI, requestId=rid))["userErrors"] == []
    decided = await move(api, DECIDE, APPROVER, requestId=rid, decision="APPROVE")
    assert decided["userErrors"] == []
    activated = await move(api, ACTIVATE, LI, requestId=rid)
    assert activated["userErrors"] == []
    result: dict[str, Any] = activated["request"]
    return result


async def outbox(api: SubgraphClient) -> list[tuple[str, dict[str, Any]]]:
    """The events for others to see, oldest first: not the read models' internal ones
    (tests/requests/test_work_items.py and test_search_documents.py read those)."""
    rows = await api.runtime.pool.fetch(
        "SELECT event_type, envelope FROM outbox WHERE NOT (event_type = ANY($1)) ORDER BY seq",
        internal_types(),
    )
    return [(r["event_type"], r["envelope"]["data"]) for r in rows]


async def snapshot(api: SubgraphClient) -> dict[str, Any]:
    """Counts that a refused mutation must leave unchanged."""
    conn = api.runtime.pool
    return {
        "outbox": await conn.fetchval("SELECT count(*) FROM outbox"),
        "history": await conn.fetchval("SELECT count(*) FROM request_history"),
        "statuses": [
            tuple(r) for r in await conn.fetch("SELECT id, status, version FROM collab_requests")
        ],
        "timers": await conn.fetchval("SELECT count(*) FROM timers"),
    }
