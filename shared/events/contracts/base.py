"""Registry of event data models: one pydantic model per event type, with its version.

A model may gain optional fields; a breaking change gets a new type or a new ``dataversion``
(``@event_type(name, version=2)``): the compatibility test (shared/events/compat.py) holds
every type to that against the last release's catalog.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict

_REGISTRY: dict[str, type[BaseModel]] = {}
_VERSIONS: dict[str, int] = {}
_INTERNAL: set[str] = set()
M = TypeVar("M", bound=type[BaseModel])


def event_type(name: str, version: int = 1, *, internal: bool = False) -> Any:
    """Register a model as the ``data`` of event type ``name``, at data ``version``.

    An ``internal`` type feeds Liaison's own read models (:mod:`shared.projections`): it is
    not in the partners' catalog, the event log, webhooks or subscriptions."""

    def register(model: M) -> M:
        _REGISTRY[name] = model
        _VERSIONS[name] = version
        if internal:
            _INTERNAL.add(name)
        return model

    return register


def data_model_for(type_: str) -> type[BaseModel]:
    """The data model of an event type; unknown types are a programming error."""
    try:
        return _REGISTRY[type_]
    except KeyError:
        raise KeyError(f"unknown event type {type_!r}") from None


def data_version_for(type_: str) -> int:
    """The version of an event type's data schema (its envelope's ``dataversion``)."""
    data_model_for(type_)  # unknown types are refused alike
    return _VERSIONS.get(type_, 1)


def registered_types() -> list[str]:
    """Every event type Liaison emits for others to see (internal types left out)."""
    return sorted(set(_REGISTRY) - _INTERNAL)


def internal_types() -> list[str]:
    """The event types only Liaison's own read models consume."""
    return sorted(_INTERNAL)


class EventData(BaseModel):
    """Base of event payloads: unknown fields are kept, so old consumers read new producers.

    A field's docstring is its description in the event catalog.
    """

    model_config = ConfigDict(extra="allow", use_attribute_docstrings=True)
