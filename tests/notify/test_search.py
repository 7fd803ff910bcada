"""The search box over GraphQL: documents taken from ``search.document.changed`` events, found
by Chinese and English words, ranked (code, title, text), paged, and seen only by who may."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.notify.handlers import EVENT_HANDLERS
from services.notify.search.models import SNIPPET_LENGTH, snippet
from shared.events.contracts import internal_types
from shared.events.contracts.requests import RequestCreated
from shared.events.contracts.search import SearchDocumentChanged, SearchKind
from shared.events.envelope import EventEnvelope, new_event
from shared.graphql.pagination import encode_cursor
from tests.notify.conftest import Events, partner
from tests.support import Caller, SubgraphClient

LI = Caller("li", departments=("mkt",))
"""Of marketing, which leads request cr1."""
WANG = Caller("wang", departments=("rd",))
"""Of R&D, which takes part in cr1."""
ZHAO = Caller("zhao", departments=("legal",))
"""Of legal, which takes part in nothing."""
ZHOU = Caller("zhou", departments=("ops",))
"""Of operations: responsible for an issue of cr1 without taking part in the request."""
PMO = Caller("pmo", roles=("PMO",))

SEARCH = """
query($text: String!, $kinds: [SearchKind!], $first: Int! = 20, $after: String) {
  search(text: $text, kinds: $kinds, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { kind id code title snippet match request { id } person { id } } }
  }
}
"""


def document_event(
    kind: SearchKind, record_id: str, *, at: datetime | None = None, **fields: Any
) -> EventEnvelope:
    """The event a producer publishes for one record (at ``at``, by default now)."""
    request_id = None if kind is SearchKind.PERSON else fields.pop("request_id", "cr1")
    data = SearchDocumentChanged(kind=kind, id=record_id, request_id=request_id, **fields)
    envelope = new_event("tasks", "search.document.changed", f"{kind.value}:{record_id}", data)
    return envelope if at is None else envelope.model_copy(update={"time": at})


async def publish(events: Events, kind: SearchKind, record_id: str, **fields: Any) -> None:
    assert await events.handle(document_event(kind, record_id, **fields))


async def seed_requests(events: Events) -> None:
    """cr1 led by marketing with R&D; cr2 led by legal alone."""
    for request_id, lead, participants in (("cr1", "mkt", ["rd"]), ("cr2", "legal", [])):
        data = RequestCreated(
            id=request_id,
            code=f"CR-2026-000{request_id[-1]}",
            kind="PROJECT",
            title="Q4 launch",
            status="ACTIVE",
            lead_department_id=lead,
            participant_department_ids=participants,
            created_by="li",
        )
        await events.emit("requests", "requests.request.created", request_id, data)


@pytest.fixture
async def catalogue(events: Events) -> Events:
    """One record of every kind, on cr1 (people on none), oldest first."""
    await seed_requests(events)
    await publish(
        events,
        SearchKind.REQUEST,
        "cr1",
        code="CR-2026-0001",
        title="2026新品全国发布",
        body="East China launch\nsales",
    )
    await publish(events, SearchKind.TASK, "t1", title="准备海报", body="Posters for CR-2026-0001")
    await publish(
        events,
        SearchKind.ISSUE,
        "i1",
        code="ISS-2026-0001",
        title="清关延误",
        body="Units held at customs before the launch",
        departments=["mkt", "ops"],
    )
    await publish(
        events, SearchKind.LESSON, "l1", title="项目复盘会", body="Book the venue early\n物流"
    )
    await publish(
        events, SearchKind.PERSON, "xu", title="Xu Ming 徐明", body="xu@x.example\n研发部"
    )
    return events


async def search(
    api: SubgraphClient, text: str, caller: Caller = PMO, **variables: Any
) -> dict[str, Any]:
    data = await api.execute(SEARCH, {"text": text, **variables}, caller=caller)
    found: dict[str, Any] = data["search"]
    return found


async def found(
    api: SubgraphClient, text: str, caller: Caller = PMO, **variables: Any
) -> list[str]:
    """``KIND:id`` of every hit, in order."""
    page = await search(api, text, caller, **variables)
    return [f"{e['node']['kind']}:{e['node']['id']}" for e in page["edges"]]


async def error_code(api: SubgraphClient, caller: Caller, **variables: Any) -> tuple[str, str]:
    response = await api.post(SEARCH, variables, caller=caller)
    [error] = response.json()["errors"]
    return error["extensions"]["code"], error["message"]


async def test_each_kind_is_found_by_chinese_and_english_words(
    notify_api: SubgraphClient, catalogue: Events
) -> None:
    assert await found(notify_api, "新品") == ["REQUEST:cr1"]
    assert await found(notify_api, "east CHINA") == ["REQUEST:cr1"]
    assert await found(notify_api, "海报") == ["TASK:t1"]
    assert await found(notify_api, "posters") == ["TASK:t1"]
    assert await found(notify_api, "清关") == ["ISSUE:i1"]
    assert await found(notify_api, "customs") == ["ISSUE:i1"]
    assert await found(notify_api, "复盘") == ["LESSON:l1"]
    assert await found(notify_api, "物流 venue") == ["LESSON:l1"]
    assert await found(notify_api, "徐明") == ["PERSON:xu"]
    assert await found(notify_api, "研发部") == ["PERSON:xu"]
    assert await found(notify_api, "海") == ["TASK:t1"]  # shorter than a bigram: by substring
    assert await found(notify_api, "venue customs") == []  # every word must be in one record


async def test_a_hit_shows_its_code_title_snippet_and_request(
    notify_api: SubgraphClient, catalogue: Events
) -> None:
    [issue] = (await search(notify_api, "customs"))["edges"]
    assert issue["node"] == {
        "kind": "ISSUE",
        "id": "i1",
        "code": "ISS-2026-0001",
        "title": "清关延误",
        "snippet": "Units held at customs before the launch",
        "match": "TEXT",
        "request": {"id": "cr1"},
        "person": None,
    }
    [person] = (await search(notify_api, "xu ming"))["edges"]
    assert person["node"]["request"] is None
    assert person["node"]["person"] == {"id": "xu"}
    assert person["node"]["match"] == "TITLE"


async def test_a_code_finds_its_record_first_then_titles_then_text(
    notify_api: SubgraphClient, catalogue: Events
) -> None:
    # The task mentions the request's code and is newer: the request still ranks first.
    page = await search(notify_api, "cr-2026-0001")
    assert [(e["node"]["id"], e["node"]["match"]) for e in page["edges"]] == [
        ("cr1", "CODE"),
        ("t1", "TEXT"),
    ]
    assert await found(notify_api, "ISS-2026-0001") == ["ISSUE:i1"]
    # "launch" is in the newer issue's text and in the older task's title.
    await publish(catalogue, SearchKind.TASK, "t2", title="Launch rehearsal")
    assert await found(notify_api, "launch") == ["TASK:t2", "ISSUE:i1", "REQUEST:cr1"]


async def test_kinds_narrow_the_search(notify_api: SubgraphClient, catalogue: Events) -> None:
    assert await found(notify_api, "launch", kinds=["REQUEST"]) == ["REQUEST:cr1"]
    assert await found(notify_api, "launch", kinds=["ISSUE", "REQUEST"]) == [
        "ISSUE:i1",
        "REQUEST:cr1",
    ]
    assert await found(notify_api, "launch", kinds=["PERSON"]) == []


async def test_pages_follow_the_cursor_through_ties(
    notify_api: SubgraphClient, events: Events
) -> None:
    await seed_requests(events)
    same_time = datetime.now(UTC)
    for n in range(7):  # every document of one moment: the order falls back to the id
        await events.handle(
            document_event(SearchKind.TASK, f"t{n}", at=same_time, title=f"Banner {n}")
        )
    everything = await found(notify_api, "banner")
    assert everything == [f"TASK:t{n}" for n in reversed(range(7))]

    seen: list[str] = []
    after = None
    while True:
        page = await search(notify_api, "banner", first=3, after=after)
        assert page["totalCount"] == 7
        seen += [f"{e['node']['kind']}:{e['node']['id']}" for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == everything


async def test_only_who_may_see_the_request_finds_its_records(
    notify_api: SubgraphClient, catalogue: Events
) -> None:
    await publish(catalogue, SearchKind.TASK, "t9", request_id="cr2", title="Legal review launch")
    everything = {"REQUEST:cr1", "ISSUE:i1", "TASK:t9"}
    assert set(await found(notify_api, "launch", PMO)) == everything
    assert set(await found(notify_api, "launch", LI)) == {"REQUEST:cr1", "ISSUE:i1"}
    assert set(await found(notify_api, "launch", WANG)) == {"REQUEST:cr1", "ISSUE:i1"}
    assert await found(notify_api, "launch", ZHAO) == ["TASK:t9"]
    # Operations works on the issue from outside the request: it finds the issue only.
    assert await found(notify_api, "launch", ZHOU) == ["ISSUE:i1"]
    assert (await search(notify_api, "launch", ZHOU))["totalCount"] == 1
    # Everyone finds people.
    assert await found(notify_api, "徐明", ZHAO) == ["PERSON:xu"]


async def test_partners_may_not_search(notify_api: SubgraphClient, catalogue: Events) -> None:
    code, _ = await error_code(notify_api, partner("crm", ["*"]), text="launch")
    assert code == "FORBIDDEN"


async def test_the_latest_document_wins_and_removed_records_are_not_found(
    notify_api: SubgraphClient, catalogue: Events
) -> None:
    await publish(catalogue, SearchKind.TASK, "t1", title="准备横幅", body="Banners")
    assert await found(notify_api, "海报") == []
    assert await found(notify_api, "横幅") == ["TASK:t1"]

    stale = document_event(
        SearchKind.TASK, "t1", at=datetime.now(UTC) - timedelta(hours=1), title="准备海报"
    )
    assert await catalogue.handle(stale)  # handled, but older than the stored document
    assert await found(notify_api, "横幅") == ["TASK:t1"]

    await publish(
        catalogue, SearchKind.PERSON, "xu", title="Xu Ming 徐明", body="研发部", removed=True
    )
    assert await found(notify_api, "徐明") == []


async def test_documents_are_not_logged_routed_or_delivered(
    notify_api: SubgraphClient, catalogue: Events
) -> None:
    assert "search.document.changed" in internal_types()
    assert "search.document.changed" in EVENT_HANDLERS
    pool = notify_api.runtime.pool
    counts = "SELECT (SELECT count(*) FROM event_log), (SELECT count(*) FROM notifications),"
    counts += " (SELECT count(*) FROM deliveries)"
    before = await pool.fetchrow(counts)
    await publish(catalogue, SearchKind.TASK, "t5", title="Print the banners")
    assert await found(notify_api, "banners") == ["TASK:t5"]
    assert await pool.fetchrow(counts) == before
    logged = "SELECT count(*) FROM event_log WHERE type = 'search.document.changed'"
    assert await pool.fetchval(logged) == 0


@pytest.mark.parametrize("text", ["", "   ", "\t"])
async def test_empty_text_is_refused(notify_api: SubgraphClient, text: str) -> None:
    code, message = await error_code(notify_api, LI, text=text)
    assert (code, message) == ("BAD_USER_INPUT", "`text` must hold at least one word to search for")


async def test_bad_pages_are_refused(notify_api: SubgraphClient, catalogue: Events) -> None:
    assert (await error_code(notify_api, LI, text="launch", first=0))[0] == "PAGE_SIZE_EXCEEDED"
    code, message = await error_code(notify_api, LI, text="launch", after="bm90IGEgY3Vyc29y")
    assert (code, message) == ("BAD_USER_INPUT", "`after` is not a cursor this API returned")
    for foreign in (["n-1"], [0, "not a time", "TASK", "t1"], [7, "2026-01-01T00:00:00", "T", "t"]):
        refused = await error_code(notify_api, LI, text="launch", after=encode_cursor(foreign))
        assert refused == ("BAD_USER_INPUT", "`after` is not a cursor of this list")


# --- snippets -------------------------------------------------------------------------------


def test_a_snippet_is_cut_around_the_first_match() -> None:
    body = "x" * 200 + " 华东区门店 " + "y" * 200
    cut = snippet(body, ["门店"])
    assert cut.startswith("…")
    assert cut.endswith("…")
    assert "华东区门店" in cut
    assert len(cut) == SNIPPET_LENGTH + 2


def test_a_snippet_starts_at_the_beginning_without_a_match_and_keeps_short_text() -> None:
    assert snippet("Book the venue\nearly", ["cr-2026-0001"]) == "Book the venue early"
    assert snippet("", ["x"]) == ""
    long = "word " * 50
    assert snippet(long, ["absent"]) == long.strip()[:SNIPPET_LENGTH] + "…"


def test_a_snippet_finds_words_in_full_width_and_mixed_case() -> None:
    body = "a" * 150 + " ＬＡＵＮＣＨ day"  # full-width letters fold to "launch"
    assert "ＬＡＵＮＣＨ day" in snippet(body, ["launch"])
