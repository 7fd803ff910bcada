"""SLA clocks breach when their timer fires, exactly once however the firing races."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from services.issues.models import SlaClock, SlaClockState, SlaMetric
from services.issues.worker import TIMER_HANDLERS
from shared.calendars import AroundTheClock
from shared.timer_firing import fire_timer, sweep
from shared.unit_of_work import unit_of_work
from tests.issues.helpers import report
from tests.support import SubgraphClient


async def overdue_timer(api: SubgraphClient, issue_id: str) -> tuple[str, int]:
    """Move the RESPONSE clock and its breach timer three hours into the past."""
    await api.runtime.pool.execute(
        """
        UPDATE sla_clocks SET started_at = started_at - interval '3 hours',
               segment_started_at = segment_started_at - interval '3 hours',
               due_at = due_at - interval '3 hours'
         WHERE issue_id = $1 AND metric = 'RESPONSE'
        """,
        issue_id,
    )
    record = await api.runtime.pool.fetchrow(
        """
        UPDATE timers SET due_at = due_at - interval '3 hours'
         WHERE kind = 'sla.clock'
           AND subject = (SELECT id FROM sla_clocks WHERE issue_id = $1 AND metric = 'RESPONSE')
        RETURNING id, version
        """,
        issue_id,
    )
    assert record is not None
    return str(record["id"]), record["version"]


async def clock_row(api: SubgraphClient, issue_id: str) -> Any:
    return await api.runtime.pool.fetchrow(
        "SELECT state, breached_at, due_at FROM sla_clocks WHERE issue_id = $1"
        " AND metric = 'RESPONSE'",
        issue_id,
    )


async def breach_events(api: SubgraphClient) -> list[Any]:
    return await api.runtime.pool.fetch(
        "SELECT envelope FROM outbox WHERE event_type = 'issues.issue.sla_breached'"
    )


async def test_fired_timer_breaches_clock_once_even_with_a_sweep(issues: SubgraphClient) -> None:
    issue = await report(issues)
    timer_id, version = await overdue_timer(issues, issue["id"])
    runtime = issues.runtime

    assert await fire_timer(runtime, TIMER_HANDLERS, timer_id, version) is True
    assert await fire_timer(runtime, TIMER_HANDLERS, timer_id, version) is False
    assert await sweep(runtime, TIMER_HANDLERS) == 0

    clock = await clock_row(issues, issue["id"])
    assert clock["state"] == "BREACHED"
    assert clock["breached_at"] is not None
    [event] = await breach_events(issues)
    envelope = event["envelope"]
    assert envelope["subject"] == issue["id"]
    assert envelope["departments"] == ["mkt", "rd"]
    assert envelope["data"]["metric"] == "RESPONSE"
    assert envelope["data"]["lead_department_id"] == "mkt"
    assert datetime.fromisoformat(envelope["data"]["due_at"]) == clock["due_at"]


async def test_sweep_fires_a_lost_timer_then_job_finds_nothing(issues: SubgraphClient) -> None:
    issue = await report(issues)
    timer_id, version = await overdue_timer(issues, issue["id"])

    assert await sweep(issues.runtime, TIMER_HANDLERS) == 1
    assert await fire_timer(issues.runtime, TIMER_HANDLERS, timer_id, version) is False
    assert (await clock_row(issues, issue["id"]))["state"] == "BREACHED"
    assert len(await breach_events(issues)) == 1


async def test_concurrent_sweeps_breach_once(issues: SubgraphClient) -> None:
    first, second = await report(issues), await report(issues)
    for issue in (first, second):
        await overdue_timer(issues, issue["id"])

    fired = await asyncio.gather(*(sweep(issues.runtime, TIMER_HANDLERS) for _ in range(2)))
    assert sum(fired) == 2
    events = await breach_events(issues)
    assert sorted(e["envelope"]["subject"] for e in events) == sorted([first["id"], second["id"]])


async def test_rearmed_timer_of_a_breached_clock_emits_nothing_more(issues: SubgraphClient) -> None:
    """The handler guards on the clock's state, not only on the timer's single firing."""
    issue = await report(issues)
    timer_id, version = await overdue_timer(issues, issue["id"])
    await fire_timer(issues.runtime, TIMER_HANDLERS, timer_id, version)
    clock_id = await issues.runtime.pool.fetchval(
        "SELECT id FROM sla_clocks WHERE issue_id = $1 AND metric = 'RESPONSE'", issue["id"]
    )
    async with unit_of_work(issues.runtime) as uow:
        rearmed = await uow.arm_timer(
            "sla.clock", clock_id, datetime.now(UTC) - timedelta(minutes=1)
        )

    assert await fire_timer(issues.runtime, TIMER_HANDLERS, str(rearmed.id), rearmed.version)
    assert len(await breach_events(issues)) == 1


async def test_breached_clock_reads_as_breached(issues: SubgraphClient) -> None:
    issue = await report(issues)
    await overdue_timer(issues, issue["id"])
    await sweep(issues.runtime, TIMER_HANDLERS)
    query = """query($id: ID!) { issue(id: $id) { escalationLevel
                  slaClocks { metric state breachedAt remainingMinutes } } }"""
    data = await issues.execute(query, {"id": issue["id"]})
    response, plan = data["issue"]["slaClocks"]
    assert (response["metric"], response["state"]) == ("RESPONSE", "BREACHED")
    assert response["breachedAt"]
    assert -62 <= response["remainingMinutes"] <= -59  # an hour over its 2 hours
    assert (plan["metric"], plan["state"]) == ("PLAN", "RUNNING")
    assert data["issue"]["escalationLevel"] == 1


def _clock(**changes: Any) -> SlaClock:
    """A 24x7 RESPONSE clock started Monday 2 March 2026, 09:00 UTC."""
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    base: dict[str, Any] = {
        "id": "c",
        "issue_id": "i",
        "metric": SlaMetric.RESPONSE,
        "target_minutes": 120,
        "started_at": start,
        "due_at": start + timedelta(minutes=120),
        "paused_minutes": 0,
        "paused_at": None,
        "met_at": None,
        "breached_at": None,
        "state": SlaClockState.RUNNING,
    }
    return SlaClock(**{**base, **changes})


def test_remaining_minutes_is_signed_and_stops_with_the_clock() -> None:
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    always = AroundTheClock()
    assert _clock().remaining_minutes(always, start + timedelta(minutes=30, seconds=20)) == 89
    assert _clock().remaining_minutes(always, start + timedelta(minutes=120)) == 0
    assert _clock().remaining_minutes(always, start + timedelta(minutes=120, seconds=1)) == -1
    assert _clock().remaining_minutes(always, start + timedelta(hours=5)) == -180
    met = _clock(
        met_at=start + timedelta(minutes=100), elapsed_minutes=100.0, state=SlaClockState.MET
    )
    assert met.remaining_minutes(always, start + timedelta(days=3)) == 20
    paused = _clock(consumed_minutes=30.0, paused_at=start, state=SlaClockState.PAUSED)
    assert paused.remaining_minutes(always, start + timedelta(days=3)) == 90
