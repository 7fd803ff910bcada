"""A problem raised from a progress report (``tasks.problem.raised``) becomes one issue."""

from __future__ import annotations

import pytest

from services.issues.worker import EVENT_HANDLERS
from shared.events.consumer import Consumer
from shared.events.contracts.tasks import ProblemRaised
from shared.events.envelope import new_event
from tests.issues.helpers import events_of, seed_directory
from tests.support import SubgraphClient


def problem(request_id: str = "cr1") -> ProblemRaised:
    return ProblemRaised(
        problem_id="pr-1",
        report_id="rep-1",
        request_id=request_id,
        task_id="task-9",
        title="Supplier late with packaging",
        description="the packaging supplier slipped two weeks",
        impact="East China launch kits",
        attempted_measures="asked for partial delivery",
        severity="CRITICAL",
        urgent=True,
        reporter_id="sun",
        department_id="rd",
    )


async def test_raised_problem_becomes_an_issue_once(issues: SubgraphClient) -> None:
    await seed_directory(issues)
    consumer = Consumer(issues.runtime, EVENT_HANDLERS)
    for _ in range(2):  # a second event for the same problem (e.g. a retried raise)
        envelope = new_event("tasks", "tasks.problem.raised", "pr-1", problem())
        assert await consumer.handle(envelope)

    row = await issues.runtime.pool.fetchrow("SELECT * FROM issues")
    assert row is not None
    assert (row["source_problem_id"], row["reporter_id"], row["task_id"]) == (
        "pr-1",
        "sun",
        "task-9",
    )
    assert (row["reporting_department_id"], row["reporting_region_id"]) == ("rd", "sh")
    assert (row["severity"], row["urgent"], row["lead_department_id"]) == ("CRITICAL", True, "mkt")
    assert await issues.runtime.pool.fetchval("SELECT count(*) FROM sla_clocks") == 2
    [reported] = await events_of(issues, "issues.issue.reported")
    assert reported["data"]["source_problem_id"] == "pr-1"
    assert reported["data"]["task_id"] == "task-9"


async def test_problem_on_an_unknown_request_waits_for_its_copy(issues: SubgraphClient) -> None:
    envelope = new_event("tasks", "tasks.problem.raised", "pr-1", problem("cr-later"))
    with pytest.raises(RuntimeError):
        await Consumer(issues.runtime, EVENT_HANDLERS).handle(envelope)
    assert await issues.runtime.pool.fetchval("SELECT count(*) FROM issues") == 0
    # Not marked handled: the consumer retries it once the request has arrived.
    handled = "SELECT count(*) FROM inbox WHERE event_id = $1"
    assert await issues.runtime.pool.fetchval(handled, envelope.id) == 0
