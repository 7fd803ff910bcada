"""The work people must do, as each owning service derives it (internal: notify's ``myWork``).

One event carries the whole current set of items of one record (a task, an issue, a request,
a secondment, a meeting, a request's reporting period): an empty list settles them all. The
consumer keeps, per record, the set of the latest event (by event time) and drops older ones.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from shared.events.contracts.base import EventData, event_type


class WorkKind(StrEnum):
    """What the caller must do; the front end shows one label per kind."""

    DO_TASK = "DO_TASK"
    DECIDE_REQUEST = "DECIDE_REQUEST"
    SIGN_OFF_REQUEST = "SIGN_OFF_REQUEST"
    APPROVE_SECONDMENT = "APPROVE_SECONDMENT"
    ACKNOWLEDGE_ISSUE = "ACKNOWLEDGE_ISSUE"
    PLAN_ISSUE = "PLAN_ISSUE"
    RESOLVE_ISSUE = "RESOLVE_ISSUE"
    VERIFY_ISSUE = "VERIFY_ISSUE"
    ANSWER_ISSUE = "ANSWER_ISSUE"
    PUBLISH_MINUTES = "PUBLISH_MINUTES"
    SUBMIT_REPORT = "SUBMIT_REPORT"


WORK_KINDS: dict[str, str] = {
    "DO_TASK": "Work on a task as its Responsible (R), until it is DONE or CANCELLED.",
    "DECIDE_REQUEST": "Approve, reject or send back a SUBMITTED request, as its approver.",
    "SIGN_OFF_REQUEST": "Sign off the acceptance of a request whose goals all have their"
    " results, as its approver.",
    "APPROVE_SECONDMENT": "Approve or reject a staff loan, as a head of a department in it.",
    "ACKNOWLEDGE_ISSUE": "Take on a REPORTED issue, as the lead department.",
    "PLAN_ISSUE": "Propose the plan of an ACKNOWLEDGED issue, as its owner or else the"
    " responsible department.",
    "RESOLVE_ISSUE": "Start on and resolve a planned issue, as its owner or else the"
    " responsible department.",
    "VERIFY_ISSUE": "Verify a RESOLVED issue, as the lead department.",
    "ANSWER_ISSUE": "Answer an issue WAITING for its reporter.",
    "PUBLISH_MINUTES": "Publish the minutes of a meeting that has ended, as its lead department.",
    "SUBMIT_REPORT": "Submit the department's progress report of a period, as an executing"
    " department.",
}
"""What each kind asks, for the GraphQL schema."""


class WorkRole(StrEnum):
    """Why an item is the caller's: the handbook role that makes it so."""

    RESPONSIBLE = "RESPONSIBLE"
    APPROVER = "APPROVER"
    DEPARTMENT_HEAD = "DEPARTMENT_HEAD"
    LEAD_DEPARTMENT = "LEAD_DEPARTMENT"
    RESPONSIBLE_DEPARTMENT = "RESPONSIBLE_DEPARTMENT"
    OWNER = "OWNER"
    REPORTER = "REPORTER"
    ORGANIZER = "ORGANIZER"
    EXECUTING_DEPARTMENT = "EXECUTING_DEPARTMENT"


class WorkTarget(StrEnum):
    """The kind of record an item opens."""

    TASK = "TASK"
    ISSUE = "ISSUE"
    REQUEST = "REQUEST"
    SECONDMENT = "SECONDMENT"
    MEETING = "MEETING"


class WorkItem(EventData):
    """One thing one person, or one department, must do about the record."""

    key: str
    """Unique within the record's set, stable across changes (e.g. ``R:<person id>``)."""
    kind: WorkKind
    role: WorkRole
    title: str
    """What the front end shows: the record's title (a code first where it has one)."""
    target: WorkTarget
    target_id: str
    """The id to open: ``task(id)``, ``issue(id)``, ``request(id)``, ..."""
    request_id: str | None = None
    """The request the item belongs to."""
    person_id: str | None = None
    """The one person who must act; null for a department's item."""
    department_id: str | None = None
    """The department whose item it is, when ``person_id`` is null."""
    heads_only: bool = False
    """A department item only its head acts on (approvals); otherwise its members too."""
    due_at: datetime | None = None
    visible_from: datetime | None = None
    """Not shown before this moment (minutes once the meeting has ended, a period's report
    once the period has started); null: at once."""
    at_risk_at: datetime | None = None
    """From this moment the item is at risk (an SLA clock's warning, or a day before a due
    time); null: never before it is overdue."""
    clock_paused: bool = False
    """The SLA clock behind ``due_at`` is paused (the issue waits for its reporter)."""
    has_clock: bool = False
    """``due_at`` is an SLA clock's deadline."""
    urgency: int = Field(default=2, ge=0, le=3)
    """0 urgent (green channel), 1 high, 2 normal, 3 low: the order among equal due times."""


@event_type("work.items.changed", internal=True)
class WorkItemsChanged(EventData):
    """The whole current set of work items of one record; empty: nothing left to do."""

    source: str
    """The record, as ``<KIND>:<id>`` (e.g. ``TASK:0192...``): the key the set replaces."""
    items: list[WorkItem]
