"""Events emitted by the requests service."""

from __future__ import annotations

from typing import Any

from shared.events.contracts.base import EventData, event_type


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
