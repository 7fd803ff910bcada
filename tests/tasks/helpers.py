"""Helpers of the tasks tests: a directory and a request delivered as real events, callers,
and the GraphQL operations the tests use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel

from services.tasks.worker import EVENT_HANDLERS, TIMER_HANDLERS
from shared.events.consumer import Consumer
from shared.events.contracts.requests import (
    CommunicationPlanSet,
    DepartmentUpserted,
    PersonUpserted,
    RegionUpserted,
    RequestCreated,
    RequestUpdated,
)
from shared.events.envelope import EventEnvelope, new_event
from shared.runtime import ServiceRuntime
from shared.timer_firing import fire_timer
from shared.unit_of_work import unit_of_work
from tests.support import Caller, SubgraphClient

LI = Caller("li", departments=("mkt",))
"""Member of the lead department (marketing, Shanghai)."""
WANG = Caller("wang", departments=("rd",))
"""Member of a participating department (R&D, Shanghai)."""
HANS = Caller("hans", departments=("eu",))
"""Member of the European sales office (Berlin), another participant."""
ZHAO = Caller("zhao", departments=("legal",))
"""Member of a department that does not take part."""
PMO = Caller("pmo", roles=("PMO",))

SHANGHAI = {"time_zone": "Asia/Shanghai", "holiday_country": "CN"}
BERLIN = {"time_zone": "Europe/Berlin", "holiday_country": "DE"}


async def deliver(runtime: ServiceRuntime, type_: str, subject: str, data: BaseModel) -> bool:
    """Hand one event to the tasks service's consumer, as its worker would."""
    envelope = new_event(type_.split(".")[0], type_, subject, data)
    return await deliver_envelope(runtime, envelope)


async def deliver_envelope(runtime: ServiceRuntime, envelope: EventEnvelope) -> bool:
    return await Consumer(runtime, EVENT_HANDLERS).handle(envelope)


async def seed_directory(runtime: ServiceRuntime) -> None:
    """Two regions, four departments with heads, their people."""
    regions = [("sh", "Shanghai", SHANGHAI), ("de", "Germany", BERLIN)]
    for region_id, name, calendar in regions:
        data = RegionUpserted(
            id=region_id,
            code=region_id.upper(),
            name=name,
            time_zone=str(calendar["time_zone"]),
            calendar=calendar,
        )
        await deliver(runtime, "requests.region.upserted", region_id, data)
    departments = [
        ("mkt", "sh", "li"),
        ("rd", "sh", "wang"),
        ("eu", "de", "hans"),
        ("legal", "sh", "zhao"),
    ]
    for department_id, region_id, head in departments:
        department = DepartmentUpserted(
            id=department_id,
            code=department_id.upper(),
            name=department_id,
            region_id=region_id,
            head_id=head,
        )
        await deliver(runtime, "requests.department.upserted", department_id, department)
    people = [
        ("li", "mkt", "sh"),
        ("wang", "rd", "sh"),
        ("sun", "rd", "sh"),
        ("hans", "eu", "de"),
        ("zhao", "legal", "sh"),
    ]
    for person_id, department_id, region_id in people:
        zone = "Europe/Berlin" if region_id == "de" else "Asia/Shanghai"
        person = PersonUpserted(
            id=person_id,
            name=person_id.title(),
            email=f"{person_id}@x.example",
            department_id=department_id,
            region_id=region_id,
            time_zone=zone,
            roles=["MEMBER"],
        )
        await deliver(runtime, "requests.person.upserted", person_id, person)


def request_data(
    request_id: str = "req-1",
    participants: tuple[str, ...] = ("rd", "eu"),
    status: str = "APPROVED",
) -> RequestCreated:
    return RequestCreated(
        id=request_id,
        code=f"CR-2026-{request_id}",
        kind="PROJECT",
        title="Q4 launch",
        status=status,
        lead_department_id="mkt",
        participant_department_ids=list(participants),
        created_by="li",
    )


async def seed_request(
    runtime: ServiceRuntime, request_id: str = "req-1", participants: tuple[str, ...] = ("rd", "eu")
) -> None:
    data = request_data(request_id, participants)
    assert await deliver(runtime, "requests.request.created", request_id, data)


async def end_request(runtime: ServiceRuntime, status: str, request_id: str = "req-1") -> None:
    """The requests service ends the request (CLOSED, CANCELLED) and says so."""
    running = request_data(request_id, status="ACTIVE").model_dump()
    data = RequestUpdated(
        **{**running, "status": status}, previous_status="ACTIVE", action=status, actor_id="li"
    )
    assert await deliver(runtime, "requests.request.updated", request_id, data)


async def set_report_plan(runtime: ServiceRuntime, cadence: str = "WEEKLY") -> None:
    """req-1's communication plan: reports due Fridays 17:00 Shanghai time."""
    plan = CommunicationPlanSet(
        request_id="req-1",
        meeting_cadence="WEEKLY",
        channels=["dingtalk"],
        report_template="template-3",
        report_cadence=cadence,
        report_deadline_weekday=5,
        report_deadline_time="17:00",
        time_zone="Asia/Shanghai",
    )
    assert await deliver(runtime, "requests.communication_plan.set", "req-1", plan)


async def seeded(api: SubgraphClient) -> SubgraphClient:
    await seed_directory(api.runtime)
    await seed_request(api.runtime)
    return api


def in_days(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


RACI = [
    {"role": "A", "personId": "li"},
    {"role": "R", "personId": "wang", "departmentId": "rd"},
    {"role": "C", "departmentId": "legal"},
    {"role": "I", "departmentId": "eu"},
]

TASK_FIELDS = """id title status progress isMilestone phase source plannedStart dueAt startedAt
    completedAt isOverdue parent { id } children { edges { node { id } } } dependsOn { id }
    raci { role person { id } department { id } }"""

CREATE = f"""
mutation($input: CreateTaskInput!) {{
  createTask(input: $input) {{ task {{ {TASK_FIELDS} }} userErrors {{ field message code }} }}
}}
"""

UPDATE = f"""
mutation($input: UpdateTaskInput!) {{
  updateTask(input: $input) {{ task {{ {TASK_FIELDS} }} userErrors {{ field message code }} }}
}}
"""

SET_RACI = """
mutation($input: SetRaciInput!) {
  setRaci(input: $input) {
    task { id raci { role person { id } department { id } } }
    userErrors { field message code }
  }
}
"""


async def create_task(api: SubgraphClient, caller: Caller = LI, **changes: Any) -> dict[str, Any]:
    """Create a task that must succeed; returns it."""
    base: dict[str, Any] = {
        "requestId": "req-1",
        "title": "Prepare launch materials",
        "dueAt": in_days(10),
        "raci": RACI,
    }
    data = await api.execute(CREATE, {"input": {**base, **changes}}, caller=caller)
    payload = data["createTask"]
    assert payload["userErrors"] == []
    task: dict[str, Any] = payload["task"]
    return task


async def update(api: SubgraphClient, caller: Caller = LI, **fields: Any) -> dict[str, Any]:
    payload: dict[str, Any] = (await api.execute(UPDATE, {"input": fields}, caller=caller))[
        "updateTask"
    ]
    return payload


async def outbox(api: SubgraphClient, event_type: str) -> list[dict[str, Any]]:
    rows = await api.runtime.pool.fetch(
        "SELECT envelope FROM outbox WHERE event_type = $1 ORDER BY seq", event_type
    )
    return [r["envelope"] for r in rows]


async def snapshot(api: SubgraphClient) -> list[Any]:
    """Everything a refusal must leave unchanged."""
    pool = api.runtime.pool
    return [
        [dict(r) for r in await pool.fetch("SELECT * FROM tasks ORDER BY id")],
        [
            dict(r)
            for r in await pool.fetch("SELECT * FROM raci_assignments ORDER BY task_id, position")
        ],
        [dict(r) for r in await pool.fetch("SELECT * FROM task_dependencies ORDER BY 1, 2")],
        [dict(r) for r in await pool.fetch("SELECT * FROM progress_reports ORDER BY id")],
        [dict(r) for r in await pool.fetch("SELECT * FROM report_problems ORDER BY id")],
        [dict(r) for r in await pool.fetch("SELECT * FROM recurring_tasks ORDER BY id")],
        [
            dict(r)
            for r in await pool.fetch(
                "SELECT kind, subject, due_at, version FROM timers ORDER BY kind, subject"
            )
        ],
        await pool.fetchval("SELECT count(*) FROM outbox"),
    ]


PAST_WEEK: dict[str, object] = {
    "period_start": "2026-03-09",
    "period_end": "2026-03-15",
    "deadline": "2026-03-13T09:00:00+00:00",
}
"""Payload of report timers for the week of 9 March 2026 (due Friday 17:00 in Shanghai)."""


async def timer(api: SubgraphClient, kind: str, subject: str) -> Any:
    return await api.runtime.pool.fetchrow(
        "SELECT id, due_at, version, payload, fired_at FROM timers WHERE kind = $1"
        " AND subject = $2",
        kind,
        subject,
    )


async def make_due(api: SubgraphClient, kind: str, subject: str) -> tuple[str, int]:
    """Pretend the deadline has come: move the timer row into the past (same version)."""
    row = await api.runtime.pool.fetchrow(
        "UPDATE timers SET due_at = now() - interval '1 second' WHERE kind = $1 AND subject = $2"
        " RETURNING id, version",
        kind,
        subject,
    )
    assert row is not None
    return str(row["id"]), row["version"]


async def fire_armed(
    api: SubgraphClient, kind: str, subject: str, payload: dict[str, object]
) -> bool:
    """Arm a timer that is already due with the test's own ``payload``, and fire it."""
    async with unit_of_work(api.runtime) as uow:
        row = await uow.arm_timer(kind, subject, datetime.now(UTC) - timedelta(seconds=1), payload)
    return await fire_timer(api.runtime, TIMER_HANDLERS, str(row.id), row.version)


async def fire(api: SubgraphClient, kind: str, subject: str) -> bool:
    timer_id, version = await make_due(api, kind, subject)
    return await fire_timer(api.runtime, TIMER_HANDLERS, timer_id, version)
