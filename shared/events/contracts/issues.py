"""Events emitted by the issues service."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from shared.events.contracts.base import EventData, event_type


@event_type("issues.issue.reported")
class IssueReported(EventData):
    id: str
    code: str
    request_id: str
    title: str
    severity: str
    urgent: bool
    lead_department_id: str
    reporter_id: str
    task_id: str | None = None
    source_problem_id: str | None = None


@event_type("issues.issue.sla_breached")
class IssueSlaBreached(EventData):
    issue_id: str
    metric: str
    due_at: datetime
    breached_at: datetime
    lead_department_id: str
    code: str | None = None
    title: str | None = None
    urgent: bool = False
    urgency: str = "URGENT"
    responsible_department_id: str | None = None
    recipient_ids: list[str] = Field(default_factory=list)
    """Who is told of the breach: the lead department's head (level 1 of the escalation,
    the responsible department's head, follows as ``issues.issue.escalated``)."""
    request_id: str | None = None
    """The issue's request, whose chat channel hears of the breach (None: older events)."""


# --- lifecycle ------------------------------------------------------------------------------


class IssueChanged(EventData):
    """An issue moved or was reassigned; the same shape for every lifecycle verb.

    ``owner_id`` and the two departments let notify tell the people now expected to act.
    """

    issue_id: str
    code: str
    title: str
    request_id: str
    action: str
    from_status: str
    to_status: str
    actor_id: str
    comment: str = ""
    urgent: bool = False
    reporter_id: str
    lead_department_id: str
    responsible_department_id: str
    owner_id: str | None = None
    previous_responsible_department_id: str | None = None
    """Set when the move handed the issue to another department (who held it before)."""
    previous_owner_id: str | None = None


ISSUE_CHANGE_TYPES = (
    "issues.issue.acknowledged",
    "issues.issue.plan_proposed",
    "issues.issue.work_started",
    "issues.issue.waiting",
    "issues.issue.resumed",
    "issues.issue.resolved",
    "issues.issue.verified",
    "issues.issue.reopened",
    "issues.issue.archived",
    "issues.issue.reassigned",
)
for _name in ISSUE_CHANGE_TYPES:
    event_type(_name)(IssueChanged)


# --- SLA warnings, breaches and escalation --------------------------------------------------


@event_type("issues.issue.sla_warning")
class IssueSlaWarning(EventData):
    """``percent`` of an SLA target has elapsed (emitted once per clock and percentage).

    ``recipient_ids``: the issue's owner and the responsible department's head.
    """

    issue_id: str
    code: str
    title: str
    metric: str
    percent: int
    due_at: datetime
    remaining_minutes: int
    urgent: bool
    urgency: str
    lead_department_id: str
    responsible_department_id: str
    recipient_ids: list[str]


@event_type("issues.issue.escalated")
class IssueEscalated(EventData):
    """The people of escalation ``level`` (1 responsible head, 2 lead head, 3 PMO) are told.

    Usually the issue has just reached ``level``; a later breach tells level 1 again while
    the issue stays at the higher ``escalation_level`` it had reached (None: older events,
    where it is ``level``). ``recipient_ids`` are told now. For a business-hours clock,
    people outside their working time are listed in ``deferred`` with the instant their
    message is due; each gets an ``issues.issue.escalation_notice`` then. Urgent issues
    defer nobody.
    """

    issue_id: str
    code: str
    title: str
    level: int
    reason: str
    manual: bool
    actor_id: str | None = None
    metric: str | None = None
    urgent: bool
    urgency: str
    escalated_at: datetime
    lead_department_id: str
    responsible_department_id: str
    recipient_ids: list[str]
    deferred: dict[str, datetime] = Field(default_factory=dict)
    escalation_level: int | None = None


@event_type("issues.issue.escalation_notice")
class IssueEscalationNotice(EventData):
    """A deferred escalation message, released at its recipient's next working minute."""

    issue_id: str
    code: str
    title: str
    level: int
    reason: str
    urgency: str
    escalated_at: datetime
    recipient_ids: list[str]
