"""SLA timers on a real arq worker: the fast path within 1 s, the sweep after a Redis flush."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from services.issues import service
from services.issues.app import MIGRATIONS
from services.issues.worker import EVENT_HANDLERS, TIMER_HANDLERS
from shared.settings import Settings
from shared.timer_firing import sweep
from shared.worker import worker_settings
from tests.issues.helpers import LI, clock_of, events_of, new_issue, principal, seed_directory
from tests.support import SubgraphClient, in_process_worker


def issues_worker(settings: Settings) -> dict[str, Any]:
    return worker_settings(
        "issues",
        MIGRATIONS,
        timer_handlers=TIMER_HANDLERS,
        event_handlers=EVENT_HANDLERS,
        settings=settings,
    )


async def wait_for_breaches(api: SubgraphClient, count: int, within: float) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while len(await events_of(api, "issues.issue.sla_breached")) < count:
        assert asyncio.get_running_loop().time() < deadline, "no breach in time"
        await asyncio.sleep(0.05)


async def test_breach_fires_within_a_second_of_the_deadline(issues: SubgraphClient) -> None:
    await seed_directory(issues)
    # A sweep period far longer than the test: only the queued job can fire the timer.
    slow_sweep = issues.runtime.settings.model_copy(update={"timer_sweep_seconds": 60})
    async with in_process_worker(issues_worker(slow_sweep)):
        reported = datetime.now(UTC) - timedelta(minutes=120) + timedelta(seconds=1.5)
        command = new_issue(urgent=True)
        issue = await service.report_issue(issues.runtime, principal(LI), command, now=reported)
        await wait_for_breaches(issues, 2, within=5)
        await asyncio.sleep(0.5)  # a second firing would show up here
    for metric in ("RESPONSE", "PLAN"):
        clock = await clock_of(issues, issue.id, metric)
        assert clock.breached_at is not None
        late = (clock.breached_at - clock.due_at).total_seconds()
        assert 0 <= late <= 1.0, f"{metric} breached {late:+.2f}s after the deadline"
    assert len(await events_of(issues, "issues.issue.sla_breached")) == 2
    assert len(await events_of(issues, "issues.issue.sla_warning")) == 4
    # Each breach tells level 1 (once each); the issue reaches level 1 once.
    escalated = await events_of(issues, "issues.issue.escalated")
    assert sorted(e["data"]["metric"] for e in escalated) == ["PLAN", "RESPONSE"]
    assert {e["data"]["level"] for e in escalated} == {1}


async def test_sweep_fires_missed_deadlines_after_a_redis_flush(issues: SubgraphClient) -> None:
    await seed_directory(issues)
    reported = datetime.now(UTC) - timedelta(minutes=125)
    issue = await service.report_issue(
        issues.runtime, principal(LI), new_issue(urgent=True), now=reported
    )
    await issues.runtime.redis.flushdb()  # every queued job is gone (DB 2 is ours in tests)

    # The tests' settings sweep every second.
    async with in_process_worker(issues_worker(issues.runtime.settings)):
        await wait_for_breaches(issues, 2, within=issues.runtime.settings.timer_sweep_seconds + 3)
        await asyncio.sleep(0.3)
    assert await sweep(issues.runtime, TIMER_HANDLERS) == 0
    breaches = await events_of(issues, "issues.issue.sla_breached")
    assert sorted(b["data"]["metric"] for b in breaches) == ["PLAN", "RESPONSE"]
    assert all(b["subject"] == issue.id for b in breaches)
    assert len(await events_of(issues, "issues.issue.sla_warning")) == 4
