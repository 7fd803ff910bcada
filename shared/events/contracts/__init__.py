"""Event data contracts: one pydantic model per event type, shared by producers and consumers.

Each service's events live in the module named after it; a model may gain optional fields,
a breaking change gets a new type or a new ``dataversion``.
"""

from shared.events.contracts import issues, notify, requests, search, tasks, work
from shared.events.contracts.base import (
    EventData,
    data_model_for,
    data_version_for,
    event_type,
    internal_types,
    registered_types,
)

__all__ = [
    "EventData",
    "data_model_for",
    "data_version_for",
    "event_type",
    "internal_types",
    "issues",
    "notify",
    "registered_types",
    "requests",
    "search",
    "tasks",
    "work",
]
