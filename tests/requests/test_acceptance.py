"""Acceptance against goals with the approver's tolerance, sign-off, and the lessons search."""

from __future__ import annotations

from typing import Any

import pytest

from tests.requests.helpers import (
    APPROVER,
    CANCEL,
    CLOSE,
    LI,
    PMO,
    START_ACCEPTANCE,
    WANG,
    ZHAO,
    active_request,
    create_request,
    move,
    outbox,
    snapshot,
)
from tests.support import SubgraphClient, nodes

RESULT_FIELDS = """
request { id status phase acceptance { tolerancePercent complete metCount
          goals { metric actual met } } history { edges { node { action } } } }
userErrors { field message code }
"""
TOLERANCE = f"""
mutation($input: SetAcceptanceToleranceInput!) {{
  setAcceptanceTolerance(input: $input) {{ {RESULT_FIELDS} }}
}}"""
RECORD = f"""
mutation($input: RecordAcceptanceInput!) {{ recordAcceptance(input: $input) {{ {RESULT_FIELDS} }} }}
"""
ADD_LESSON = """
mutation($input: AddLessonInput!) {
  addLesson(input: $input) { lesson { id title tags author { id } request { id } }
                             userErrors { field code } }
}
"""
LESSONS = """
query($search: String, $after: String) {
  lessons(search: $search, first: 2, after: $after) {
    edges { node { title } } pageInfo { hasNextPage endCursor }
  }
}
"""


async def in_acceptance(api: SubgraphClient) -> dict[str, Any]:
    request = await active_request(api)
    started = await move(api, START_ACCEPTANCE, LI, requestId=request["id"])
    assert started["request"]["phase"] == "ACCEPTANCE"
    result: dict[str, Any] = started["request"]
    return result


def results(request: dict[str, Any], sales: str, hours: str) -> list[dict[str, str]]:
    goals = request["goals"]
    return [
        {"goalId": goals[0]["id"], "actual": sales},
        {"goalId": goals[1]["id"], "actual": hours},
    ]


async def test_results_are_judged_with_the_tolerance_and_sign_off_closes(
    api: SubgraphClient,
) -> None:
    request = await in_acceptance(api)
    rid = request["id"]
    # 1.9 million against 2 million, 25 hours against at most 24: both missed without tolerance
    recorded = await move(api, RECORD, LI, requestId=rid, results=results(request, "1900000", "25"))
    acceptance = recorded["request"]["acceptance"]
    assert [(g["actual"], g["met"]) for g in acceptance["goals"]] == [
        ("1900000", False),
        ("25", False),
    ]
    assert acceptance["complete"] is True
    loosened = await move(api, TOLERANCE, APPROVER, requestId=rid, tolerancePercent="5")
    acceptance = loosened["request"]["acceptance"]
    assert acceptance["tolerancePercent"] == "5"
    assert [g["met"] for g in acceptance["goals"]] == [True, True]
    assert acceptance["metCount"] == 2
    closed = await move(api, CLOSE, APPROVER, requestId=rid, comment="accepted")
    assert (closed["request"]["status"], closed["request"]["phase"]) == ("CLOSED", "CLOSED")
    actions = [h["action"] for h in nodes(closed["request"]["history"])]
    assert actions[-3:] == ["ACCEPTANCE_RECORDED", "TOLERANCE_SET", "CLOSED"]
    last = [d for t, d in await outbox(api) if t == "requests.request.updated"][-1]
    assert (last["status"], last["action"], last["comment"]) == ("CLOSED", "CLOSED", "accepted")


async def test_acceptance_refusals_change_nothing(api: SubgraphClient) -> None:
    request = await in_acceptance(api)
    rid = request["id"]
    before = await snapshot(api)
    early_close = await move(api, CLOSE, APPROVER, requestId=rid)
    assert [e["code"] for e in early_close["userErrors"]] == ["ACCEPTANCE_INCOMPLETE"]
    by_lead = await move(api, TOLERANCE, LI, requestId=rid, tolerancePercent="5")
    assert [e["code"] for e in by_lead["userErrors"]] == ["NOT_APPROVER"]
    silly = await move(api, TOLERANCE, APPROVER, requestId=rid, tolerancePercent="150")
    assert [e["field"] for e in silly["userErrors"]] == ["tolerancePercent"]
    by_participant = await move(
        api, RECORD, WANG, requestId=rid, results=results(request, "1", "1")
    )
    assert [e["code"] for e in by_participant["userErrors"]] == ["NOT_LEAD_DEPARTMENT"]
    wrong_goal = await move(
        api, RECORD, LI, requestId=rid, results=[{"goalId": "nope", "actual": "1"}]
    )
    assert [e["field"] for e in wrong_goal["userErrors"]] == ["results.0.goalId"]
    assert await snapshot(api) == before
    await move(api, RECORD, LI, requestId=rid, results=results(request, "2100000", "20"))
    by_lead_close = await move(api, CLOSE, LI, requestId=rid)
    assert [e["code"] for e in by_lead_close["userErrors"]] == ["NOT_APPROVER"]
    assert "IN_ACCEPTANCE" in by_lead_close["userErrors"][0]["message"]


async def test_a_request_in_acceptance_can_still_be_cancelled(api: SubgraphClient) -> None:
    rid = (await in_acceptance(api))["id"]
    cancelled = await move(api, CANCEL, LI, requestId=rid, comment="the market moved")
    assert cancelled["userErrors"] == []
    assert (cancelled["request"]["status"], cancelled["request"]["phase"]) == (
        "CANCELLED",
        "CLOSED",
    )


async def test_acceptance_needs_an_active_request(api: SubgraphClient) -> None:
    rid = (await create_request(api))["id"]
    before = await snapshot(api)
    early = await move(api, START_ACCEPTANCE, LI, requestId=rid)
    assert early["userErrors"][0]["code"] == "INVALID_STATUS"
    assert "DRAFT" in early["userErrors"][0]["message"]
    record = await move(api, RECORD, LI, requestId=rid, results=[])
    assert "DRAFT" in record["userErrors"][0]["message"]
    assert await snapshot(api) == before


async def add_lesson(api: SubgraphClient, rid: str, title: str, body: str, tags: list[str]) -> None:
    data = await api.execute(
        ADD_LESSON,
        {"input": {"requestId": rid, "title": title, "body": body, "tags": tags}},
        caller=WANG,
    )
    assert data["addLesson"]["userErrors"] == []


async def search(api: SubgraphClient, words: str | None, caller: Any = LI) -> list[str]:
    data = await api.execute(LESSONS, {"search": words}, caller=caller)
    return [e["node"]["title"] for e in data["lessons"]["edges"]]


@pytest.fixture
async def lessons(api: SubgraphClient) -> str:
    rid: str = (await create_request(api))["id"]
    await add_lesson(api, rid, "跨时区会议要提前安排", "柏林与上海只有下午两小时重叠。", ["时区"])
    await add_lesson(api, rid, "Budget approval took too long", "Ask finance earlier.", ["预算"])
    await add_lesson(api, rid, "项目复盘会很有用", "Weekly retrospectives kept meetings short.", [])
    return rid


@pytest.mark.parametrize(
    ("words", "titles"),
    [
        ("时区", ["跨时区会议要提前安排"]),  # a tag and inside a Chinese sentence
        ("复盘", ["项目复盘会很有用"]),  # a word inside a run of Chinese characters
        ("上海 重叠", ["跨时区会议要提前安排"]),  # every word must match
        ("BUDGET", ["Budget approval took too long"]),  # case-insensitive
        ("预算", ["Budget approval took too long"]),  # a Chinese tag on an English lesson
        ("meeting", ["项目复盘会很有用"]),  # English word inside a longer one
        ("finance 时区", []),
        ("会", ["项目复盘会很有用", "跨时区会议要提前安排"]),  # one character: substring only
    ],
)
async def test_lessons_are_found_by_chinese_and_english_words(
    api: SubgraphClient, lessons: str, words: str, titles: list[str]
) -> None:
    assert await search(api, words) == titles


async def test_lessons_page_and_respect_visibility(api: SubgraphClient, lessons: str) -> None:
    first = await api.execute(LESSONS, {"search": None}, caller=PMO)
    assert first["lessons"]["pageInfo"]["hasNextPage"] is True
    cursor = first["lessons"]["pageInfo"]["endCursor"]
    rest = await api.execute(LESSONS, {"search": None, "after": cursor}, caller=PMO)
    assert len(first["lessons"]["edges"]) + len(rest["lessons"]["edges"]) == 3
    assert await search(api, None, ZHAO) == []


async def test_lesson_refusals(api: SubgraphClient, lessons: str) -> None:
    before = await snapshot(api)
    empty = await api.execute(
        ADD_LESSON, {"input": {"requestId": lessons, "title": " ", "body": "x"}}, caller=LI
    )
    assert [e["field"] for e in empty["addLesson"]["userErrors"]] == ["title"]
    stranger = await api.execute(
        ADD_LESSON, {"input": {"requestId": lessons, "title": "t", "body": "b"}}, caller=ZHAO
    )
    assert [e["code"] for e in stranger["addLesson"]["userErrors"]] == ["REQUEST_NOT_FOUND"]
    assert await snapshot(api) == before
    assert await api.runtime.pool.fetchval("SELECT count(*) FROM lessons") == 3
