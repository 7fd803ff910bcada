"""Escalation: breach -> level 1 (responsible head) -> 2 (lead head) -> 3 (PMO), and by hand."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest

from services.issues import lifecycle, service
from services.issues.lifecycle import moves
from services.issues.models import Move
from services.issues.worker import TIMER_HANDLERS
from shared.calendars import AroundTheClock
from shared.timer_firing import sweep
from tests.issues.helpers import (
    LI,
    PMO,
    WANG,
    ZHAO,
    clock_of,
    events_of,
    make_due,
    new_issue,
    principal,
    seed_directory,
    shift_into_past,
)
from tests.support import Caller, SubgraphClient, nodes

SUN = Caller("sun", departments=("rd",))


async def late_plan(api: SubgraphClient) -> str:
    """An urgent issue handed to R&D whose 2-hour PLAN deadline has just been missed."""
    await seed_directory(api)
    runtime = api.runtime
    issue = await service.report_issue(runtime, principal(SUN), new_issue(urgent=True))
    ack = Move(issue.id, responsible_department_id="rd")
    await lifecycle.move_issue(runtime, principal(LI), moves.ACKNOWLEDGE, ack)
    await shift_into_past(api, issue.id, 125)
    return issue.id


async def levels(api: SubgraphClient) -> list[tuple[int, list[str], bool]]:
    return [
        (e["data"]["level"], e["data"]["recipient_ids"], e["data"]["manual"])
        for e in await events_of(api, "issues.issue.escalated")
    ]


async def test_breach_escalates_level_by_level_while_still_late(issues: SubgraphClient) -> None:
    issue_id = await late_plan(issues)
    await sweep(issues.runtime, TIMER_HANDLERS)
    [breach] = await events_of(issues, "issues.issue.sla_breached")
    assert (breach["data"]["metric"], breach["data"]["recipient_ids"]) == ("PLAN", ["boss-mkt"])
    assert breach["data"]["request_id"] == "cr1"
    assert await levels(issues) == [(1, ["boss-rd"], False)]
    step = await issues.runtime.pool.fetchrow(
        "SELECT due_at - now() AS wait, payload FROM timers WHERE kind = 'issue.escalation'"
    )
    assert step is not None
    assert 119 * 60 < step["wait"].total_seconds() <= 120 * 60  # policy: 120 minutes to level 2
    assert step["payload"]["level"] == 2

    await make_due(issues, "issue.escalation")
    assert await sweep(issues.runtime, TIMER_HANDLERS) == 1
    await make_due(issues, "issue.escalation")
    assert await sweep(issues.runtime, TIMER_HANDLERS) == 1
    assert await levels(issues) == [
        (1, ["boss-rd"], False),
        (2, ["boss-mkt"], False),
        (3, ["zhou"], False),
    ]
    level = await issues.runtime.pool.fetchval(
        "SELECT escalation_level FROM issues WHERE id = $1", issue_id
    )
    assert level == 3
    assert await sweep(issues.runtime, TIMER_HANDLERS) == 0  # nothing beyond the PMO


async def test_escalation_stops_once_the_late_step_is_done(issues: SubgraphClient) -> None:
    issue_id = await late_plan(issues)
    await sweep(issues.runtime, TIMER_HANDLERS)
    plan = Move(issue_id, plan="new broker")
    await lifecycle.move_issue(issues.runtime, principal(SUN), moves.PROPOSE_PLAN, plan)
    await make_due(issues, "issue.escalation")
    await sweep(issues.runtime, TIMER_HANDLERS)
    assert [lvl for lvl, _, _ in await levels(issues)] == [1]


ESCALATE = """
mutation($input: EscalateIssueInput!) {
  escalateIssue(input: $input) {
    issue { escalationLevel timeline { edges { node { action note actor { id } } } } }
    userErrors { field code message }
  }
}
"""


async def escalate(
    api: SubgraphClient, issue_id: str, caller: Caller, reason: str = "customer threatens to leave"
) -> dict[str, Any]:
    data = await api.execute(
        ESCALATE, {"input": {"issueId": issue_id, "reason": reason}}, caller=caller
    )
    payload: dict[str, Any] = data["escalateIssue"]
    return payload


async def test_escalate_by_hand_tells_the_next_level(issues: SubgraphClient) -> None:
    await seed_directory(issues)
    issue = await service.report_issue(issues.runtime, principal(LI), new_issue(urgent=True))
    first = await escalate(issues, issue.id, LI)
    assert first["userErrors"] == []
    assert first["issue"]["escalationLevel"] == 1
    last = nodes(first["issue"]["timeline"])[-1]
    assert (last["action"], last["actor"]) == ("ESCALATED", {"id": "li"})
    assert "customer threatens to leave" in last["note"]
    await escalate(issues, issue.id, PMO)
    await escalate(issues, issue.id, LI)
    assert await levels(issues) == [
        (1, ["boss-mkt"], True),
        (2, ["boss-mkt"], True),
        (3, ["pmo", "zhou"], True),  # every PMO member: the test's PMO caller and Zhou
    ]
    [*_, third] = await events_of(issues, "issues.issue.escalated")
    assert (third["data"]["actor_id"], third["data"]["urgency"]) == ("li", "URGENT")


async def snapshot(api: SubgraphClient) -> Any:
    pool = api.runtime.pool
    return (
        await pool.fetch("SELECT escalation_level, updated_at FROM issues"),
        await pool.fetchval("SELECT count(*) FROM outbox"),
        await pool.fetchval("SELECT count(*) FROM issue_timeline"),
        await pool.fetchval("SELECT count(*) FROM timers"),
    )


@pytest.mark.parametrize(
    ("caller", "reason", "code"),
    [
        (WANG, "x", "ISSUE_PARTIES_ONLY"),  # takes part in the request, not in the issue
        (ZHAO, "x", "NOT_FOUND"),
        (LI, "  ", "INVALID"),
    ],
)
async def test_escalation_refusals_change_nothing(
    issues: SubgraphClient, caller: Caller, reason: str, code: str
) -> None:
    await seed_directory(issues)
    issue = await service.report_issue(issues.runtime, principal(LI), new_issue())
    before = await snapshot(issues)
    payload = await escalate(issues, issue.id, caller, reason)
    assert payload["issue"] is None
    assert [e["code"] for e in payload["userErrors"]] == [code]
    assert await snapshot(issues) == before


async def test_no_escalation_beyond_the_pmo(issues: SubgraphClient) -> None:
    await seed_directory(issues)
    issue = await service.report_issue(issues.runtime, principal(LI), new_issue())
    for _ in range(3):
        await escalate(issues, issue.id, LI)
    before = await snapshot(issues)
    payload = await escalate(issues, issue.id, LI)
    assert [e["code"] for e in payload["userErrors"]] == ["MAX_ESCALATION_LEVEL"]
    assert await snapshot(issues) == before


async def test_breach_after_a_manual_escalation_continues_from_that_level(
    issues: SubgraphClient,
) -> None:
    issue_id = await late_plan(issues)
    await escalate(issues, issue_id, LI)
    await escalate(issues, issue_id, LI)
    await sweep(issues.runtime, TIMER_HANDLERS)  # the PLAN breach
    # The breach still tells level 1 (the responsible head), and the issue stays at level 2.
    assert await levels(issues) == [
        (1, ["boss-rd"], True),
        (2, ["boss-mkt"], True),
        (1, ["boss-rd"], False),
    ]
    await make_due(issues, "issue.escalation")
    await sweep(issues.runtime, TIMER_HANDLERS)
    assert [lvl for lvl, _, _ in await levels(issues)] == [1, 2, 1, 3]
    [*_, retold, pmo] = await events_of(issues, "issues.issue.escalated")
    assert (retold["data"]["escalation_level"], pmo["data"]["recipient_ids"]) == (2, ["zhou"])


async def test_a_second_breach_tells_the_new_responsible_head(issues: SubgraphClient) -> None:
    """RESPONSE is missed while marketing is responsible (level 1: its head); the issue is
    then handed to R&D and PLAN is missed too: R&D's head hears of it, the chain goes on."""
    await seed_directory(issues)
    settings = issues.runtime.settings.model_copy(update={"issues_sla_urgent_plan_minutes": 240})
    runtime = dataclasses.replace(issues.runtime, settings=settings)
    issue = await service.report_issue(runtime, principal(SUN), new_issue(urgent=True))
    await shift_into_past(issues, issue.id, 125)
    await sweep(issues.runtime, TIMER_HANDLERS)  # the RESPONSE breach
    ack = Move(issue.id, responsible_department_id="rd")
    await lifecycle.move_issue(issues.runtime, principal(LI), moves.ACKNOWLEDGE, ack)
    await shift_into_past(issues, issue.id, 120)
    await sweep(issues.runtime, TIMER_HANDLERS)  # the PLAN breach
    assert await levels(issues) == [(1, ["boss-mkt"], False), (1, ["boss-rd"], False)]
    breaches = await events_of(issues, "issues.issue.sla_breached")
    assert [b["data"]["metric"] for b in breaches] == ["RESPONSE", "PLAN"]
    step = await issues.runtime.pool.fetchval(
        "SELECT payload FROM timers WHERE kind = 'issue.escalation' AND fired_at IS NULL"
    )
    plan = await clock_of(issues, issue.id, "PLAN")
    assert step == {"level": 2, "clock_id": plan.id}


async def test_waiting_pauses_a_breached_clock_and_holds_the_next_level(
    issues: SubgraphClient,
) -> None:
    """A late plan (level 1 told) waits an hour for the reporter: how late it is stops
    growing (the time to plan excludes the pause, as slaReport counts it) and level 2 comes
    an hour later than it would have."""
    issue_id = await late_plan(issues)
    await sweep(issues.runtime, TIMER_HANDLERS)  # the PLAN breach: level 1
    step_due = await issues.runtime.pool.fetchval(
        "SELECT due_at FROM timers WHERE kind = 'issue.escalation'"
    )
    breached = await clock_of(issues, issue_id, "PLAN")
    assert breached.breached_at is not None
    runtime, sun = issues.runtime, principal(SUN)
    waited = breached.breached_at + timedelta(minutes=10)
    wait = Move(issue_id, comment="need the customs papers")
    await lifecycle.move_issue(runtime, sun, moves.WAIT, wait, waited)
    paused = await clock_of(issues, issue_id, "PLAN")
    late_by = (waited - paused.started_at).total_seconds() / 60
    assert (paused.state.value, paused.paused_at) == ("BREACHED", waited)
    assert paused.consumed_minutes == pytest.approx(late_by)
    assert paused.elapsed(AroundTheClock(), waited + timedelta(hours=5)) == paused.consumed_minutes
    assert paused.held_escalation_minutes == pytest.approx((step_due - waited).total_seconds() / 60)
    await make_due(issues, "issue.escalation")
    assert await sweep(runtime, TIMER_HANDLERS) == 0  # no step to level 2 while waiting
    assert [lvl for lvl, _, _ in await levels(issues)] == [1]

    resumed_at = waited + timedelta(hours=1)
    await lifecycle.move_issue(runtime, sun, moves.RESUME, Move(issue_id), resumed_at)
    resumed = await clock_of(issues, issue_id, "PLAN")
    assert (resumed.state.value, resumed.paused_minutes, resumed.held_escalation_minutes) == (
        "BREACHED",
        60,
        None,
    )
    step = await issues.runtime.pool.fetchrow(
        "SELECT due_at, payload FROM timers WHERE kind = 'issue.escalation'"
    )
    assert step is not None
    assert step["due_at"] == step_due + timedelta(hours=1)
    assert step["payload"] == {"level": 2, "clock_id": resumed.id}

    planned_at = resumed_at + timedelta(minutes=5)
    plan = Move(issue_id, plan="new broker")
    await lifecycle.move_issue(runtime, sun, moves.PROPOSE_PLAN, plan, planned_at)
    done = await clock_of(issues, issue_id, "PLAN")
    assert done.state.value == "BREACHED"
    assert done.elapsed_minutes == pytest.approx(late_by + 5)
