"""A region cut off from hq: its issues' SLA clocks are hq's timers, and hq fires them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.issues import service
from services.issues.worker import TIMER_HANDLERS
from shared.timer_firing import sweep
from tests.issues.helpers import events_of, new_issue, principal, seed_directory, seed_request
from tests.issues.test_sla_worker import issues_worker, wait_for_breaches
from tests.support import Caller, SubgraphClient, in_process_worker, in_region

OPS_HEAD = Caller("boss-ops", departments=("ops",))
"""Head of operations, a department of the Berlin office (region ``eu``)."""


async def test_hq_fires_an_eu_issues_sla_timers_while_no_eu_worker_runs(
    issues_api: SubgraphClient,
) -> None:
    await seed_directory(issues_api)
    await seed_request(issues_api, "cr-eu", lead="ops", participants=())
    hq, eu = in_region(issues_api.runtime, "hq"), in_region(issues_api.runtime, "eu")
    # Urgent clocks run 24x7; reported 125 minutes ago, both (120 minutes each) are late.
    reported = datetime.now(UTC) - timedelta(minutes=125)
    command = new_issue(request_id="cr-eu", urgent=True)
    issue = await service.report_issue(hq, principal(OPS_HEAD), command, now=reported)
    assert issue.reporting_region_id == "eu"
    hq_queue, eu_queue = hq.queue_name, eu.queue_name
    assert await hq.redis.zcard(hq_queue) > 0
    assert await hq.redis.zcard(eu_queue) == 0

    # The worst case: the jobs were lost, and the rows name eu, as a release before this one
    # armed them from eu's own subgraph. eu's sweep (an egress worker's) leaves them alone.
    await hq.redis.delete(hq_queue)
    await hq.pool.execute("UPDATE timers SET region = 'eu'")
    assert await sweep(eu, TIMER_HANDLERS) == 0
    assert await events_of(issues_api, "issues.issue.sla_breached") == []

    async with in_process_worker(issues_worker(hq.settings)):
        await wait_for_breaches(issues_api, 2, within=hq.settings.timer_sweep_seconds + 5)
    breaches = await events_of(issues_api, "issues.issue.sla_breached")
    assert sorted(b["data"]["metric"] for b in breaches) == ["PLAN", "RESPONSE"]
    assert {b["subject"] for b in breaches} == {issue.id}
    # Every due timer fired (the warnings too), each once.
    assert len(await events_of(issues_api, "issues.issue.sla_warning")) == 4
    due = "SELECT count(*) FROM timers WHERE due_at <= now() AND fired_at IS NULL"
    assert await hq.pool.fetchval(due) == 0
