"""The `requests` list filtered and sorted, and `people` searched, through the gateway."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from tests.e2e.gateway_client import GatewayClient
from tests.e2e.test_requests_lifecycle import CREATE, run
from tests.support import ADMIN, Caller, nodes

# Ids of their own (lf-*), so this file shares the session's stack with the other e2e files.
LI = Caller("lf-li", departments=("lf-mkt",), roles=("DEPARTMENT_HEAD",))
"""Head of marketing, the lead department of the requests created here."""
ANNA = Caller("lf-anna", departments=("lf-eu",), roles=("DEPARTMENT_HEAD",))
"""Head of European sales, taking part in some of them."""
OUTSIDER = Caller("lf-zhao", departments=("lf-legal",))
"""A member of a department that takes part in none."""

DIRECTORY = """
mutation {
  sh: upsertRegion(input: {id: "lf-sh", code: "LF-SH", name: "Shanghai",
                           timeZone: "Asia/Shanghai", holidayCountry: "CN"}) { userErrors { code } }
  mkt: upsertDepartment(input: {id: "lf-mkt", code: "LF-MKT", name: "市场部", regionId: "lf-sh"})
    { userErrors { code } }
  eu: upsertDepartment(input: {id: "lf-eu", code: "LF-EU", name: "欧洲销售", regionId: "lf-sh"})
    { userErrors { code } }
  legal: upsertDepartment(input: {id: "lf-legal", code: "LF-LEGAL", name: "法务",
                                  regionId: "lf-sh"}) { userErrors { code } }
  li: upsertPerson(input: {id: "lf-li", name: "Li Na", email: "li@lf.example",
                           departmentId: "lf-mkt", regionId: "lf-sh", timeZone: "Asia/Shanghai",
                           roles: ["DEPARTMENT_HEAD"]}) { userErrors { code } }
  dir: upsertPerson(input: {id: "lf-dir", name: "Director", email: "dir@lf.example",
                            departmentId: "lf-mkt", regionId: "lf-sh", timeZone: "Asia/Shanghai",
                            roles: ["DEPARTMENT_HEAD"]}) { userErrors { code } }
  anna: upsertPerson(input: {id: "lf-anna", name: "Anna Becker", email: "anna@lf.example",
                             departmentId: "lf-eu", regionId: "lf-sh", timeZone: "Asia/Shanghai",
                             roles: ["DEPARTMENT_HEAD"]}) { userErrors { code } }
  wangli: upsertPerson(input: {id: "lf-wangli", name: "王丽", email: "wang.li@lf.example",
                               departmentId: "lf-mkt", regionId: "lf-sh",
                               timeZone: "Asia/Shanghai"}) { userErrors { code } }
}
"""

PAGE = """
query Page($filter: RequestFilter, $sort: RequestSort!, $first: Int!, $after: String) {
  requests(filter: $filter, sort: $sort, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { id title } }
  }
}
"""

PEOPLE = """
query People($text: String!) {
  people(text: $text, first: 5) { totalCount edges { node { id name } } }
}
"""


async def created(gateway: GatewayClient, title: str, milestones: list[date], **more: Any) -> str:
    payload = await run(
        gateway,
        CREATE,
        LI,
        kind="PROJECT",
        title=title,
        leadDepartmentId="lf-mkt",
        participantDepartmentIds=more.pop("participants", ["lf-eu"]),
        approverId="lf-dir",
        startsOn=str(date.today()),
        endsOn=str(date.today() + timedelta(days=365)),
        goals=[{"metric": "dealers", "target": "10", "unit": "dealer", "dueDate": "2027-06-30"}],
        milestones=[{"title": "node", "dueDate": str(day)} for day in milestones],
    )
    assert payload["userErrors"] == []
    request_id: str = payload["request"]["id"]
    return request_id


async def pages(
    gateway: GatewayClient, caller: Caller, filter: dict[str, Any], first: int
) -> tuple[list[str], int]:
    """Every id of the list sorted by NEAREST_MILESTONE, page by page; the count."""
    seen: list[str] = []
    after = None
    while True:
        variables = {"filter": filter, "sort": "NEAREST_MILESTONE", "first": first}
        data = await gateway.execute(PAGE, {**variables, "after": after}, caller=caller)
        page = data["requests"]
        seen += [node["id"] for node in nodes(page)]
        if not page["pageInfo"]["hasNextPage"]:
            return seen, page["totalCount"]
        after = page["pageInfo"]["endCursor"]


async def test_a_filtered_sorted_page_and_a_people_search(gateway: GatewayClient) -> None:
    data = await gateway.execute(DIRECTORY, caller=ADMIN)
    assert all(not v["userErrors"] for v in data.values()), data
    soon = date.today() + timedelta(days=20)
    none_ahead = await created(gateway, "欧洲渠道 review", [])
    first = await created(gateway, "季度复盘 Europe", [soon + timedelta(days=9), soon])
    tie = await created(gateway, "Dealer days 复盘", [soon])
    later = await created(gateway, "Launch 复盘", [soon + timedelta(days=30)])
    await created(gateway, "复盘 at home", [soon], participants=["lf-legal"])

    europe = {"regionId": "lf-sh", "participatingDepartmentId": "lf-eu"}
    for size in (1, 2):
        assert await pages(gateway, LI, europe, size) == ([first, tie, later, none_ahead], 4)
    searched = {**europe, "text": "复盘", "statuses": ["DRAFT"]}
    assert await pages(gateway, ANNA, searched, 2) == ([first, tie, later], 3)
    assert await pages(gateway, OUTSIDER, europe, 2) == ([], 0)

    found = await gateway.execute(PEOPLE, {"text": "wang.li"}, caller=LI)
    assert (found["people"]["totalCount"], nodes(found["people"])) == (
        1,
        [{"id": "lf-wangli", "name": "王丽"}],
    )
    by_name = await gateway.execute(PEOPLE, {"text": "王丽 lf.example"}, caller=ANNA)
    assert [node["id"] for node in nodes(by_name["people"])] == ["lf-wangli"]
