"""One chat-group name rule: notify's registered groups are named as requests lists them."""

from __future__ import annotations

from shared.channel_names import channel_name
from shared.events.envelope import EventEnvelope
from tests.notify.conftest import Events
from tests.notify.test_channels import REGISTER
from tests.requests.helpers import LI, create_request, load_directory
from tests.support import SubgraphClient

NAMES = """
query($id: ID!) { request(id: $id) { channelNames { name phase department { id } } } }
"""
ROBOT = "https://93.184.216.34/robot/send?access_token=abc"


async def test_both_services_name_a_long_titled_request_s_groups_alike(
    requests_api: SubgraphClient, notify_api: SubgraphClient
) -> None:
    await load_directory(requests_api)
    title = "Q4  new-product national launch"
    request = await create_request(requests_api, title=title)
    # notify learns the request and the directory from requests' own events, as in production.
    feed = Events(notify_api)
    for row in await requests_api.runtime.pool.fetch("SELECT envelope FROM outbox ORDER BY seq"):
        await feed.handle(EventEnvelope.model_validate(row["envelope"]))
    listed = await requests_api.execute(NAMES, {"id": request["id"]}, caller=LI)
    expected = {
        (c["phase"], c["department"]["id"]): c["name"] for c in listed["request"]["channelNames"]
    }
    for phase, department in [("PREPARATION", "mkt"), ("EXECUTION", "sales-eu")]:
        values = {
            "request": request["id"],
            "phase": phase,
            "department": department,
            "kind": "SLACK",
            "webhookUrl": ROBOT,
        }
        data = await notify_api.execute(REGISTER, {"input": values}, caller=LI)
        payload = data["registerChannel"]
        assert payload["userErrors"] == []
        assert payload["channel"]["name"] == expected[(phase, department)]
    assert expected[("PREPARATION", "mkt")] == "Q4 new·product …-筹备-市场部"
    assert expected[("EXECUTION", "sales-eu")] == "Q4 new·product …-执行-Sales Europe"


def test_the_rule_keeps_short_titles_and_cuts_long_ones() -> None:
    assert channel_name("2024新品推广", "PREPARATION", "市场部") == "2024新品推广-筹备-市场部"
    assert channel_name("Q4 new product national launch", "CLOSED", "研发部") == (
        "Q4 new product …-收尾-研发部"
    )
    assert channel_name("一二三四五六七八九十一二三四五六七", "EXECUTION", "Legal", "EN") == (
        "一二三四五六七八九十一二三四五…-Execution-Legal"
    )
