"""The search box through the gateway: a request, a task, an issue, a lesson and a person, each
found by Chinese and English words moments after it was written in its own service, ranked,
filtered, paged, kept from who may not see the request, and current after an edit."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.e2e.gateway_client import GatewayClient
from tests.e2e.test_walking_skeleton import (
    CREATE_TASK,
    LI,
    REPORT_ISSUE,
    WANG,
    create_request,
    retry_while_unknown,
)
from tests.support import ADMIN, Caller

OUTSIDER = Caller("e2e-search-outsider", departments=("e2e-search-legal",))
"""Of a department that takes part in no request here."""

FIRST_SECONDS = 15.0
"""How long a new record may take to be found the first time (the stack is starting)."""
CHANGE_SECONDS = 5.0

SEARCH = """
query($text: String!, $kinds: [SearchKind!], $first: Int! = 20, $after: String) {
  search(text: $text, kinds: $kinds, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { kind id code title snippet match request { id code } } }
  }
}
"""

ADD_LESSON = """
mutation($input: AddLessonInput!) {
  addLesson(input: $input) { lesson { id } userErrors { code message } }
}
"""

UPSERT_PERSON = """
mutation($input: UpsertPersonInput!) { upsertPerson(input: $input) { userErrors { code } } }
"""

UPDATE_REQUEST = """
mutation($input: UpdateRequestInput!) {
  updateRequest(input: $input) { request { id title } userErrors { code message } }
}
"""


async def search(
    gateway: GatewayClient, text: str, caller: Caller = LI, **variables: Any
) -> dict[str, Any]:
    data = await gateway.execute(SEARCH, {"text": text, **variables}, caller=caller)
    found: dict[str, Any] = data["search"]
    return found


def hits(page: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["node"]["kind"], e["node"]["id"]) for e in page["edges"]]


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        await asyncio.sleep(0.1)


async def write_one_of_each(gateway: GatewayClient, tag: str) -> dict[str, str]:
    """A request, a task, an issue, a lesson and a person, each carrying ``tag``; their ids."""
    request = await create_request(
        gateway, title=f"琉璃灯笼巡展 {tag}", background="Lantern roadshow across East China"
    )
    task = await retry_while_unknown(
        gateway,
        CREATE_TASK,
        {
            "input": {
                "requestId": request["id"],
                "title": "布置展台",
                "description": f"Booth carpentry {tag}",
                "raci": [{"role": "A", "personId": "wang"}, {"role": "R", "personId": "sun"}],
            }
        },
        LI,
        "createTask",
    )
    issue = await retry_while_unknown(
        gateway,
        REPORT_ISSUE,
        {
            "input": {
                "requestId": request["id"],
                "title": f"展品破损 {tag}",
                "description": "Crates arrived crushed",
                "severity": "HIGH",
            }
        },
        WANG,
        "reportIssue",
    )
    lesson = await gateway.execute(
        ADD_LESSON,
        {
            "input": {
                "requestId": request["id"],
                "title": "巡展复盘",
                "body": f"Ship the crates a week early {tag}",
                "tags": ["物流"],
            }
        },
        caller=LI,
    )
    assert lesson["addLesson"]["userErrors"] == []
    person = {
        "id": f"e2e-search-{tag}",
        "name": "徐明远 Xu Mingyuan",
        "email": f"{tag}@x.example",
        "departmentId": "rd",
        "regionId": "hq",
        "timeZone": "Asia/Shanghai",
    }
    joined = await gateway.execute(UPSERT_PERSON, {"input": person}, caller=ADMIN)
    assert joined["upsertPerson"]["userErrors"] == []
    return {
        "REQUEST": request["id"],
        "CODE": request["code"],
        "TASK": task["task"]["id"],
        "ISSUE": issue["issue"]["id"],
        "ISSUE_CODE": issue["issue"]["code"],
        "LESSON": lesson["addLesson"]["lesson"]["id"],
        "PERSON": person["id"],
    }


@pytest.mark.timeout(180)
async def test_search_finds_every_kind_ranked_filtered_paged_and_visible_only_to_whom_may(
    gateway: GatewayClient,
) -> None:
    tag = f"zq{uuid.uuid4().hex[:8]}"
    ids = await write_one_of_each(gateway, tag)
    mine = {(kind, ids[kind]) for kind in ("REQUEST", "TASK", "ISSUE", "LESSON", "PERSON")}

    async def all_found() -> bool:
        return set(hits(await search(gateway, tag))) == mine

    await eventually(all_found, FIRST_SECONDS, "every record found by its tag")

    # Chinese and English words, each finding its record.
    for words, kind in (
        ("琉璃灯笼", "REQUEST"),
        ("lantern ROADSHOW", "REQUEST"),
        ("展台", "TASK"),
        (f"carpentry {tag}", "TASK"),
        (f"展品破损 {tag}", "ISSUE"),
        (f"crushed {tag}", "ISSUE"),
        (f"巡展复盘 {tag}", "LESSON"),
        (f"物流 crates {tag}", "LESSON"),
        (f"徐明远 {tag}", "PERSON"),
        (f"mingyuan {tag}", "PERSON"),
    ):
        assert (kind, ids[kind]) in hits(await search(gateway, words)), words

    # A code finds its record first; the hit names its request, resolved by the requests service.
    by_code = (await search(gateway, ids["CODE"].lower()))["edges"]
    assert (by_code[0]["node"]["id"], by_code[0]["node"]["match"]) == (ids["REQUEST"], "CODE")
    assert by_code[0]["node"]["request"] == {"id": ids["REQUEST"], "code": ids["CODE"]}
    by_issue_code = (await search(gateway, ids["ISSUE_CODE"]))["edges"]
    assert by_issue_code[0]["node"]["id"] == ids["ISSUE"]

    # Kinds narrow it; pages follow the cursor to the same list.
    narrowed = await search(gateway, tag, kinds=["TASK", "ISSUE"])
    assert set(hits(narrowed)) == {("TASK", ids["TASK"]), ("ISSUE", ids["ISSUE"])}
    everything = hits(await search(gateway, tag))
    paged: list[tuple[str, str]] = []
    after = None
    while True:
        page = await search(gateway, tag, first=2, after=after)
        assert page["totalCount"] == 5
        paged += hits(page)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert paged == everything

    # A department that takes part in nothing finds the person only.
    assert hits(await search(gateway, tag, OUTSIDER)) == [("PERSON", ids["PERSON"])]
    assert hits(await search(gateway, "琉璃灯笼", OUTSIDER)) == []

    # An edit changes what is found.
    edited = await gateway.execute(
        UPDATE_REQUEST,
        {"input": {"requestId": ids["REQUEST"], "title": f"Glass lantern tour {tag}"}},
        caller=LI,
    )
    assert edited["updateRequest"]["userErrors"] == []
    started = time.monotonic()

    async def renamed() -> bool:
        found = hits(await search(gateway, f"glass lantern {tag}", kinds=["REQUEST"]))
        gone = hits(await search(gateway, "琉璃灯笼", kinds=["REQUEST"]))
        return found == [("REQUEST", ids["REQUEST"])] and ("REQUEST", ids["REQUEST"]) not in gone

    await eventually(renamed, CHANGE_SECONDS, "the new title found, the old one no more")
    print(f"an edit was found after {time.monotonic() - started:.2f} s")


async def test_empty_text_is_refused_through_the_gateway(gateway: GatewayClient) -> None:
    response = await gateway.post(SEARCH, {"text": "  "}, caller=LI)
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"] == "`text` must hold at least one word to search for"
