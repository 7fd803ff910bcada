"""The partner event stream: replay query and live subscription, limited to what the token
may see, resumable from the last event id."""

from __future__ import annotations

import pytest

from services.notify import event_log, scopes
from shared.auth import GATEWAY_SECRET_HEADER, Principal, Role, issue_token
from shared.events.contracts.issues import IssueReported
from shared.events.contracts.tasks import TaskCreated
from shared.events.envelope import EventEnvelope, new_event
from tests.notify.conftest import (
    Events,
    execute_as_partner,
    partner,
    receive,
    send,
    wait_for,
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


# Types with LIKE's wildcards and prefixes that are not at a dot: the SQL of the scope rule
# must match as scopes.matches does, character for character.
ODD_TYPES = [
    "issues.issue.sla_breached",
    "issues.issue.slaXbreached",
    "issues.issueXsla",
    "issuesX.thing",
    "tasks%.task.created",
    "tasksX.task.created",
]
ODD_SCOPES = [
    ["issues.issue.sla_breached"],
    ["issues.issue.sla%"],
    ["issues.*"],
    ["issues.issue.*"],
    ["tasks%.*"],
    ["*"],
    [],
]


def odd_event(event_type: str) -> EventEnvelope:
    return EventEnvelope(source="tests", type=event_type, subject="s", data={"n": 1})


async def log_readable(api: SubgraphClient, logged: list[EventEnvelope]) -> None:
    """Log ``logged`` and wait until the stream reads them: below every transaction running
    on the cluster, which another test's open transaction can hold back."""
    async with api.runtime.pool.acquire() as conn:
        for envelope in logged:
            assert await event_log.append(conn, envelope) is not None

    async def readable() -> bool:
        page = await api.execute(REPLAY, {"first": len(logged)}, caller=PMO)
        return len(page["events"]["edges"]) == len(logged)

    await wait_for(readable, what="the logged events to be readable")


async def test_the_scope_rule_in_sql_matches_as_scopes_do(notify_api: SubgraphClient) -> None:
    logged = [odd_event(t) for t in ODD_TYPES]
    await log_readable(notify_api, logged)
    for n, patterns in enumerate(ODD_SCOPES):
        expected = [e.id for e in logged if scopes.matches(patterns, e.type)]
        seen = await execute_as_partner(notify_api, f"p{n}", patterns, REPLAY, {"first": 10})
        assert ids(seen["events"]) == expected, patterns
        typed = await notify_api.execute(REPLAY, {"first": 10, "types": patterns}, caller=PMO)
        everything = [e.id for e in logged]
        assert ids(typed["events"]) == (expected if patterns else everything), patterns


async def test_a_follower_reads_on_past_the_events_it_may_not_see(
    notify_api: SubgraphClient,
) -> None:
    logged = [odd_event(t) for t in ("tasks.task.created", "issues.issue.reported")]
    await log_readable(notify_api, logged)
    acme = Principal("acme", frozenset({Role.PARTNER}), (), scopes=("tasks.*",))
    rows = event_log.visible_to(acme, None)
    async with notify_api.runtime.pool.acquire() as conn:
        last = await event_log.position_of(conn, logged[-1].id)
        found, position = await event_log.read_on(conn, rows, event_log.START, 10)
        assert [e.event_id for e in found] == [logged[0].id]
        assert position == last  # the issue, which acme may not see, is not read again
        full, at = await event_log.read_on(conn, rows, event_log.START, 1)
    assert (full, at) == (found, found[0].position)
