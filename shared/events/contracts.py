"""Event data contracts: one pydantic model per event type, shared by producers and consumers.

A model may gain optional fields; a breaking change gets a new type or a new ``dataversion``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict

_REGISTRY: dict[str, type[BaseModel]] = {}
M = TypeVar("M", bound=type[BaseModel])


def event_type(name: str) -> Any:
    """Register a model as the ``data`` of event type ``name``."""

    def register(model: M) -> M:
        _REGISTRY[name] = model
        return model

    return register


def data_model_for(type_: str) -> type[BaseModel]:
    """The data model of an event type; unknown types are a programming error."""
    try:
        return _REGISTRY[type_]
    except KeyError:
        raise KeyError(f"unknown event type {type_!r}") from None


def registered_types() -> list[str]:
    """Every event type Liaison emits."""
    return sorted(_REGISTRY)


class EventData(BaseModel):
    """Base of event payloads: unknown fields are kept, so old consumers read new producers."""

    model_config = ConfigDict(extra="allow")


# --- requests -------------------------------------------------------------------------------


@event_type("requests.region.upserted")
class RegionUpserted(EventData):
    id: str
    code: str
    name: str
    time_zone: str
    calendar: dict[str, Any]


@event_type("requests.department.upserted")
class DepartmentUpserted(EventData):
    id: str
    code: str
    name: str
    region_id: str
    parent_id: str | None = None
    head_id: str | None = None


@event_type("requests.person.upserted")
class PersonUpserted(EventData):
    id: str
    name: str
    email: str
    department_id: str
    region_id: str
    time_zone: str
    roles: list[str]


@event_type("requests.request.created")
class RequestCreated(EventData):
    id: str
    code: str
    kind: str
    title: str
    status: str
    lead_department_id: str
    participant_department_ids: list[str]
    created_by: str


# --- tasks ----------------------------------------------------------------------------------


class RaciEntry(EventData):
    role: str
    person_id: str | None = None
    department_id: str | None = None


@event_type("tasks.task.created")
class TaskCreated(EventData):
    id: str
    request_id: str
    title: str
    due_at: datetime | None = None
    raci: list[RaciEntry]
    created_by: str


# --- issues ---------------------------------------------------------------------------------


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


@event_type("issues.issue.sla_breached")
class IssueSlaBreached(EventData):
    issue_id: str
    metric: str
    due_at: datetime
    breached_at: datetime
    lead_department_id: str


# --- notify ---------------------------------------------------------------------------------


@event_type("notify.notification.created")
class NotificationCreated(EventData):
    id: str
    recipient_id: str
    type: str
    source_event_id: str
