"""Who hears about what: one routing rule per event type.

A rule reads one event and returns :class:`Routed`: per-person drafts (with an urgency, and
marked ``informed_only`` for people who are only Informed) and, for events about a request,
an :class:`Announcement` for the chat groups of the request's current phase. Department
heads come from the local directory replica; a department whose head is not known (yet)
notifies nobody.

The tasks service's events are routed by :mod:`services.notify.rules_tasks` and the issues
service's by :mod:`services.notify.rules_issues` (their docstrings say who hears what). Here:

* ``requests.request.created`` / ``requests.request.updated``: on submission the approver;
  on a decision the lead department's head and the creator; on start the heads of every
  department taking part; on close or cancel those heads, only Informed.
* ``requests.action_item.created``: the owner; the chair and the lead department's head are
  only Informed.
* ``requests.meeting.scheduled``: every attendee, with the ``.ics`` invitation by e-mail.
* ``requests.minutes.overdue``: the meeting's organiser (its chair), who publishes the
  minutes, and the lead department's head, who answers for them.
* ``requests.secondment.ending_soon``: the person on loan and the heads of the lending and
  the receiving department, who plan the hand-back and the evaluation.
* any other event whose data names ``recipient_ids`` (reminders, overdue tasks, escalations):
  those people, urgent when the data says ``urgency: URGENT`` or ``urgent: true``.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from services.notify.channels.service import Announcement
from services.notify.models import MeetingInfo, Urgency
from services.notify.repository import person_contact
from services.notify.rules_common import Routed, Rule, draft, extra, heads, recipients
from services.notify.rules_issues import ISSUE_RULES
from services.notify.rules_tasks import TASK_RULES
from shared.db import Connection
from shared.events.contracts.requests import (
    MinutesOverdue,
    RequestCreated,
    SecondmentEndingSoon,
)
from shared.events.envelope import EventEnvelope

log = logging.getLogger(__name__)


_DECISIONS = {
    "APPROVED": "approved",
    "REJECTED": "rejected",
    "CHANGES_REQUESTED": "sent back for changes",
}


async def request_changed(conn: Connection, event: EventEnvelope) -> Routed:
    data = RequestCreated.model_validate(event.data)
    previous = extra(event, "previous_status")
    if previous == data.status:
        return Routed()  # an edit, not a move: nobody needs a message
    departments = [data.lead_department_id, *data.participant_department_ids]
    link = f"/requests/{data.id}"
    name = f"{data.code} {data.title}"
    if data.status == "SUBMITTED":
        approver = extra(event, "approver_id")
        if not isinstance(approver, str):
            return Routed()
        title = f"Approval needed (待审批): {name}"
        return Routed(
            [draft(event, approver, title, "Please approve, reject or request changes.", link)]
        )
    if data.status in _DECISIONS:
        title = f"Request {_DECISIONS[data.status]}: {name}"
        comment = extra(event, "comment")
        body = f"Comment: {comment}" if comment else f"The request was {_DECISIONS[data.status]}."
        people = [*await heads(conn, [data.lead_department_id]), data.created_by]
        drafts = [draft(event, p, title, body, link) for p in dict.fromkeys(people)]
        return Routed(drafts, Announcement(data.id, [data.lead_department_id], title, body, link))
    if data.status == "ACTIVE":
        title = f"Request started (启动): {name}"
        body = "Your department takes part; see the plan and your tasks."
        drafts = [draft(event, p, title, body, link) for p in await heads(conn, departments)]
        return Routed(drafts, Announcement(data.id, departments, title, body, link))
    if data.status in ("CLOSED", "CANCELLED"):
        title = f"Request {data.status.lower()}: {name}"
        body = f"The request is {data.status.lower()}."
        drafts = [
            draft(event, p, title, body, link, informed_only=True)
            for p in await heads(conn, departments)
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
    drafts = [draft(event, data.owner_id, title, body, link)]
    for person in dict.fromkeys([data.chair_id, data.lead_department_head_id]):
        if person and person != data.owner_id:
            drafts.append(draft(event, person, title, body, link, informed_only=True))
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
    drafts = [draft(event, p, title, body, link, meeting=meeting) for p in attendees]
    return Routed(drafts)


async def minutes_overdue(conn: Connection, event: EventEnvelope) -> Routed:
    data = MinutesOverdue.model_validate(event.data)
    people = [data.organizer_id, *await heads(conn, [data.lead_department_id])]
    title = f"Minutes overdue (纪要逾期): {data.title}"
    body = (
        f"The minutes were due {data.due_at:%Y-%m-%d %H:%M} UTC, 24 h after the meeting ended."
        " Publish them with their action items."
    )
    link = f"/requests/{data.request_id}/meetings/{data.meeting_id}"
    return Routed([draft(event, p, title, body, link) for p in dict.fromkeys(people) if p])


async def secondment_ending_soon(conn: Connection, event: EventEnvelope) -> Routed:
    data = SecondmentEndingSoon.model_validate(event.data)
    contact = await person_contact(conn, data.person_id)
    name = contact[0] if contact else data.person_id
    title = f"Secondment ending soon (借调即将结束): {name}"
    body = (
        f"{name}'s secondment ends on {data.ends_on:%Y-%m-%d} ({data.days_left} days left)."
        " Plan the hand-back and the evaluation."
    )
    departments = [data.from_department_id, data.to_department_id]
    people = dict.fromkeys([data.person_id, *await heads(conn, departments)])
    return Routed([draft(event, p, title, body, f"/secondments/{data.id}") for p in people])


def _humanized(event_type: str) -> str:
    """``tasks.task.reminder_due`` -> ``Task reminder due``."""
    _, aggregate, verb = [*event_type.split(".", 2), "", ""][:3]
    return f"{aggregate} {verb}".replace("_", " ").strip().capitalize()


_LINK_KEYS = (("task_id", "tasks"), ("issue_id", "issues"), ("request_id", "requests"))
"""The most specific thing an event names decides where its notification links to."""


def _link_of(data: dict[str, Any]) -> str | None:
    """``/tasks/<id>``, ``/issues/<id>`` or ``/requests/<id>``; None when the event names
    none of them (a digest of several tasks, say)."""
    for key, path in _LINK_KEYS:
        value = data.get(key)
        if isinstance(value, str) and value:
            return f"/{path}/{value}"
    return None


async def addressed(conn: Connection, event: EventEnvelope) -> Routed:
    """Events that name their recipients (``recipient_ids``)."""
    people = recipients(event)
    if not people:
        return Routed()
    data = event.data
    urgent = data.get("urgency") == "URGENT" or data.get("urgent") is True
    subject = data.get("title") or data.get("code") or event.subject
    link = _link_of(data)
    title = f"{_humanized(event.type)}: {subject}"
    due = data.get("due_at")
    body = f"Due {due}." if isinstance(due, str) else f"See {link}." if link else title
    urgency = Urgency.URGENT if urgent else Urgency.NORMAL
    drafts = [draft(event, person, title, body, link, urgency) for person in people]
    return Routed(drafts)


RULES: dict[str, Rule] = {
    **TASK_RULES,
    **ISSUE_RULES,
    "requests.request.created": request_changed,
    "requests.request.updated": request_changed,
    "requests.action_item.created": action_item_created,
    "requests.meeting.scheduled": meeting_scheduled,
    "requests.minutes.overdue": minutes_overdue,
    "requests.secondment.ending_soon": secondment_ending_soon,
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
