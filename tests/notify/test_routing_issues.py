"""Routing of issue lifecycle moves: who is asked to act, who is told, who only Informed."""

from __future__ import annotations

from typing import Any

import pytest

from services.notify.rules import RULES
from shared.events.contracts.issues import ISSUE_CHANGE_TYPES, IssueChanged
from shared.events.contracts.requests import RequestCreated
from shared.events.envelope import EventEnvelope, new_event
from tests.notify.conftest import Events, delivery_rows
from tests.support import Caller, SubgraphClient

# The directory of conftest.HEADS: ops -> zhou (lead), rd -> chen (responsible), mkt -> li.
OWNER, REPORTER = "wang", "sun"
INBOX, DIGEST = "inbox", "digest"


def moved(type_: str, actor: str, **fields: Any) -> EventEnvelope:
    values: dict[str, Any] = {
        "issue_id": "i1",
        "code": "IS-0007",
        "title": "Stock shortfall in East China",
        "request_id": "cr1",
        "action": type_.rsplit(".", 1)[1].upper(),
        "from_status": "REPORTED",
        "to_status": "ACKNOWLEDGED",
        "actor_id": actor,
        "reporter_id": REPORTER,
        "lead_department_id": "ops",
        "responsible_department_id": "rd",
        "owner_id": OWNER,
        **fields,
    }
    return new_event("issues", type_, "i1", IssueChanged(**values))


async def told(api: SubgraphClient) -> dict[str, tuple[str, str]]:
    """Person -> (inbox or digest, urgency) for everything routed so far."""
    pool = api.runtime.pool
    inbox = await pool.fetch("SELECT recipient_id, urgency FROM notifications")
    digest = await pool.fetch("SELECT person_id FROM digest_items")
    found = {r["recipient_id"]: (INBOX, r["urgency"]) for r in inbox}
    found.update({r["person_id"]: (DIGEST, "NORMAL") for r in digest})
    return found


def test_every_lifecycle_move_has_a_rule_and_a_test() -> None:
    assert set(ISSUE_CHANGE_TYPES) <= set(RULES)
    tested = {m[0] for m in MOVES} | {"issues.issue.reassigned"}
    assert tested == set(ISSUE_CHANGE_TYPES)


# (event type, actor, expected): the actor is never told of their own move.
MOVES = [
    (
        "issues.issue.acknowledged",
        "zhou",
        {"chen": (INBOX, "NORMAL"), OWNER: (INBOX, "NORMAL"), REPORTER: (INBOX, "NORMAL")},
    ),
    ("issues.issue.plan_proposed", OWNER, {"zhou": (INBOX, "NORMAL"), REPORTER: (INBOX, "NORMAL")}),
    ("issues.issue.work_started", OWNER, {"zhou": (INBOX, "NORMAL"), REPORTER: (DIGEST, "NORMAL")}),
    (
        "issues.issue.waiting",
        "chen",
        {REPORTER: (INBOX, "NORMAL"), "zhou": (INBOX, "NORMAL"), OWNER: (INBOX, "NORMAL")},
    ),
    (
        "issues.issue.resumed",
        REPORTER,
        {"chen": (INBOX, "NORMAL"), OWNER: (INBOX, "NORMAL"), "zhou": (INBOX, "NORMAL")},
    ),
    ("issues.issue.resolved", OWNER, {"zhou": (INBOX, "NORMAL"), REPORTER: (INBOX, "NORMAL")}),
    (
        "issues.issue.reopened",
        "zhou",
        {"chen": (INBOX, "NORMAL"), OWNER: (INBOX, "NORMAL"), REPORTER: (INBOX, "NORMAL")},
    ),
    (
        "issues.issue.verified",
        "zhou",
        {"chen": (INBOX, "NORMAL"), OWNER: (INBOX, "NORMAL"), REPORTER: (INBOX, "NORMAL")},
    ),
    (
        "issues.issue.archived",
        "zhou",
        {"chen": (DIGEST, "NORMAL"), OWNER: (DIGEST, "NORMAL"), REPORTER: (DIGEST, "NORMAL")},
    ),
]


@pytest.mark.parametrize(("type_", "actor", "expected"), MOVES, ids=[m[0] for m in MOVES])
async def test_each_move_tells_the_people_it_concerns(
    notify_api: SubgraphClient,
    events: Events,
    type_: str,
    actor: str,
    expected: dict[str, tuple[str, str]],
) -> None:
    assert await events.handle(moved(type_, actor))
    assert await told(notify_api) == expected


async def test_reassignment_tells_the_new_responsible_head_and_owner(
    notify_api: SubgraphClient, events: Events
) -> None:
    envelope = moved(
        "issues.issue.reassigned",
        "zhou",
        responsible_department_id="mkt",
        owner_id="qian",
        previous_responsible_department_id="rd",
        previous_owner_id=OWNER,
        comment="Marketing owns the regional stock plan",
    )
    assert await events.handle(envelope)

    # The new holders must act; the department that held it (chen, rd's head) and its owner
    # learn it left their hands.
    assert await told(notify_api) == {
        "li": (INBOX, "NORMAL"),
        "qian": (INBOX, "NORMAL"),
        "chen": (INBOX, "NORMAL"),
        OWNER: (INBOX, "NORMAL"),
    }
    [row] = await notify_api.runtime.pool.fetch(
        "SELECT title, body, link FROM notifications WHERE recipient_id = 'li'"
    )
    assert row["title"] == "Issue IS-0007 reassigned (转派): Stock shortfall in East China"
    assert row["body"].endswith("\nComment: Marketing owns the regional stock plan")
    assert row["link"] == "/issues/i1"


async def test_urgent_issue_moves_are_urgent_for_those_who_must_act(
    notify_api: SubgraphClient, events: Events
) -> None:
    assert await events.handle(moved("issues.issue.acknowledged", "zhou", urgent=True))
    assert await events.handle(moved("issues.issue.resolved", OWNER, urgent=True))

    rows = await notify_api.runtime.pool.fetch(
        "SELECT type, recipient_id, urgency FROM notifications ORDER BY type, recipient_id"
    )
    assert [tuple(r) for r in rows] == [
        ("issues.issue.acknowledged", "chen", "URGENT"),  # propose the plan: green channel
        ("issues.issue.acknowledged", REPORTER, "NORMAL"),  # only told
        ("issues.issue.acknowledged", OWNER, "URGENT"),
        ("issues.issue.resolved", REPORTER, "NORMAL"),
        ("issues.issue.resolved", "zhou", "URGENT"),  # verify
    ]
    body = await notify_api.runtime.pool.fetchval(
        "SELECT body FROM notifications WHERE recipient_id = 'zhou'"
    )
    assert "verifies it (验证)" in body


async def test_people_in_two_roles_are_told_once_and_unknown_heads_skipped(
    notify_api: SubgraphClient, events: Events
) -> None:
    # The reporter owns the fix; the responsible department (legal) has no head on record.
    envelope = moved(
        "issues.issue.reopened", "zhou", responsible_department_id="legal", owner_id=REPORTER
    )
    assert await events.handle(envelope)
    assert await told(notify_api) == {REPORTER: (INBOX, "NORMAL")}


REGISTER = """
mutation($input: RegisterChannelInput!) {
  registerChannel(input: $input) { channel { id departmentId } userErrors { code } }
}
"""


async def test_milestones_reach_the_lead_and_responsible_chat_groups(
    notify_api: SubgraphClient, events: Events
) -> None:
    request = RequestCreated(
        id="cr1",
        code="CR-2026-0001",
        kind="PROJECT",
        title="Regional stock",
        status="ACTIVE",
        lead_department_id="ops",
        participant_department_ids=["rd", "mkt"],
        created_by="zhou",
    )
    await events.emit("requests", "requests.request.created", "cr1", request)
    channels = {}
    for department in ("ops", "rd", "mkt"):
        values = {
            "request": "cr1",
            "phase": "PREPARATION",
            "department": department,
            "kind": "SLACK",
            "webhookUrl": f"http://127.0.0.1:9/{department}",
        }
        data = await notify_api.execute(
            REGISTER, {"input": values}, caller=Caller("zhou", departments=("ops",))
        )
        channel = data["registerChannel"]["channel"]
        channels[channel["id"]] = department

    assert await events.handle(moved("issues.issue.resolved", OWNER))
    assert await events.handle(moved("issues.issue.work_started", OWNER))  # not a milestone

    rows = await delivery_rows(notify_api, "CHANNEL")
    assert sorted((r["event_type"], channels[r["target_id"]]) for r in rows) == [
        ("issues.issue.resolved", "ops"),
        ("issues.issue.resolved", "rd"),
    ]
    assert rows[0]["payload"]["title"].startswith("Issue IS-0007 resolved")
