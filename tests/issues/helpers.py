"""Helpers of the issues tests: callers, the report mutation, seeding request replicas."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel

from services.issues.models import NewIssue, Severity, SlaClock
from services.issues.sla.repository import clocks_by_issue_ids
from services.issues.worker import EVENT_HANDLERS
from shared.auth import Principal, Role
from shared.calendars import WorkCalendar
from shared.events.consumer import Consumer
from shared.events.contracts.requests import (
    DepartmentUpserted,
    PersonUpserted,
    RegionUpserted,
    RequestCreated,
)
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
            reporter { id } leadDepartment { id } request { id } reportingDepartment { id }
            region { id } responsibleDepartment { id }
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


# --- directory: regions with calendars, departments with heads, people ------------------------

SHANGHAI_OFFICE = WorkCalendar(time_zone="Asia/Shanghai", holiday_country="CN")
BERLIN_OFFICE = WorkCalendar(time_zone="Europe/Berlin", holiday_country="DE")


async def deliver(
    api: SubgraphClient, type_: str, subject: str, data: BaseModel, time: datetime | None = None
) -> None:
    """Hand one event to the issues consumer, as the worker would (made at ``time``)."""
    envelope = new_event(type_.split(".")[0], type_, subject, data)
    if time is not None:
        envelope = envelope.model_copy(update={"time": time})
    assert await Consumer(api.runtime, EVENT_HANDLERS).handle(envelope)


async def seed_region(
    api: SubgraphClient, region_id: str, calendar: WorkCalendar, time: datetime | None = None
) -> None:
    data = RegionUpserted(
        id=region_id,
        code=region_id.upper(),
        name=region_id,
        time_zone=calendar.time_zone,
        calendar=calendar.model_dump(mode="json"),
    )
    await deliver(api, "requests.region.upserted", region_id, data, time)


async def seed_department(
    api: SubgraphClient, department_id: str, region_id: str, head_id: str | None = None
) -> None:
    data = DepartmentUpserted(
        id=department_id,
        code=department_id.upper(),
        name=department_id,
        region_id=region_id,
        head_id=head_id,
    )
    await deliver(api, "requests.department.upserted", department_id, data)


async def seed_person(
    api: SubgraphClient,
    person_id: str,
    department_id: str,
    region_id: str,
    time_zone: str,
    roles: tuple[str, ...] = ("MEMBER",),
) -> None:
    data = PersonUpserted(
        id=person_id,
        name=person_id,
        email=f"{person_id}@x.example",
        department_id=department_id,
        region_id=region_id,
        time_zone=time_zone,
        roles=list(roles),
    )
    await deliver(api, "requests.person.upserted", person_id, data)


async def seed_directory(api: SubgraphClient) -> None:
    """Shanghai (mkt, rd) and Berlin (ops) with heads, an R&D engineer and a PMO member."""
    await seed_region(api, "sh", SHANGHAI_OFFICE)
    await seed_region(api, "eu", BERLIN_OFFICE)
    people = [
        ("boss-mkt", "mkt", "sh", "Asia/Shanghai", ("DEPARTMENT_HEAD",)),
        ("boss-rd", "rd", "sh", "Asia/Shanghai", ("DEPARTMENT_HEAD",)),
        ("boss-ops", "ops", "eu", "Europe/Berlin", ("DEPARTMENT_HEAD",)),
        ("sun", "rd", "sh", "Asia/Shanghai", ("MEMBER",)),
        ("zhou", "pmo", "sh", "Asia/Shanghai", ("PMO",)),
    ]
    for person, department, region, zone, roles in people:
        await seed_person(api, person, department, region, zone, roles)
    for department, region in (("mkt", "sh"), ("rd", "sh"), ("ops", "eu"), ("pmo", "sh")):
        await seed_department(api, department, region, head_id=f"boss-{department}")


def principal(caller: Caller) -> Principal:
    """The principal a token for ``caller`` decodes to (for calling use cases directly)."""
    return Principal(
        sub=caller.sub,
        roles=frozenset(Role(r) for r in caller.roles),
        departments=tuple(caller.departments),
        region=caller.region,
    )


def new_issue(**changes: Any) -> NewIssue:
    base: dict[str, Any] = {"request_id": "cr1", "title": "Customs hold", "severity": Severity.HIGH}
    return NewIssue(**{**base, **changes})


async def events_of(api: SubgraphClient, type_: str) -> list[dict[str, Any]]:
    """Envelopes of one event type in the outbox, oldest first."""
    rows = await api.runtime.pool.fetch(
        "SELECT envelope FROM outbox WHERE event_type = $1 ORDER BY seq", type_
    )
    return [dict(r["envelope"]) for r in rows]


async def clock_of(api: SubgraphClient, issue_id: str, metric: str) -> SlaClock:
    clocks = await clocks_by_issue_ids(api.runtime.pool, [issue_id])  # type: ignore[arg-type]
    return next(c for c in clocks[issue_id] if c.metric.value == metric)


async def timeline_actions(api: SubgraphClient, issue_id: str) -> list[str]:
    rows = await api.runtime.pool.fetch(
        "SELECT action FROM issue_timeline WHERE issue_id = $1 ORDER BY seq", issue_id
    )
    return [r["action"] for r in rows]


async def shift_into_past(api: SubgraphClient, issue_id: str, minutes: int) -> None:
    """Let ``minutes`` pass for an issue's 24x7 clocks and their timers."""
    shift = timedelta(minutes=minutes)
    await api.runtime.pool.execute(
        "UPDATE sla_clocks SET started_at = started_at - $2::interval,"
        " segment_started_at = segment_started_at - $2::interval,"
        " due_at = due_at - $2::interval, warn_at = warn_at - $2::interval"
        " WHERE issue_id = $1",
        issue_id,
        shift,
    )
    await api.runtime.pool.execute(
        "UPDATE timers SET due_at = due_at - $2::interval WHERE payload->>'clock_id' IN"
        " (SELECT id FROM sla_clocks WHERE issue_id = $1)"
        " OR subject IN (SELECT id FROM sla_clocks WHERE issue_id = $1)",
        issue_id,
        shift,
    )


async def make_due(api: SubgraphClient, kind: str) -> None:
    """Bring every unfired timer of ``kind`` due now (as if its time had come)."""
    await api.runtime.pool.execute(
        "UPDATE timers SET due_at = now() - interval '1 second'"
        " WHERE kind = $1 AND fired_at IS NULL",
        kind,
    )
