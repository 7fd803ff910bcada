"""The requests subgraph's first slice: directory and request creation with quantified goals."""

from __future__ import annotations

from typing import Any

import pytest

from shared.events.contracts import internal_types
from tests.support import ADMIN, Caller, SubgraphClient

UPSERT_DIRECTORY = """
mutation {
  r: upsertRegion(input: {id: "hq", code: "HQ", name: "HQ", timeZone: "Asia/Shanghai",
                          holidayCountry: "CN"}) { userErrors { code } }
  mkt: upsertDepartment(input: {id: "mkt", code: "MKT", name: "Marketing", regionId: "hq"})
    { userErrors { code } }
  rd: upsertDepartment(input: {id: "rd", code: "RD", name: "R&D", regionId: "hq"})
    { userErrors { code } }
  p: upsertPerson(input: {id: "li", name: "Li Na", email: "li@example.com",
                          departmentId: "mkt", regionId: "hq", timeZone: "Asia/Shanghai"})
    { userErrors { code } }
}
"""

CREATE = """
mutation($input: CreateRequestInput!) {
  createRequest(input: $input) {
    request { id code status phase title leadDepartment { code } participants { code }
              goals { metric target unit dueDate }
              resourceNeeds { kind quantity unit providerDepartment { code } } }
    userErrors { field message code }
  }
}
"""

LI = Caller("li", departments=("mkt",))


def request_input(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "kind": "PROJECT",
        "title": "Q4 new product national launch",
        "leadDepartmentId": "mkt",
        "participantDepartmentIds": ["rd"],
        "goals": [{"metric": "sales", "target": "2000000", "unit": "CNY", "dueDate": "2027-02-28"}],
        "resourceNeeds": [
            {
                "kind": "HEADCOUNT",
                "description": "R&D support",
                "quantity": "2",
                "unit": "person",
                "providerDepartmentId": "rd",
            }
        ],
    }
    return {**base, **changes}


@pytest.fixture
async def directory(requests_api: SubgraphClient) -> SubgraphClient:
    data = await requests_api.execute(UPSERT_DIRECTORY, caller=ADMIN)
    assert all(not v["userErrors"] for v in data.values())
    return requests_api


async def outbox_types(api: SubgraphClient) -> list[str]:
    rows = await api.runtime.pool.fetch("SELECT event_type FROM outbox ORDER BY seq")
    return [r["event_type"] for r in rows]


async def test_create_request_stores_it_and_emits_event(directory: SubgraphClient) -> None:
    data = await directory.execute(CREATE, {"input": request_input()}, caller=LI)
    payload = data["createRequest"]
    assert payload["userErrors"] == []
    request = payload["request"]
    assert request["code"].startswith("CR-")
    assert request["code"].endswith("-0001")
    assert request["status"] == "DRAFT"
    assert request["phase"] == "PREPARATION"
    assert request["participants"] == [{"code": "RD"}]
    assert request["goals"][0]["target"] == "2000000"
    assert request["resourceNeeds"] == [
        {
            "kind": "HEADCOUNT",
            "quantity": "2",
            "unit": "person",
            "providerDepartment": {"code": "RD"},
        }
    ]
    # the last event for others to see; the read models' internal events follow it
    public = [t for t in await outbox_types(directory) if t not in internal_types()]
    assert public[-1] == "requests.request.created"

    listed = await directory.execute("{ requests { totalCount edges { node { id } } } }", caller=LI)
    assert [e["node"]["id"] for e in listed["requests"]["edges"]] == [request["id"]]


@pytest.mark.parametrize(
    ("goal", "field"),
    [
        ({"metric": "sales", "unit": "CNY", "dueDate": "2027-01-01"}, "goals.0.target"),
        ({"metric": "sales", "target": "5", "dueDate": "2027-01-01"}, "goals.0.unit"),
        ({"metric": "sales", "target": "5", "unit": "CNY"}, "goals.0.dueDate"),
        ({"metric": " ", "target": "5", "unit": "CNY", "dueDate": "2027-01-01"}, "goals.0.metric"),
    ],
)
async def test_unquantified_goal_is_refused_and_nothing_stored(
    directory: SubgraphClient, goal: dict[str, Any], field: str
) -> None:
    before = await outbox_types(directory)
    data = await directory.execute(CREATE, {"input": request_input(goals=[goal])}, caller=LI)
    payload = data["createRequest"]
    assert payload["request"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
        (field, "GOAL_NOT_QUANTIFIED")
    ]
    assert await directory.runtime.pool.fetchval("SELECT count(*) FROM collab_requests") == 0
    assert await outbox_types(directory) == before


async def test_vague_resource_need_is_refused(directory: SubgraphClient) -> None:
    vague = {"kind": "BUDGET", "description": "some money"}
    data = await directory.execute(
        CREATE, {"input": request_input(resourceNeeds=[vague])}, caller=LI
    )
    errors = data["createRequest"]["userErrors"]
    assert {(e["field"], e["code"]) for e in errors} == {
        ("resourceNeeds.0.quantity", "RESOURCE_NOT_SPECIFIC"),
        ("resourceNeeds.0.unit", "RESOURCE_NOT_SPECIFIC"),
    }


async def test_request_needs_a_participant_besides_the_lead(directory: SubgraphClient) -> None:
    data = await directory.execute(
        CREATE, {"input": request_input(participantDepartmentIds=["mkt"])}, caller=LI
    )
    assert [e["code"] for e in data["createRequest"]["userErrors"]] == ["PARTICIPANT_REQUIRED"]


async def test_only_lead_department_members_create(directory: SubgraphClient) -> None:
    outsider = Caller("wang", departments=("rd",))
    data = await directory.execute(CREATE, {"input": request_input()}, caller=outsider)
    assert [e["code"] for e in data["createRequest"]["userErrors"]] == ["NOT_IN_LEAD_DEPARTMENT"]


async def test_requests_are_visible_only_to_taking_part_departments(
    directory: SubgraphClient,
) -> None:
    created = await directory.execute(CREATE, {"input": request_input()}, caller=LI)
    request_id = created["createRequest"]["request"]["id"]
    query = "query($id: ID!) { request(id: $id) { id } }"
    stranger = Caller("zhao", departments=("legal",))
    assert (await directory.execute(query, {"id": request_id}, caller=stranger))["request"] is None
    assert (await directory.execute(query, {"id": request_id}, caller=LI))["request"]


async def test_directory_upkeep_is_admin_only(requests_api: SubgraphClient) -> None:
    data = await requests_api.execute(UPSERT_DIRECTORY, caller=LI)
    assert data["r"]["userErrors"] == [{"code": "FORBIDDEN"}]


async def test_calls_without_gateway_secret_or_token_are_refused(
    requests_api: SubgraphClient,
) -> None:
    no_token = await requests_api.post("{ regions { id } }", caller=None)
    assert no_token.status_code == 401
    response = await requests_api.http.post(
        "/graphql", json={"query": "{ regions { id } }"}, headers={"authorization": "Bearer x"}
    )
    assert response.status_code == 401
    assert "gateway" in response.text
