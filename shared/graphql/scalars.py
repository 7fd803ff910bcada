"""Liaison's ``DateTime``: an ISO 8601 instant that must say its UTC offset.

Strawberry's own ``DateTime`` accepts ``2026-03-02T09:00`` and hands Python a naive
datetime. Across regions that time means nothing (09:00 where?), and comparing it with an
aware one raises deep inside a use case. Every subgraph uses this scalar instead, so such
input is refused where it arrives, with a message saying what to send.
"""

from __future__ import annotations

import datetime as dt

import dateutil.parser
from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.types.scalar import ScalarDefinition


def _parse(value: object) -> dt.datetime:
    if not isinstance(value, str):
        raise StrawberryInputCoercionError(
            f'Value cannot represent a DateTime: "{value}". Expected a string.'
        )
    try:
        parsed = dateutil.parser.isoparse(value)
    except ValueError as exc:
        raise StrawberryInputCoercionError(
            f'Value cannot represent a DateTime: "{value}". {exc}'
        ) from None
    if parsed.tzinfo is None:
        raise StrawberryInputCoercionError(
            f'DateTime "{value}" has no UTC offset: add one, e.g. "{value}+08:00" or "{value}Z"'
        )
    return parsed


def _serialize(value: dt.datetime) -> str:
    return value.isoformat()


AWARE_DATETIME = ScalarDefinition(
    name="DateTime",
    description="An instant, ISO 8601 with its UTC offset (2026-03-02T09:00:00+08:00).",
    specified_by_url=None,
    serialize=_serialize,
    parse_value=_parse,
    parse_literal=None,
    origin=dt.datetime,
)
