"""The partner event stream: replay query and live subscription, limited to what the token
may see, resumable from the last event id."""

from __future__ import annotations

import pytest

from services.notify import event_log
from shared.auth import GATEWAY_SECRET_HEADER, issue_token
from shared.events.contracts.issues import IssueReported
from shared.events.contracts.tasks import TaskCreated
from shared.events.envelope import EventEnvelope, new_event
from tests.notify.conftest import (
    Events,
    execute_as_partner,
    partner,
    receive,
    send,
    ws_connect,
)
from tests.support import Caller, GraphQLFailure, SubgraphClient

REPLAY = """
query($after: String, $types: [String!], $first: Int!) {
  events(after: $after, types: $types, first: $first) {
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id type source subject departments data } }
  }
}
"""
PMO = Caller("zhou-pmo", roles=("PMO",))
LI = Caller("li", departments=("mkt",))


def issue(issue_id: str, department: str) -> EventEnvelope:
    data = IssueReported(
        id=issue_id,
        code=f"IS-{issue_id}",
        request_id="cr1",
        title="Stock shortfall",
        severity="HIGH",
        urgent=False,
        lead_department_id=department,
        reporter_id="wang",
    )
    return new_event("issues", "issues.issue.reported", issue_id, data, departments=[department])


def task(task_id: str, department: str) -> EventEnvelope:
    data = TaskCreated(id=task_id, request_id="cr1", title="Posters", raci=[], created_by="li")
    return new_event("tasks", "tasks.task.created", task_id, data, departments=[department])


async def feed(events: Events) -> list[EventEnvelope]:
    sent = [issue("i1", "mkt"), task("t1", "rd"), issue("i2", "ops")]
    for envelope in sent:
        assert await events.handle(envelope)
    return sent


def ids(page: dict[str, object]) -> list[str]:
    return [e["node"]["id"] for e in page["edges"]]  # type: ignore[attr-defined]


async def test_replay_is_scoped_ordered_and_resumable(
    notify_api: SubgraphClient, events: Events
) -> None:
    i1, t1, i2 = await feed(events)

    first = await execute_as_partner(notify_api, "acme", ["issues.*"], REPLAY, {"first": 1})
    page = first["events"]
    assert ids(page) == [i1.id]
    assert page["pageInfo"] == {"hasNextPage": True, "endCursor": i1.id}
    node = page["edges"][0]["node"]
    assert (node["type"], node["source"], node["subject"]) == (
        "issues.issue.reported",
        "issues",
        "i1",
    )
    assert node["data"]["code"] == "IS-i1"
    rest = await execute_as_partner(
        notify_api, "acme", ["issues.*"], REPLAY, {"first": 10, "after": i1.id}
    )
    assert ids(rest["events"]) == [i2.id]
    assert rest["events"]["pageInfo"] == {"hasNextPage": False, "endCursor": i2.id}

    tasks_only = await execute_as_partner(
        notify_api, "globex", ["tasks.task.created"], REPLAY, {"first": 10}
    )
    assert ids(tasks_only["events"]) == [t1.id]
    nothing = await execute_as_partner(notify_api, "initech", [], REPLAY, {"first": 10})
    assert ids(nothing["events"]) == []
    # People see the events of their departments; PMO sees all, filtered by type if asked.
    mine = await notify_api.execute(REPLAY, {"first": 10}, caller=LI)
    assert ids(mine["events"]) == [i1.id]
    both = {"first": 10, "types": ["issues.*", "tasks.*"]}  # not the directory's events
    everything = await notify_api.execute(REPLAY, both, caller=PMO)
    assert ids(everything["events"]) == [i1.id, t1.id, i2.id]
    typed = await notify_api.execute(REPLAY, {"first": 10, "types": ["tasks.*"]}, caller=PMO)
    assert ids(typed["events"]) == [t1.id]
    with pytest.raises(GraphQLFailure, match="names no event of this stream"):
        await notify_api.execute(REPLAY, {"first": 10, "after": "nope"}, caller=PMO)


SUBSCRIBE = """
subscription($after: String) {
  events(types: ["issues.*"], after: $after) { id type subject }
}
"""


async def test_subscription_resumes_after_the_last_id_then_follows_live(
    ws_url: str, notify_api: SubgraphClient, events: Events
) -> None:
    i1, _, i2 = await feed(events)
    settings = notify_api.runtime.settings
    acme = partner("acme", ["issues.*", "tasks.*"])
    await notify_api.enrol(acme)
    params = {
        "authorization": f"Bearer {issue_token(settings, acme.sub)}",
        GATEWAY_SECRET_HEADER: settings.gateway_secret,
    }
    async with ws_connect(ws_url) as ws:
        await send(ws, {"type": "connection_init", "payload": params})
        assert (await receive(ws))["type"] == "connection_ack"
        payload = {"query": SUBSCRIBE, "variables": {"after": i1.id}}
        await send(ws, {"id": "1", "type": "subscribe", "payload": payload})

        replayed = await receive(ws)
        assert replayed["payload"]["data"]["events"]["id"] == i2.id  # what came after i1

        assert await events.handle(task("t2", "rd"))  # not asked for
        live = issue("i3", "rd")
        assert await events.handle(live)
        message = await receive(ws, seconds=3.0)
        assert message["type"] == "next"
        assert message["payload"]["data"]["events"] == {
            "id": live.id,
            "type": "issues.issue.reported",
            "subject": "i3",
        }
        await send(ws, {"id": "1", "type": "complete"})


async def test_an_event_committed_late_is_not_skipped(notify_api: SubgraphClient) -> None:
    """Two workers log at once; the one that took the lower position commits last."""
    first, second = issue("i1", "mkt"), issue("i2", "mkt")
    pool = notify_api.runtime.pool
    async with pool.acquire() as slow, pool.acquire() as fast:
        transaction = slow.transaction()
        await transaction.start()
        await event_log.append(slow, first)  # the lower seq, still uncommitted
        async with fast.transaction():
            await event_log.append(fast, second)
        # A reader now must not move past `second`, or it would never see `first`.
        assert ids((await notify_api.execute(REPLAY, {"first": 10}, caller=PMO))["events"]) == []
        await transaction.commit()
    page = await notify_api.execute(REPLAY, {"first": 10}, caller=PMO)
    assert ids(page["events"]) == [first.id, second.id]
