"""Who hears about what: the routing rules from other services' events to notifications.

Each rule reads one event and returns the notifications it warrants; :data:`EVENT_HANDLERS`
stores them (once per person per event) and wakes the recipients' subscriptions. Department
heads come from the local replica of the directory, so a department whose head the replica
does not know yet notifies nobody.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from services.notify import service
from services.notify.models import NotificationDraft, Urgency
from shared.db import Connection
from shared.events.consumer import EventHandler
from shared.events.contracts.issues import IssueReported, IssueSlaBreached
from shared.events.contracts.tasks import TaskCreated
from shared.events.envelope import EventEnvelope
from shared.replicas import department_heads
from shared.unit_of_work import UnitOfWork

Rule = Callable[[Connection, EventEnvelope], Awaitable[list[NotificationDraft]]]

_RACI_NAMES = {"R": "responsible (R, 负责方)", "A": "accountable (A, 审批方)"}
_SLA_METRICS = {"RESPONSE": "response (2 h)", "PLAN": "plan"}


async def _head_of(conn: Connection, department_id: str) -> str | None:
    return (await department_heads(conn, [department_id])).get(department_id)


async def task_created(conn: Connection, event: EventEnvelope) -> list[NotificationDraft]:
    """Each person who is R or A on the new task; a department-only entry means its head."""
    data = TaskCreated.model_validate(event.data)
    entries = [e for e in data.raci if e.role in _RACI_NAMES]
    by_department = [e.department_id for e in entries if not e.person_id and e.department_id]
    heads = await department_heads(conn, by_department)
    roles: dict[str, set[str]] = {}
    for entry in entries:
        person = entry.person_id or heads.get(entry.department_id or "")
        if person:
            roles.setdefault(person, set()).add(entry.role)
    return [
        NotificationDraft(
            recipient_id=person,
            type=event.type,
            title=f"New task: {data.title}",
            body="You are " + " and ".join(_RACI_NAMES[r] for r in sorted(person_roles)) + ".",
            source_event_id=event.id,
            link=f"/tasks/{data.id}",
        )
        for person, person_roles in sorted(roles.items())
    ]


async def issue_reported(conn: Connection, event: EventEnvelope) -> list[NotificationDraft]:
    """The lead department's head, who must respond within 2 working hours."""
    data = IssueReported.model_validate(event.data)
    head = await _head_of(conn, data.lead_department_id)
    if head is None:
        return []
    channel = " Green channel (绿色通道): plan due within 2 h." if data.urgent else ""
    return [
        NotificationDraft(
            recipient_id=head,
            type=event.type,
            title=f"Issue {data.code} reported: {data.title}",
            body=f"Severity {data.severity}. Your department leads it: respond within 2 working"
            f" hours.{channel}",
            source_event_id=event.id,
            link=f"/issues/{data.id}",
            urgency=Urgency.URGENT if data.urgent else Urgency.NORMAL,
        )
    ]


async def issue_sla_breached(conn: Connection, event: EventEnvelope) -> list[NotificationDraft]:
    """The lead department's head, urgently: an SLA deadline has passed."""
    data = IssueSlaBreached.model_validate(event.data)
    head = await _head_of(conn, data.lead_department_id)
    if head is None:
        return []
    metric = _SLA_METRICS.get(data.metric, data.metric.lower())
    return [
        NotificationDraft(
            recipient_id=head,
            type=event.type,
            title=f"SLA breached (超时): {metric} deadline passed",
            body=f"The {metric} deadline of an issue your department leads passed at"
            f" {data.due_at.isoformat()}. Act or escalate now.",
            source_event_id=event.id,
            link=f"/issues/{data.issue_id}",
            urgency=Urgency.URGENT,
        )
    ]


RULES: dict[str, Rule] = {
    "tasks.task.created": task_created,
    "issues.issue.reported": issue_reported,
    "issues.issue.sla_breached": issue_sla_breached,
}


def _handler(rule: Rule) -> EventHandler:
    async def handle(uow: UnitOfWork, event: EventEnvelope) -> None:
        for draft in await rule(uow.conn, event):
            await service.deliver(uow, draft)

    return handle


EVENT_HANDLERS: dict[str, EventHandler] = {name: _handler(rule) for name, rule in RULES.items()}
