"""Events emitted by the issues service."""

from __future__ import annotations

from datetime import datetime

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
