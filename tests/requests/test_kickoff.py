"""Kickoff outputs: communication plan, risk register and channel names."""

from __future__ import annotations

from typing import Any

from shared.channel_names import short_title
from tests.requests.helpers import (
    LI,
    WANG,
    active_request,
    create_request,
    outbox,
    snapshot,
)
from tests.support import Caller, SubgraphClient, nodes

SET_PLAN = """
mutation($input: SetCommunicationPlanInput!) {
  setCommunicationPlan(input: $input) {
    communicationPlan { meetingCadence channels reportTemplate reportCadence
                        reportDeadlineWeekday reportDeadlineTime timeZone }
    userErrors { field code message }
  }
}
"""

ADD_RISK = """
mutation($input: AddRiskInput!) {
  addRisk(input: $input) {
    risk { id description likelihood impact mitigation status owner { id } }
    userErrors { field code message }
  }
}
"""

UPDATE_RISK = """
mutation($input: UpdateRiskInput!) {
  updateRisk(input: $input) { risk { id status } userErrors { field code message } }
}
"""

CHANNELS = """
query($id: ID!, $language: ChannelLanguage!) {
  request(id: $id) {
    channelNames(language: $language) { name phase department { id } }
    communicationPlan { meetingCadence }
    risks { edges { node { description owner { id } } } }
  }
}
"""

PLAN = {
    "meetingCadence": "weekly progress meeting, Monday 10:00",
    "channels": ["DingTalk group", "video meeting"],
    "reportTemplate": "template 3: plan vs actual",
}


async def run(api: SubgraphClient, document: str, caller: Caller, **input: Any) -> dict[str, Any]:
    data = await api.execute(document, {"input": input}, caller=caller)
    payload: dict[str, Any] = next(iter(data.values()))
    return payload


async def test_communication_plan_defaults_to_friday_1700_lead_time_and_is_emitted(
    api: SubgraphClient,
) -> None:
    rid = (await active_request(api))["id"]
    saved = await run(api, SET_PLAN, LI, requestId=rid, **PLAN)
    plan = saved["communicationPlan"]
    assert (plan["reportDeadlineWeekday"], plan["reportDeadlineTime"], plan["timeZone"]) == (
        5,
        "17:00:00",
        "Asia/Shanghai",
    )
    event = [d for t, d in await outbox(api) if t == "requests.communication_plan.set"][-1]
    assert event["report_deadline_time"] == "17:00"
    assert event["report_cadence"] == "WEEKLY"
    assert event["channels"] == ["DingTalk group", "video meeting"]
    again = await run(api, SET_PLAN, LI, requestId=rid, **{**PLAN, "reportCadence": "MONTHLY"})
    assert again["communicationPlan"]["reportCadence"] == "MONTHLY"


async def test_plan_refusals_change_nothing(api: SubgraphClient) -> None:
    rid = (await active_request(api))["id"]
    before = await snapshot(api)
    by_participant = await run(api, SET_PLAN, WANG, requestId=rid, **PLAN)
    assert [e["code"] for e in by_participant["userErrors"]] == ["NOT_LEAD_DEPARTMENT"]
    empty = await run(api, SET_PLAN, LI, requestId=rid, **{**PLAN, "channels": [" "]})
    assert [e["field"] for e in empty["userErrors"]] == ["channels"]
    assert await snapshot(api) == before
    draft = (await create_request(api))["id"]
    early = await run(api, SET_PLAN, LI, requestId=draft, **PLAN)
    assert early["userErrors"][0]["code"] == "INVALID_STATUS"
    assert "DRAFT" in early["userErrors"][0]["message"]


async def test_risk_register(api: SubgraphClient) -> None:
    rid = (await active_request(api))["id"]
    risk = {
        "description": "时区差异 delays answers from Berlin",
        "likelihood": "HIGH",
        "impact": "MEDIUM",
        "mitigation": "overlap hours 16:00-18:00 Beijing",
        "ownerId": "anna",
    }
    added = await run(api, ADD_RISK, LI, requestId=rid, risk=risk)
    assert added["risk"]["owner"] == {"id": "anna"}
    risk_id = added["risk"]["id"]
    updated = await run(api, UPDATE_RISK, LI, riskId=risk_id, risk={**risk, "status": "MITIGATED"})
    assert updated["risk"]["status"] == "MITIGATED"
    events = [d for t, d in await outbox(api) if t == "requests.risk.recorded"]
    assert [e["status"] for e in events] == ["OPEN", "MITIGATED"]
    before = await snapshot(api)
    refused = await run(api, ADD_RISK, WANG, requestId=rid, risk=risk)
    assert [e["code"] for e in refused["userErrors"]] == ["NOT_LEAD_DEPARTMENT"]
    vague = await run(api, ADD_RISK, LI, requestId=rid, risk={**risk, "mitigation": ""})
    assert [e["field"] for e in vague["userErrors"]] == ["mitigation"]
    assert await snapshot(api) == before
    data = await api.execute(CHANNELS, {"id": rid, "language": "ZH"}, caller=WANG)
    assert nodes(data["request"]["risks"]) == [
        {"description": risk["description"], "owner": {"id": "anna"}}
    ]


async def test_channel_names_for_every_phase_and_department(api: SubgraphClient) -> None:
    rid = (await create_request(api))["id"]
    data = await api.execute(CHANNELS, {"id": rid, "language": "ZH"}, caller=LI)
    names = [c["name"] for c in data["request"]["channelNames"]]
    assert names[:3] == [
        "2024新品推广-筹备-市场部",
        "2024新品推广-筹备-研发部",
        "2024新品推广-筹备-Sales Europe",
    ]
    assert len(names) == 4 * 3
    assert names[-1] == "2024新品推广-收尾-Sales Europe"
    english = await api.execute(CHANNELS, {"id": rid, "language": "EN"}, caller=LI)
    assert english["request"]["channelNames"][3]["name"] == "2024新品推广-Execution-市场部"


def test_long_titles_are_shortened_by_the_stated_rule() -> None:
    assert short_title("2024新品推广") == "2024新品推广"
    assert short_title("Q4  new-product national launch") == "Q4 new·product …"
    assert len(short_title("x" * 40)) == 16
    assert short_title("一二三四五六七八九十一二三四五六七") == "一二三四五六七八九十一二三四五…"
