"""The top-level ``tasks`` list through the gateway: a filtered, sorted page joined with the
requests subgraph, the next page by its cursor, a cursor of another sort refused, and an
outsider seeing nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.gateway_client import GatewayClient
from tests.e2e.test_tasks_flows import CREATE_TASK, OUTSIDER, task_input
from tests.e2e.test_walking_skeleton import LI, create_request, retry_while_unknown
from tests.support import GraphQLFailure, nodes

TASKS = """
query($filter: TaskFilter, $sort: TaskSort! = DUE_SOONEST, $first: Int! = 20, $after: String) {
  tasks(filter: $filter, sort: $sort, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { title dueAt request { code } } }
  }
}
"""


async def page(gateway: GatewayClient, caller: Any = LI, **variables: Any) -> dict[str, Any]:
    found: dict[str, Any] = (await gateway.execute(TASKS, variables, caller=caller))["tasks"]
    return found


@pytest.mark.timeout(120)
async def test_filtered_sorted_pages_of_tasks_through_the_gateway(gateway: GatewayClient) -> None:
    request = await create_request(gateway)
    planned = [
        ("Book the venue", "预订发布会场地", "2027-02-10T10:00:00+08:00"),
        ("Print the flyers", "", "2027-02-01T10:00:00+08:00"),
        ("Write the press release", "新闻稿", None),
    ]
    for title, description, due in planned:
        task = task_input(request["id"], title, description=description, dueAt=due)
        await retry_while_unknown(gateway, CREATE_TASK, {"input": task}, LI, "createTask")
    mine = {"requestId": request["id"]}

    first = await page(gateway, filter=mine, first=2)
    assert [t["title"] for t in nodes(first)] == ["Print the flyers", "Book the venue"]
    assert {t["request"]["code"] for t in nodes(first)} == {request["code"]}
    assert (first["totalCount"], first["pageInfo"]["hasNextPage"]) == (3, True)
    cursor = first["pageInfo"]["endCursor"]
    rest = await page(gateway, filter=mine, first=2, after=cursor)
    assert [t["title"] for t in nodes(rest)] == ["Write the press release"]
    assert rest["pageInfo"]["hasNextPage"] is False

    found = await page(gateway, filter={**mine, "text": "场地"})
    assert [t["title"] for t in nodes(found)] == ["Book the venue"]
    found = await page(gateway, filter={**mine, "text": "PRESS"}, sort="UPDATED_NEWEST")
    assert [t["title"] for t in nodes(found)] == ["Write the press release"]

    with pytest.raises(GraphQLFailure, match="sorted by DUE_SOONEST") as refused:
        await page(gateway, filter=mine, sort="CREATED_OLDEST", after=cursor)
    assert "BAD_USER_INPUT" in str(refused.value)

    hidden = await page(gateway, OUTSIDER, filter=mine)
    assert (hidden["totalCount"], hidden["edges"]) == (0, [])
