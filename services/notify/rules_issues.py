"""Routing of the issues service's events: the issue's lead department, responsible
department, owner and reporter.

* ``issues.issue.reported`` / ``issues.issue.sla_breached``: the lead department's head, and
  the responsible department's head and the owner when the event names them; urgent issues
  and breaches are urgent. A breach that names its recipients (``recipient_ids``) is sent
  to them rather than to the heads above.
"""

from __future__ import annotations

from services.notify.channels.service import Announcement
from services.notify.models import Urgency
from services.notify.rules_common import Routed, Rule, draft, extra, heads, recipients
from shared.db import Connection
from shared.events.contracts.issues import IssueReported, IssueSlaBreached
from shared.events.envelope import EventEnvelope

_SLA_METRICS = {"RESPONSE": "response (2 h)", "PLAN": "plan"}


async def _issue_people(conn: Connection, event: EventEnvelope, lead: str) -> list[str]:
    responsible = extra(event, "responsible_department_id")
    owner = extra(event, "owner_id")
    people = await heads(conn, [lead, responsible])
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
        draft(event, person, title, body, f"/issues/{data.id}", urgency)
        for person in await _issue_people(conn, event, data.lead_department_id)
    ]
    departments = [data.lead_department_id, extra(event, "responsible_department_id")]
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
    named = recipients(event)
    people = named or await _issue_people(conn, event, data.lead_department_id)
    drafts = [draft(event, person, title, body, link, Urgency.URGENT) for person in people]
    request_id = extra(event, "request_id")
    announcement = None
    if isinstance(request_id, str):
        announcement = Announcement(
            request_id, [data.lead_department_id], title, body, link, Urgency.URGENT
        )
    return Routed(drafts, announcement)


ISSUE_RULES: dict[str, Rule] = {
    "issues.issue.reported": issue_reported,
    "issues.issue.sla_breached": issue_sla_breached,
}
