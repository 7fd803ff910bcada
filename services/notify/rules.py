"""Who hears about what: one routing rule per event type.

A rule reads one event and returns :class:`Routed`: per-person drafts (with an urgency, and
marked ``informed_only`` for people who are only Informed) and, for events about a request,
an :class:`Announcement` for the chat groups of the request's current phase. Department
heads come from the local directory replica; a department whose head is not known (yet)
notifies nobody.

Recipients by event:

* ``tasks.task.created``: R, A and C people (a department-only entry means its head); I
  people are only Informed.
* ``issues.issue.reported`` / ``issues.issue.sla_breached``: the lead department's head, and
  the responsible department's head and the owner when the event names them; urgent issues
  and breaches are urgent.
* ``requests.request.created`` / ``requests.request.updated``: on submission the approver;
  on a decision the lead department's head and the creator; on start the heads of every
  department taking part; on close or cancel those heads, only Informed.
* ``requests.action_item.created``: the owner; the chair and the lead department's head are
  only Informed.
* ``requests.meeting.scheduled``: every attendee, with the ``.ics`` invitation by e-mail.
* any other event whose data names ``recipient_ids`` (reminders, overdue tasks, escalations):
  those people, urgent when the data says ``urgency: URGENT`` or ``urgent: true``. A breach
  that names its recipients is sent to them rather than to the heads above.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from services.notify.channels.service import Announcement
from services.notify.models import MeetingInfo, NotificationDraft, Urgency
from services.notify.repository import person_departments
from shared.db import Connection
from shared.events.contracts.issues import IssueReported, IssueSlaBreached
from shared.events.contracts.requests import RequestCreated
from shared.events.contracts.tasks import TaskCreated
from shared.events.envelope import EventEnvelope
from shared.replicas import department_heads

log = logging.getLogger(__name__)


@dataclass
class Routed:
    drafts: list[NotificationDraft] = field(default_factory=list)
    announcement: Announcement | None = None


Rule = Callable[[Connection, EventEnvelope], Awaitable[Routed]]

_RACI_NAMES = {
    "R": "responsible (R, 负责方)",
    "A": "accountable (A, 审批方)",
    "C": "consulted (C, 咨询方)",
    "I": "informed (I, 知会方)",
}
_SLA_METRICS = {"RESPONSE": "response (2 h)", "PLAN": "plan"}


def _draft(
    event: EventEnvelope,
    recipient: str,
    title: str,
    body: str,
    link: str | None,
    urgency: Urgency = Urgency.NORMAL,
    *,
    informed_only: bool = False,
    meeting: MeetingInfo | None = None,
) -> NotificationDraft:
    return NotificationDraft(
        recipient_id=recipient,
        type=event.type,
        title=title,
        body=body,
        source_event_id=event.id,
        link=link,
        urgency=urgency,
        informed_only=informed_only,
        meeting=meeting,
    )


async def _heads(conn: Connection, departments: Iterable[str | None]) -> list[str]:
    wanted = [d for d in dict.fromkeys(departments) if d]
    found = await department_heads(conn, wanted)
    return list(dict.fromkeys(found[d] for d in wanted if d in found))


def _extra(event: EventEnvelope, name: str) -> Any:
    """An optional field a newer producer may send (event data keeps unknown fields)."""
    return event.data.get(name)


async def task_created(conn: Connection, event: EventEnvelope) -> Routed:
    data = TaskCreated.model_validate(event.data)
    by_department = [e.department_id for e in data.raci if not e.person_id and e.department_id]
    heads = await department_heads(conn, by_department)
    roles: dict[str, set[str]] = {}
    for entry in data.raci:
        person = entry.person_id or heads.get(entry.department_id or "")
        if person and entry.role in _RACI_NAMES:
            roles.setdefault(person, set()).add(entry.role)
    drafts = []
    for person, person_roles in sorted(roles.items()):
        informed_only = person_roles == {"I"}
        shown = sorted(person_roles - {"I"}) or ["I"]
        drafts.append(
            _draft(
                event,
                person,
                f"New task: {data.title}",
                "You are " + " and ".join(_RACI_NAMES[r] for r in shown) + ".",
                f"/tasks/{data.id}",
                informed_only=informed_only,
            )
        )
    people = [e.person_id for e in data.raci if e.person_id and not e.department_id]
    homes = await person_departments(conn, people)
    departments = [e.department_id or homes.get(e.person_id or "") for e in data.raci]
    due = f" Due {data.due_at:%Y-%m-%d %H:%M} UTC." if data.due_at else ""
    announcement = Announcement(
        request_id=data.request_id,
        departments=[d for d in departments if d],
        title=f"New task: {data.title}",
        body=f"A task was added to the plan.{due}",
        link=f"/tasks/{data.id}",
    )
    return Routed(drafts, announcement)


async def _issue_people(conn: Connection, event: EventEnvelope, lead: str) -> list[str]:
    responsible = _extra(event, "responsible_department_id")
    owner = _extra(event, "owner_id")
    people = await _heads(conn, [lead, responsible])
    if isinstance(owner, str):
        people.append(owner)
    return list(dict.fromkeys(people))


async def issue_reported(conn: Connection, event: EventEnvelope) -> Routed:
    data = IssueReported.model_validate(event.data)
    urgency = Urgency.URGENT if data.urgent else Urgency.NORMAL
    channel = " Green channel (绿色通道): plan due within 2 h." if data.urgent else ""
    title = f"Issue {data.code} reported: {data.title}"
    body = (
        f"Severity {data.severity}. The lead department responds within 2 working hours.{channel}"
    )
    drafts = [
        _draft(event, person, title, body, f"/issues/{data.id}", urgency)
        for person in await _issue_people(conn, event, data.lead_department_id)
    ]
    departments = [data.lead_department_id, _extra(event, "responsible_department_id")]
    announcement = Announcement(
        request_id=data.request_id,
        departments=[d for d in departments if isinstance(d, str)],
        title=title,
        body=body,
        link=f"/issues/{data.id}",
        urgency=urgency,
    )
    return Routed(drafts, announcement)


async def issue_sla_breached(conn: Connection, event: EventEnvelope) -> Routed:
    data = IssueSlaBreached.model_validate(event.data)
    metric = _SLA_METRICS.get(data.metric, data.metric.lower())
    title = f"SLA breached (超时): {metric} deadline passed"
    body = (
        f"The {metric} deadline of an issue your department takes part in passed at"
        f" {data.due_at.isoformat()}. Act or escalate now."
    )
    link = f"/issues/{data.issue_id}"
    named = _recipients(event)
    people = named or await _issue_people(conn, event, data.lead_department_id)
    drafts = [_draft(event, person, title, body, link, Urgency.URGENT) for person in people]
    request_id = _extra(event, "request_id")
    announcement = None
    if isinstance(request_id, str):
        announcement = Announcement(
            request_id, [data.lead_department_id], title, body, link, Urgency.URGENT
        )
    return Routed(drafts, announcement)


_DECISIONS = {
    "APPROVED": "approved",
    "REJECTED": "rejected",
    "CHANGES_REQUESTED": "sent back for changes",
}


async def request_changed(conn: Connection, event: EventEnvelope) -> Routed:
    data = RequestCreated.model_validate(event.data)
    previous = _extra(event, "previous_status")
    if previous == data.status:
        return Routed()  # an edit, not a move: nobody needs a message
    departments = [data.lead_department_id, *data.participant_department_ids]
    link = f"/requests/{data.id}"
    name = f"{data.code} {data.title}"
    if data.status == "SUBMITTED":
        approver = _extra(event, "approver_id")
        if not isinstance(approver, str):
            return Routed()
        title = f"Approval needed (待审批): {name}"
        return Routed(
            [_draft(event, approver, title, "Please approve, reject or request changes.", link)]
        )
    if data.status in _DECISIONS:
        title = f"Request {_DECISIONS[data.status]}: {name}"
        comment = _extra(event, "comment")
        body = f"Comment: {comment}" if comment else f"The request was {_DECISIONS[data.status]}."
        people = [*await _heads(conn, [data.lead_department_id]), data.created_by]
        drafts = [_draft(event, p, title, body, link) for p in dict.fromkeys(people)]
        return Routed(drafts, Announcement(data.id, [data.lead_department_id], title, body, link))
    if data.status == "ACTIVE":
        title = f"Request started (启动): {name}"
        body = "Your department takes part; see the plan and your tasks."
        drafts = [_draft(event, p, title, body, link) for p in await _heads(conn, departments)]
        return Routed(drafts, Announcement(data.id, departments, title, body, link))
    if data.status in ("CLOSED", "CANCELLED"):
        title = f"Request {data.status.lower()}: {name}"
        body = f"The request is {data.status.lower()}."
        drafts = [
            _draft(event, p, title, body, link, informed_only=True)
            for p in await _heads(conn, departments)
        ]
        return Routed(drafts, Announcement(data.id, departments, title, body, link))
    return Routed()


class _ActionItem(BaseModel):
    id: str
    request_id: str
    title: str
    owner_id: str
    department_id: str
    due_at: datetime
    chair_id: str | None = None
    lead_department_head_id: str | None = None


async def action_item_created(conn: Connection, event: EventEnvelope) -> Routed:
    data = _ActionItem.model_validate(event.data)
    title = f"Action item (行动项): {data.title}"
    body = f"From the meeting minutes; due {data.due_at:%Y-%m-%d %H:%M} UTC."
    link = f"/requests/{data.request_id}"
    drafts = [_draft(event, data.owner_id, title, body, link)]
    for person in dict.fromkeys([data.chair_id, data.lead_department_head_id]):
        if person and person != data.owner_id:
            drafts.append(_draft(event, person, title, body, link, informed_only=True))
    return Routed(drafts, Announcement(data.request_id, [data.department_id], title, body, link))


class _Meeting(BaseModel):
    id: str
    request_id: str
    title: str
    starts_at: datetime
    ends_at: datetime
    attendee_ids: list[str] = []
    required_attendee_ids: list[str] = []
    optional_attendee_ids: list[str] = []
    organizer_id: str | None = None
    location: str | None = None
    join_url: str | None = None
    agenda: str | list[Any] | None = None
    sequence: int = 0


def _agenda_text(agenda: str | list[Any] | None) -> str:
    if agenda is None or isinstance(agenda, str):
        return agenda or ""
    lines = []
    for item in agenda:
        lines.append(f"- {item.get('title', item) if isinstance(item, dict) else item}")
    return "\n".join(lines)


async def meeting_scheduled(conn: Connection, event: EventEnvelope) -> Routed:
    data = _Meeting.model_validate(event.data)
    attendees = tuple(
        dict.fromkeys(
            [*data.attendee_ids, *data.required_attendee_ids, *data.optional_attendee_ids]
        )
    )
    meeting = MeetingInfo(
        id=data.id,
        title=data.title,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        attendee_ids=attendees,
        organizer_id=data.organizer_id,
        location=data.location,
        join_url=data.join_url,
        description=_agenda_text(data.agenda),
        sequence=data.sequence,
    )
    title = f"Meeting invitation (会议邀请): {data.title}"
    body = f"Starts {data.starts_at:%Y-%m-%d %H:%M} UTC."
    if meeting.description:
        body += f"\nAgenda:\n{meeting.description}"
    link = f"/requests/{data.request_id}/meetings/{data.id}"
    drafts = [_draft(event, p, title, body, link, meeting=meeting) for p in attendees]
    return Routed(drafts)


def _recipients(event: EventEnvelope) -> list[str]:
    named = event.data.get("recipient_ids")
    if not isinstance(named, list):
        return []
    return list(dict.fromkeys(p for p in named if isinstance(p, str) and p))


def _humanized(event_type: str) -> str:
    """``tasks.task.reminder_due`` -> ``Task reminder due``."""
    _, aggregate, verb = [*event_type.split(".", 2), "", ""][:3]
    return f"{aggregate} {verb}".replace("_", " ").strip().capitalize()


async def addressed(conn: Connection, event: EventEnvelope) -> Routed:
    """Events that name their recipients (``recipient_ids``)."""
    people = _recipients(event)
    if not people:
        return Routed()
    data = event.data
    urgent = data.get("urgency") == "URGENT" or data.get("urgent") is True
    subject = data.get("title") or data.get("code") or event.subject
    service = event.type.split(".", 1)[0]
    key = {"issues": "issue_id", "tasks": "task_id", "requests": "request_id"}.get(service, "")
    target = data.get(key) or event.subject
    link = f"/{service}/{target}"
    title = f"{_humanized(event.type)}: {subject}"
    due = data.get("due_at")
    body = f"Due {due}." if isinstance(due, str) else f"See {link}."
    urgency = Urgency.URGENT if urgent else Urgency.NORMAL
    drafts = [_draft(event, person, title, body, link, urgency) for person in people]
    return Routed(drafts)


RULES: dict[str, Rule] = {
    "tasks.task.created": task_created,
    "issues.issue.reported": issue_reported,
    "issues.issue.sla_breached": issue_sla_breached,
    "requests.request.created": request_changed,
    "requests.request.updated": request_changed,
    "requests.action_item.created": action_item_created,
    "requests.meeting.scheduled": meeting_scheduled,
}


async def route(conn: Connection, event: EventEnvelope) -> Routed:
    """The event's routing, or nothing for a type no rule reads (or data it cannot read)."""
    rule = RULES.get(event.type, addressed)
    try:
        return await rule(conn, event)
    except ValidationError:
        # A producer's contract moved on: log it, do not wedge the consumer on this event.
        log.exception("cannot route %s %s: unexpected data", event.type, event.id)
        return Routed()
