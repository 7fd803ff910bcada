"""notify's myWork read model: sets of work items taken from work.items.changed events, read
back per caller (person, department member, department head), sorted, paged and counted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from shared.events.contracts.work import (
    WorkItem,
    WorkItemsChanged,
    WorkKind,
    WorkRole,
    WorkTarget,
)
from shared.events.envelope import EventEnvelope, new_event
from shared.graphql.pagination import encode_cursor
from tests.notify.conftest import Events
from tests.support import Caller, SubgraphClient

LI = Caller("li", departments=("mkt",))  # head of mkt (tests/notify/conftest.py HEADS)
WANG = Caller("wang", departments=("mkt",))  # a member of mkt
ZHOU = Caller("zhou", departments=("ops",))

MY_WORK = """
query($kinds: [WorkKind!], $first: Int, $after: String) {
  myWork(kinds: $kinds, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id kind role title target targetId request { id } dueAt state
                          slaState urgent since } }
  }
}
"""
SUMMARY = "{ myWorkSummary { total overdue atRisk byKind { kind count overdue atRisk } } }"

NOW = datetime.now(UTC)


def item(key: str, **fields: Any) -> WorkItem:
    values: dict[str, Any] = {
        "key": key,
        "kind": WorkKind.DO_TASK,
        "role": WorkRole.RESPONSIBLE,
        "title": key,
        "target": WorkTarget.TASK,
        "target_id": key,
        "request_id": "r1",
        "person_id": "wang",
    }
    values.update(fields)
    return WorkItem(**values)


def changed(source: str, items: list[WorkItem], *, at: datetime | None = None) -> EventEnvelope:
    envelope = new_event(
        "tasks", "work.items.changed", source, WorkItemsChanged(source=source, items=items)
    )
    return envelope.model_copy(update={"time": at}) if at else envelope


async def my_work(api: SubgraphClient, caller: Caller, **variables: Any) -> dict[str, Any]:
    data = await api.execute(MY_WORK, variables, caller=caller)
    result: dict[str, Any] = data["myWork"]
    return result


def titles(page: dict[str, Any]) -> list[str]:
    return [e["node"]["title"] for e in page["edges"]]


async def test_items_reach_the_person_the_members_and_only_the_head(
    notify_api: SubgraphClient, events: Events
) -> None:
    mine = item("mine", person_id="wang")
    for_members = item("members", person_id=None, department_id="mkt")
    for_head = item(
        "head",
        kind=WorkKind.APPROVE_SECONDMENT,
        role=WorkRole.DEPARTMENT_HEAD,
        target=WorkTarget.SECONDMENT,
        person_id=None,
        department_id="mkt",
        heads_only=True,
    )
    assert await events.handle(changed("TASK:t1", [mine, for_members, for_head]))

    assert sorted(titles(await my_work(notify_api, WANG))) == ["members", "mine"]
    assert sorted(titles(await my_work(notify_api, LI))) == ["head", "members"]
    assert titles(await my_work(notify_api, ZHOU)) == []


async def test_due_first_then_urgency_and_pages_through_ties(
    notify_api: SubgraphClient, events: Events
) -> None:
    due = NOW + timedelta(hours=3)
    items = [
        item("no due time"),
        item("later", due_at=NOW + timedelta(days=2)),
        item("tie urgent", due_at=due, urgency=0),
        item("tie a", due_at=due),
        item("tie b", due_at=due),
        item("overdue", due_at=NOW - timedelta(hours=1)),
        item("no due time either"),  # pages on after a cursor without a due time
    ]
    for n, one in enumerate(items):  # one record each: the order is not the sources'
        assert await events.handle(changed(f"TASK:t{n}", [one]))

    expected = ["overdue", "tie urgent", "tie a", "tie b", "later", "no due time"]
    expected.append("no due time either")
    seen, after = [], None
    while True:
        page = await my_work(notify_api, WANG, first=2, after=after)
        assert page["totalCount"] == 7
        seen += titles(page)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == expected
    first = (await my_work(notify_api, WANG, first=1))["edges"][0]["node"]
    assert first["state"] == "OVERDUE"
    assert first["request"] == {"id": "r1"}


async def test_a_new_set_replaces_the_old_and_an_older_one_changes_nothing(
    notify_api: SubgraphClient, events: Events
) -> None:
    first = changed("TASK:t1", [item("a"), item("b")], at=NOW - timedelta(seconds=10))
    assert await events.handle(first)
    before = (await my_work(notify_api, WANG))["edges"]
    assert await events.handle(changed("TASK:t1", [item("b", title="b renamed")]))
    after = (await my_work(notify_api, WANG))["edges"]
    assert [e["node"]["title"] for e in after] == ["b renamed"]
    kept = next(e for e in before if e["node"]["title"] == "b")
    assert after[0]["node"]["id"] == kept["node"]["id"]
    assert after[0]["node"]["since"] == kept["node"]["since"]  # still asked of wang

    stale = changed("TASK:t1", [item("a"), item("b")], at=NOW - timedelta(seconds=5))
    assert await events.handle(stale)  # handled, but older than the set stored
    assert titles(await my_work(notify_api, WANG)) == ["b renamed"]

    assert await events.handle(changed("TASK:t1", []))
    assert titles(await my_work(notify_api, WANG)) == []


async def test_items_not_yet_shown_and_kinds(notify_api: SubgraphClient, events: Events) -> None:
    minutes = item(
        "minutes",
        kind=WorkKind.PUBLISH_MINUTES,
        role=WorkRole.ORGANIZER,
        target=WorkTarget.MEETING,
        visible_from=NOW + timedelta(hours=1),  # the meeting has not ended yet
    )
    report = item(
        "report",
        kind=WorkKind.SUBMIT_REPORT,
        role=WorkRole.EXECUTING_DEPARTMENT,
        target=WorkTarget.REQUEST,
        visible_from=NOW - timedelta(hours=1),
    )
    assert await events.handle(changed("MEETING:m1", [minutes]))
    assert await events.handle(changed("REPORTING:r1", [report]))
    assert await events.handle(changed("TASK:t1", [item("task")]))

    assert sorted(titles(await my_work(notify_api, WANG))) == ["report", "task"]
    only = await my_work(notify_api, WANG, kinds=["SUBMIT_REPORT", "PUBLISH_MINUTES"])
    assert titles(only) == ["report"]
    assert only["totalCount"] == 1


async def test_states_and_the_summary(notify_api: SubgraphClient, events: Events) -> None:
    clock = {"has_clock": True, "kind": WorkKind.ACKNOWLEDGE_ISSUE, "target": WorkTarget.ISSUE}
    items = [
        item("breached", due_at=NOW - timedelta(minutes=5), **clock),
        item(
            "at risk",
            due_at=NOW + timedelta(minutes=30),
            at_risk_at=NOW - timedelta(minutes=1),
            **clock,
        ),
        item("paused", due_at=NOW - timedelta(minutes=5), clock_paused=True, **clock),
        item("running", due_at=NOW + timedelta(hours=2), **clock),
        item("task overdue", due_at=NOW - timedelta(days=1)),
        item("task", due_at=NOW + timedelta(days=3)),
    ]
    assert await events.handle(changed("ISSUE:i1", items))

    nodes = {e["node"]["title"]: e["node"] for e in (await my_work(notify_api, WANG))["edges"]}
    assert {t: (n["state"], n["slaState"]) for t, n in nodes.items()} == {
        "breached": ("OVERDUE", "BREACHED"),
        "at risk": ("AT_RISK", "AT_RISK"),
        "paused": ("ON_TRACK", "PAUSED"),
        "running": ("ON_TRACK", "RUNNING"),
        "task overdue": ("OVERDUE", None),
        "task": ("ON_TRACK", None),
    }
    summary = (await notify_api.execute(SUMMARY, caller=WANG))["myWorkSummary"]
    assert summary == {
        "total": 6,
        "overdue": 2,
        "atRisk": 1,
        "byKind": [
            {"kind": "ACKNOWLEDGE_ISSUE", "count": 4, "overdue": 1, "atRisk": 1},
            {"kind": "DO_TASK", "count": 2, "overdue": 1, "atRisk": 0},
        ],
    }
    empty = (await notify_api.execute(SUMMARY, caller=ZHOU))["myWorkSummary"]
    assert empty == {"total": 0, "overdue": 0, "atRisk": 0, "byKind": []}


async def test_a_cursor_of_another_list_is_refused(
    notify_api: SubgraphClient, events: Events
) -> None:
    assert await events.handle(changed("TASK:t1", [item("a"), item("b")]))
    response = await notify_api.post(MY_WORK, {"after": encode_cursor(["x"])}, caller=WANG)
    assert response.json()["errors"][0]["message"] == "`after` is not a cursor of this list"
