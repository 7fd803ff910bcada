"""Notify test helpers: feed events to the notify service the way its worker does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import BaseModel

from services.notify.handlers import EVENT_HANDLERS
from shared.events.consumer import Consumer
from shared.events.contracts.issues import IssueReported, IssueSlaBreached
from shared.events.contracts.requests import DepartmentUpserted
from shared.events.contracts.tasks import RaciEntry, TaskCreated
from shared.events.envelope import EventEnvelope, new_event
from tests.support import SubgraphClient

# Department -> head; "legal" has no head.
HEADS = {"mkt": "li", "rd": "chen", "ops": "zhou", "legal": None}


class Events:
    """Hands events to notify's consumer (replica + routing handlers), as the worker would."""

    def __init__(self, api: SubgraphClient) -> None:
        self.consumer = Consumer(api.runtime, EVENT_HANDLERS)

    async def handle(self, envelope: EventEnvelope) -> bool:
        return await self.consumer.handle(envelope)

    async def emit(self, source: str, type_: str, subject: str, data: BaseModel) -> EventEnvelope:
        envelope = new_event(source, type_, subject, data)
        assert await self.handle(envelope)
        return envelope

    async def seed_directory(self) -> None:
        for department, head in HEADS.items():
            data = DepartmentUpserted(
                id=department,
                code=department.upper(),
                name=department,
                region_id="hq",
                head_id=head,
            )
            await self.emit("requests", "requests.department.upserted", department, data)


@pytest.fixture
async def events(notify_api: SubgraphClient) -> Events:
    """An event feed into a clean notify service whose directory replica knows ``HEADS``."""
    feed = Events(notify_api)
    await feed.seed_directory()
    return feed


def task_created(
    task_id: str, raci: list[RaciEntry], title: str = "Launch posters"
) -> EventEnvelope:
    data = TaskCreated(id=task_id, request_id="cr1", title=title, raci=raci, created_by="li")
    return new_event("tasks", "tasks.task.created", task_id, data)


def issue_reported(issue_id: str, lead: str = "ops", *, urgent: bool = False) -> EventEnvelope:
    data = IssueReported(
        id=issue_id,
        code="IS-0001",
        request_id="cr1",
        title="Stock shortfall in East China",
        severity="HIGH",
        urgent=urgent,
        lead_department_id=lead,
        reporter_id="wang",
    )
    return new_event("issues", "issues.issue.reported", issue_id, data)


def sla_breached(issue_id: str, lead: str = "ops") -> EventEnvelope:
    now = datetime.now(UTC)
    data = IssueSlaBreached(
        issue_id=issue_id,
        metric="RESPONSE",
        due_at=now - timedelta(minutes=1),
        breached_at=now,
        lead_department_id=lead,
    )
    return new_event("issues", "issues.issue.sla_breached", issue_id, data)
