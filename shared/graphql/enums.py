"""GraphQL enums of domain enums, with a description for each value.

The domain's enums are plain ``StrEnum`` classes (``models.py``), which cannot hold
``strawberry.enum_value(...)`` members; :func:`described_enum` registers one with Strawberry
and gives each of its values its description in the schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import TypeVar

import strawberry
from strawberry.types.enum import StrawberryEnumDefinition

E = TypeVar("E", bound=type[StrEnum])


def described_enum(cls: E, description: str, values: Mapping[str, str]) -> E:
    """Register ``cls`` as a GraphQL enum; ``values`` describes every member, by name."""
    missing = {member.name for member in cls} ^ set(values)
    assert not missing, f"{cls.__name__}: values described and members differ: {missing}"
    strawberry.enum(cls, description=description)
    definition: StrawberryEnumDefinition = cls.__strawberry_definition__  # type: ignore[attr-defined]
    for value in definition.values:
        value.description = values[value.name]
    return cls
