"""The issues list's filters and sorts through the gateway: text in Chinese and by code,
severity, clock state and region, sorted most severe first and paged with its cursors; a
cursor of another sort refused with its code intact."""

from __future__ import annotations

from typing import Any

from tests.e2e.gateway_client import GatewayClient
from tests.e2e.test_issue_flows import ACK, PMO, REPORT, move, new_request
from tests.e2e.test_walking_skeleton import LI, SUN
from tests.support import nodes

LIST = """
query($filter: IssueFilter, $sort: IssueSort!, $first: Int!, $after: String) {
  issues(filter: $filter, sort: $sort, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id code severity request { id title } slaClocks { metric state } } }
  }
}
"""


async def page(
    gateway: GatewayClient, sort: str, first: int, after: str | None = None, **filter_: Any
) -> dict[str, Any]:
    variables = {"filter": filter_, "sort": sort, "first": first, "after": after}
    data: dict[str, Any] = (await gateway.execute(LIST, variables, caller=PMO))["issues"]
    return data


async def test_filtered_sorted_issues_through_the_gateway(gateway: GatewayClient) -> None:
    request_id = await new_request(gateway)
    reported = []
    titles = (("包装破损", "LOW"), ("海关扣留样机", "CRITICAL"), ("Drop test", "HIGH"))
    for title, severity in titles:
        report_input = {"requestId": request_id, "title": title, "severity": severity}
        reported.append((await move(gateway, REPORT, SUN, **report_input))["issue"]["id"])
    low, critical, high = reported
    await move(gateway, ACK, LI, issueId=high)  # RESPONSE stops; PLAN keeps running

    mine = {"requestId": request_id}
    found = await page(gateway, "REPORTED_NEWEST", 10, text="海关", **mine)
    assert [n["id"] for n in nodes(found)] == [critical]
    assert nodes(found)[0]["request"]["title"] == "Batch quality complaint in East China"
    code = nodes(found)[0]["code"]
    by_code = await page(gateway, "REPORTED_NEWEST", 10, text=code)
    assert [n["id"] for n in nodes(by_code)] == [critical]
    severe = await page(gateway, "REPORTED_NEWEST", 10, severities=["CRITICAL", "HIGH"], **mine)
    assert (severe["totalCount"], [n["id"] for n in nodes(severe)]) == (2, [high, critical])

    running = await page(gateway, "REPORTED_NEWEST", 10, clockStates=["RUNNING"], **mine)
    assert [n["id"] for n in nodes(running)] == [high, critical, low]
    assert nodes(await page(gateway, "REPORTED_NEWEST", 10, clockStates=["PAUSED"], **mine)) == []

    ids, after = [], None
    while True:
        one = await page(gateway, "SEVERITY", 1, after, **mine)
        ids += [n["id"] for n in nodes(one)]
        if not one["pageInfo"]["hasNextPage"]:
            break
        after = one["pageInfo"]["endCursor"]
    assert ids == [critical, high, low]

    response = await gateway.post(
        LIST, {"sort": "REPORTED_OLDEST", "first": 1, "after": after}, caller=PMO
    )
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "SEVERITY" in error["message"]
