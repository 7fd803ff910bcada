"""Liaison's ``DateTime``, ``Date``, ``Time`` and ``Decimal``: strict, bounded, and refused
with a message a person understands.

Strawberry's own scalars accept ``2026-03-02T09:00`` (a naive datetime: 09:00 where?),
let through values no use case can compute with (``0001-01-01T00:00:00Z`` overflows the
moment an offset or a deadline is added; ``1e1000000`` overflows PostgreSQL's ``numeric``;
``NaN`` compares with nothing), and explain a refusal with Python's words (``invalid
literal for int() with base 10``). Every subgraph uses these instead, so such input is
refused where it arrives, as ``BAD_USER_INPUT``, and the use cases never see it.

Instants and dates must lie in years 1900-2999; decimals must be finite, with at most 15
digits before the point and 6 after.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

import dateutil.parser
from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.types.scalar import ScalarDefinition, ScalarWrapper

MIN_YEAR, MAX_YEAR = 1900, 2999
DECIMAL_INTEGER_DIGITS, DECIMAL_FRACTION_DIGITS = 15, 6


def _refuse(type_name: str, value: object, expected: str) -> StrawberryInputCoercionError:
    shown = value if isinstance(value, str | int | float) else type(value).__name__
    return StrawberryInputCoercionError(f'{type_name} cannot be "{shown}": {expected}')


def _check_year(type_name: str, value: object, year: int) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise _refuse(type_name, value, f"the year must lie between {MIN_YEAR} and {MAX_YEAR}")


def _parse_datetime(value: object) -> dt.datetime:
    expected = 'send an ISO 8601 instant with its UTC offset, e.g. "2026-03-02T09:00:00+08:00"'
    if not isinstance(value, str):
        raise _refuse("DateTime", value, expected)
    try:
        parsed = dateutil.parser.isoparse(value)
    except (ValueError, OverflowError):
        raise _refuse("DateTime", value, expected) from None
    if parsed.tzinfo is None:
        raise StrawberryInputCoercionError(
            f'DateTime "{value}" has no UTC offset: add one, e.g. "{value}+08:00" or "{value}Z"'
        )
    _check_year("DateTime", value, parsed.year)
    return parsed


def _parse_date(value: object) -> dt.date:
    expected = 'send an ISO 8601 calendar date, e.g. "2026-03-02"'
    if not isinstance(value, str):
        raise _refuse("Date", value, expected)
    try:
        parsed = dt.date.fromisoformat(value)
    except ValueError:
        raise _refuse("Date", value, expected) from None
    _check_year("Date", value, parsed.year)
    return parsed


def _parse_time(value: object) -> dt.time:
    expected = 'send a local time of day, e.g. "09:00" or "17:30:00"'
    if not isinstance(value, str):
        raise _refuse("Time", value, expected)
    try:
        parsed = dt.time.fromisoformat(value)
    except ValueError:
        raise _refuse("Time", value, expected) from None
    if parsed.tzinfo is not None:
        raise _refuse("Time", value, "a local time has no UTC offset; the region's zone applies")
    return parsed


def _parse_decimal(value: object) -> Decimal:
    expected = (
        f'send a number as a string or a JSON number, e.g. "1500000" or "12.5", with at most'
        f" {DECIMAL_INTEGER_DIGITS} digits before the point and {DECIMAL_FRACTION_DIGITS} after"
    )
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _refuse("Decimal", value, expected)
    try:
        parsed = Decimal(str(value).strip())
    except InvalidOperation:
        raise _refuse("Decimal", value, expected) from None
    if not parsed.is_finite():
        raise _refuse("Decimal", value, expected)
    exponent = parsed.as_tuple().exponent
    assert isinstance(exponent, int)  # finite
    integer_digits = max(parsed.adjusted() + 1, 0)
    if integer_digits > DECIMAL_INTEGER_DIGITS or -exponent > DECIMAL_FRACTION_DIGITS:
        raise _refuse("Decimal", value, expected)
    return parsed


def _isoformat(value: Any) -> str:
    return str(value.isoformat())


def _scalar(
    name: str,
    description: str,
    origin: type,
    parse: Callable[[object], object],
    serialize: Callable[[Any], str] = _isoformat,
) -> ScalarDefinition:
    return ScalarDefinition(
        name=name,
        description=description,
        specified_by_url=None,
        serialize=serialize,
        parse_value=parse,
        parse_literal=None,  # graphql-core turns a literal into a value and calls parse_value
        origin=origin,
    )


SCALAR_OVERRIDES: dict[object, type | ScalarWrapper | ScalarDefinition] = {
    dt.datetime: _scalar(
        "DateTime",
        "An instant, ISO 8601 with its UTC offset (2026-03-02T09:00:00+08:00).",
        dt.datetime,
        _parse_datetime,
    ),
    dt.date: _scalar("Date", "A calendar day, ISO 8601 (2026-03-02).", dt.date, _parse_date),
    dt.time: _scalar(
        "Time", "A local time of day, ISO 8601 without offset (09:00:00).", dt.time, _parse_time
    ),
    Decimal: _scalar(
        "Decimal",
        'A decimal number, sent as a string or a JSON number (1500000, "12.5").',
        Decimal,
        _parse_decimal,
        serialize=str,
    ),
}
