"""Every write of a person's own notify state emits its event through the outbox, and a
write that changes nothing (or is refused) emits none."""

from __future__ import annotations

from typing import Any

from tests.notify.conftest import Events
from tests.notify.test_channels import register, seed_request
from tests.notify.test_inbox import LI, MARK_ALL_READ, MARK_READ, inbox, notify_li
from tests.support import SubgraphClient

PREFERENCES = """
mutation($input: SetNotificationPreferencesInput!) {
  setNotificationPreferences(input: $input) { userErrors { code } }
}
"""


async def emitted(api: SubgraphClient, event_type: str) -> list[dict[str, Any]]:
    rows = await api.runtime.pool.fetch(
        "SELECT envelope FROM outbox WHERE event_type = $1 ORDER BY seq", event_type
    )
    return [r["envelope"] for r in rows]


async def test_read_marks_emit_the_ids_that_became_read(
    notify_api: SubgraphClient, events: Events
) -> None:
    await notify_li(events, 3)
    ids = [e["node"]["id"] for e in (await inbox(notify_api, LI))["edges"]]
    await notify_api.execute(MARK_READ, {"ids": ids[:1]}, caller=LI)
    await notify_api.execute(MARK_READ, {"ids": ids[:2]}, caller=LI)  # the first one again
    await notify_api.execute(MARK_ALL_READ, caller=LI)
    await notify_api.execute(MARK_ALL_READ, caller=LI)  # nothing left: no event
    read = await emitted(notify_api, "notify.notification.read")
    assert [(e["subject"], e["data"]["ids"]) for e in read] == [
        ("li", ids[:1]),
        ("li", ids[1:2]),
        ("li", ids[2:]),
    ]


async def test_preferences_emit_what_now_stands(notify_api: SubgraphClient) -> None:
    refused = {"timeZone": "Mars/Olympus", "language": "en"}
    payload = await notify_api.execute(PREFERENCES, {"input": refused}, caller=LI)
    assert payload["setNotificationPreferences"]["userErrors"] != []
    wanted = {
        "quietHours": {"start": "22:00:00", "end": "07:00:00"},
        "timeZone": "Asia/Shanghai",
        "language": "en",
    }
    payload = await notify_api.execute(PREFERENCES, {"input": wanted}, caller=LI)
    assert payload["setNotificationPreferences"]["userErrors"] == []
    [event] = await emitted(notify_api, "notify.preferences.updated")
    assert event["subject"] == "li"
    data = event["data"]
    assert (data["quiet_start"], data["quiet_end"]) == ("22:00:00", "07:00:00")
    assert (data["time_zone"], data["language"]) == ("Asia/Shanghai", "en")
    assert "IN_APP" in data["normal_channels"]


async def test_registering_a_channel_emits_it_without_url_or_secret(
    notify_api: SubgraphClient, events: Events
) -> None:
    await seed_request(events)
    url = "https://93.184.216.34/robot/send?access_token=abc"
    payload = await register(notify_api, LI, kind="DINGTALK", webhookUrl=url, secret="SECabc")
    assert payload["userErrors"] == []
    again = await register(notify_api, LI, kind="DINGTALK", webhookUrl=url, secret="SECabc")
    assert [e["code"] for e in again["userErrors"]] == ["CHANNEL_EXISTS"]
    [event] = await emitted(notify_api, "notify.channel.registered")
    data = event["data"]
    assert (data["request_id"], data["phase"], data["department_id"], data["kind"]) == (
        "cr1",
        "PREPARATION",
        "mkt",
        "DINGTALK",
    )
    assert "access_token" not in str(event)
    assert "SECabc" not in str(event)
