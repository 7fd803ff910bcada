"""Helpers of the issues tests: callers, the report mutation, seeding request replicas."""

from __future__ import annotations

from typing import Any

from services.issues.worker import EVENT_HANDLERS
from shared.events.consumer import Consumer
from shared.events.contracts.requests import RequestCreated
from shared.events.envelope import new_event
from tests.support import Caller, SubgraphClient

LI = Caller("li", departments=("mkt",))
"""A member of the request's lead department."""
WANG = Caller("wang", departments=("rd",))
"""A member of a participating department."""
ZHAO = Caller("zhao", departments=("legal",))
"""A member of a department that does not take part."""
PMO = Caller("pmo", roles=("PMO",))

REPORT = """
mutation($input: ReportIssueInput!) {
  reportIssue(input: $input) {
    issue { id code status severity urgent title attemptedMeasures createdAt
            reporter { id } leadDepartment { id } request { id }
            slaClocks { metric targetMinutes calendar startedAt dueAt pausedMinutes metAt
                        breachedAt state remainingMinutes } }
    userErrors { field message code }
  }
}
"""


async def seed_request(
    api: SubgraphClient, request_id: str, lead: str = "mkt", participants: tuple[str, ...] = ("rd",)
) -> None:
    """Deliver ``requests.request.created`` the way the worker's consumer would."""
    data = RequestCreated(
        id=request_id,
        code=f"CR-2026-{request_id}",
        kind="PROJECT",
        title="Q4 launch",
        status="DRAFT",
        lead_department_id=lead,
        participant_department_ids=list(participants),
        created_by="li",
    )
    envelope = new_event(
        "requests", "requests.request.created", request_id, data, departments=[lead, *participants]
    )
    assert await Consumer(api.runtime, EVENT_HANDLERS).handle(envelope)


def issue_input(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "requestId": "cr1",
        "title": "Test units stuck in customs",
        "description": "200 units held at Shanghai customs",
        "impact": "launch event in East China may slip a week",
        "severity": "HIGH",
        "attemptedMeasures": "called the broker twice",
    }
    return {**base, **changes}


async def report(api: SubgraphClient, caller: Caller = LI, **changes: Any) -> dict[str, Any]:
    """Report an issue that must succeed; returns it."""
    data = await api.execute(REPORT, {"input": issue_input(**changes)}, caller=caller)
    payload = data["reportIssue"]
    assert payload["userErrors"] == []
    issue: dict[str, Any] = payload["issue"]
    return issue


async def outbox_types(api: SubgraphClient) -> list[str]:
    rows = await api.runtime.pool.fetch("SELECT event_type FROM outbox ORDER BY seq")
    return [r["event_type"] for r in rows]
