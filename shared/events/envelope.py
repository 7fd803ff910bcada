"""The CloudEvents envelope every Liaison event travels in.

``data`` is validated against the pydantic model registered for the event ``type`` in
:mod:`shared.events.contracts`, so producers cannot emit an event consumers cannot read;
``dataschema`` names that model's schema in the event catalog (shared/events/catalog.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from shared.events.contracts import data_model_for, data_version_for
from shared.ids import new_id
from shared.settings import Settings

DEFAULT_CATALOG_URL: str = Settings.model_fields["event_catalog_url"].default


def schema_key(type_: str, version: int) -> str:
    """Name of an event type's data schema in the catalog's ``components.schemas``; the
    version is part of it, so a breaking change also changes every ``dataschema``."""
    return f"{type_}.v{version}"


def data_schema_url(catalog_url: str, type_: str, version: int) -> str:
    """Where the data schema of ``type_`` at ``version`` is: a JSON pointer into the catalog."""
    return f"{catalog_url}#/components/schemas/{schema_key(type_, version)}"


class EventEnvelope(BaseModel):
    """One event: CloudEvents 1.0 attributes plus Liaison's routing fields."""

    specversion: str = "1.0"
    id: str = Field(default_factory=new_id, description="UUIDv7; consumers deduplicate on it")
    source: str = Field(description="the emitting service, e.g. 'issues'")
    type: str = Field(description="<service>.<aggregate>.<verb>")
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    subject: str = Field(description="id of the aggregate the event is about")
    datacontenttype: str = "application/json"
    dataversion: int = 1
    dataschema: str | None = Field(
        default=None,
        description="URL of the data schema in the event catalog (unset on events emitted"
        " before the catalog existed)",
    )
    data: dict[str, Any]
    region: str | None = None
    departments: list[str] = Field(default_factory=list)
    traceparent: str | None = Field(
        default=None,
        description="W3C trace context of the change that emitted the event (CloudEvents"
        " distributed-tracing extension); consumers continue that trace",
    )

    def typed_data(self) -> BaseModel:
        """``data`` parsed into its registered model."""
        return data_model_for(self.type).model_validate(self.data)


def new_event(
    source: str,
    type_: str,
    subject: str,
    data: BaseModel,
    *,
    region: str | None = None,
    departments: list[str] | None = None,
    traceparent: str | None = None,
    catalog_url: str = DEFAULT_CATALOG_URL,
) -> EventEnvelope:
    """Build an envelope, checking ``data`` is the model registered for ``type_``; its
    ``dataschema`` points into the catalog served at ``catalog_url``."""
    expected = data_model_for(type_)
    if not isinstance(data, expected):
        raise TypeError(f"event {type_} carries {expected.__name__}, got {type(data).__name__}")
    version = data_version_for(type_)
    return EventEnvelope(
        source=source,
        type=type_,
        subject=subject,
        dataversion=version,
        dataschema=data_schema_url(catalog_url, type_, version),
        data=data.model_dump(mode="json"),
        region=region,
        departments=departments or [],
        traceparent=traceparent,
    )
