"""Deliveries connections count the whole filtered list, the nested one in one batched query."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.notify.delivery import repository as deliveries
from services.notify.models import TargetKind
from shared.ids import new_id
from tests.notify.conftest import execute_as_partner
from tests.notify.test_webhooks import CREATE, ISSUES
from tests.support import Caller, SubgraphClient, assert_no_growth, counting_statements

ACME = Caller("acme", roles=("PARTNER",), scopes=ISSUES)

NESTED = """
query($status: DeliveryStatus, $first: Int!) {
  webhookEndpoints(first: 50) {
    totalCount
    edges { node { id deliveries(status: $status, first: $first) {
      totalCount pageInfo { hasNextPage endCursor } edges { node { id status } }
    } } }
  }
}
"""
ONE = """
query($id: ID!, $status: DeliveryStatus, $first: Int!, $after: String) {
  webhookEndpoint(id: $id) { deliveries(status: $status, first: $first, after: $after) {
    totalCount edges { node { id } }
  } }
  deliveries(endpointId: $id, status: $status, first: $first, after: $after) {
    totalCount edges { node { id } }
  }
}
"""


async def endpoint(api: SubgraphClient) -> str:
    variables = {"input": {"url": "https://93.184.216.34/hook", "eventTypes": ["issues.*"]}}
    data = await execute_as_partner(api, "acme", ISSUES, CREATE, variables)
    assert data["createWebhookEndpoint"]["userErrors"] == []
    endpoint_id: str = data["createWebhookEndpoint"]["endpoint"]["id"]
    return endpoint_id


async def add_deliveries(api: SubgraphClient, endpoint_id: str, pending: int, done: int) -> None:
    async with api.runtime.pool.acquire() as conn:
        for number in range(pending + done):
            delivery = await deliveries.insert_delivery(
                conn,
                new_id(),
                "issues.issue.reported",
                TargetKind.WEBHOOK,
                endpoint_id,
                {},
                datetime.now(UTC),
            )
            assert delivery is not None
            if number >= pending:
                await conn.execute(
                    "UPDATE deliveries SET status = 'SUCCEEDED', next_attempt_at = NULL"
                    " WHERE id = $1",
                    delivery.id,
                )


async def nested(api: SubgraphClient, status: str | None, first: int) -> dict[str, Any]:
    data = await execute_as_partner(api, "acme", ISSUES, NESTED, {"status": status, "first": first})
    return {e["node"]["id"]: e["node"]["deliveries"] for e in data["webhookEndpoints"]["edges"]}


async def test_nested_deliveries_count_each_endpoint_s_filtered_list(
    notify_api: SubgraphClient,
) -> None:
    busy, quiet, idle = [await endpoint(notify_api) for _ in range(3)]
    await add_deliveries(notify_api, busy, pending=3, done=2)
    await add_deliveries(notify_api, quiet, pending=0, done=1)
    pending = await nested(notify_api, "PENDING", 2)
    assert {k: (v["totalCount"], len(v["edges"])) for k, v in pending.items()} == {
        busy: (3, 2),
        quiet: (0, 0),
        idle: (0, 0),
    }
    assert pending[busy]["pageInfo"]["hasNextPage"] is True
    assert {e["node"]["status"] for e in pending[busy]["edges"]} == {"PENDING"}
    every = await nested(notify_api, None, 1)
    assert {k: (v["totalCount"], len(v["edges"])) for k, v in every.items()} == {
        busy: (5, 1),
        quiet: (1, 1),
        idle: (0, 0),
    }
    # The second page counts the whole list too, nested and at the root alike.
    variables = {"id": busy, "status": "PENDING", "first": 2}
    variables["after"] = pending[busy]["pageInfo"]["endCursor"]
    rest = await execute_as_partner(notify_api, "acme", ISSUES, ONE, variables)
    assert rest["webhookEndpoint"]["deliveries"]["totalCount"] == 3
    assert len(rest["webhookEndpoint"]["deliveries"]["edges"]) == 1
    assert rest["deliveries"] == rest["webhookEndpoint"]["deliveries"]


async def test_nested_deliveries_cost_the_same_for_2_and_6_endpoints(
    notify_api: SubgraphClient,
) -> None:
    counts = []
    async with counting_statements(notify_api.runtime) as counter:
        for total in (2, 6):
            while len(await nested(notify_api, None, 1)) < total:
                await add_deliveries(notify_api, await endpoint(notify_api), pending=2, done=1)
            count, data = await counter.count(
                notify_api, NESTED, {"status": None, "first": 5}, caller=ACME
            )
            found = [e["node"]["deliveries"] for e in data["webhookEndpoints"]["edges"]]
            assert [d["totalCount"] for d in found] == [3] * total
            counts.append(count)
    assert_no_growth(counts[0], counts[1])
