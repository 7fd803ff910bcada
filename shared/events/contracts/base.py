"""Registry of event data models: one pydantic model per event type.

A model may gain optional fields; a breaking change gets a new type or a new ``dataversion``.
"""

from __future__ import annotations

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
