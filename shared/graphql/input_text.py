"""One rule for every piece of text a client sends: arguments, input fields, IDs.

PostgreSQL cannot store a NUL byte, a lone surrogate cannot be encoded at all, and other
control characters make text that looks the same compare different. So before any resolver
runs, every string in a field's arguments is checked:

* control characters (C0, DEL, C1), including NUL, and lone surrogates are refused; tab and
  newline are allowed in the multi-line fields named in :data:`MULTILINE_FIELDS`, where a
  carriage return (Windows line ends) becomes a newline;
* leading and trailing whitespace (tabs and line ends included) is trimmed first, except in
  :data:`VERBATIM_FIELDS`.

A mutation whose payload has ``userErrors`` answers with one ``INVALID_TEXT`` error per bad
string, naming the input path (``goals.0.metric``), and nothing runs; any other field
answers with a ``BAD_USER_INPUT`` GraphQL error naming the argument.

:func:`guard_arguments` installs the check on every field of a built schema that takes
arguments, so no resolver can forget it and fields without arguments pay nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from graphql import (
    GraphQLField,
    GraphQLObjectType,
    GraphQLSchema,
    default_field_resolver,
    get_named_type,
)

from shared.graphql.error_codes import ErrorCode
from shared.graphql.errors import Problem, PublicError, UserError

INVALID_TEXT = "INVALID_TEXT"

# Input fields (GraphQL names) that hold prose: several lines, maybe tab-indented.
MULTILINE_FIELDS = frozenset(
    {
        "attemptedMeasures",
        "background",
        "body",
        "comment",
        "decisions",
        "delayReason",
        "description",
        "duties",
        "evaluationCriteria",
        "impact",
        "mitigation",
        "plan",
        "reason",
        "resolution",
        "summary",
        "support",
    }
)
# Values used exactly as sent: a chat robot's signing secret may end in a space.
VERBATIM_FIELDS = frozenset({"secret"})

_SINGLE_LINE_BAD = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_MULTILINE_BAD = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")  # keeps \t, \n
_LINE_ENDS = re.compile(r"\r\n?")


def _describe(char: str) -> str:
    if "\ud800" <= char <= "\udfff":
        return f"a lone surrogate (U+{ord(char):04X})"
    return f"a control character (U+{ord(char):04X})"


def clean_text(value: str, name: str) -> str | Problem:
    """``value`` trimmed (unless verbatim), or the problem with it; ``name`` is the GraphQL
    name of the field or argument it was sent in."""
    multiline = name in MULTILINE_FIELDS
    if multiline:
        value = _LINE_ENDS.sub("\n", value)
    if name not in VERBATIM_FIELDS:
        value = value.strip()  # first: a title pasted with its line end is still a title
    bad = (_MULTILINE_BAD if multiline else _SINGLE_LINE_BAD).search(value)
    if bad is not None:
        allowed = " (tab and newline are allowed here)" if multiline else ""
        return Problem(
            INVALID_TEXT,
            f"`{name}` contains {_describe(bad.group())} at position {bad.start()}{allowed}",
        )
    return value


def clean_value(value: Any, name: str, path: str, problems: list[Problem]) -> Any:
    """``value`` with every string in it cleaned; problems are appended with their path."""
    if type(value) is str:  # not a str-valued enum member, which must stay itself
        cleaned = clean_text(value, name)
        if isinstance(cleaned, Problem):
            problems.append(Problem(cleaned.code, cleaned.message, path))
            return value
        return cleaned
    if isinstance(value, dict):
        return {
            key: clean_value(item, key, _join(path, key), problems) for key, item in value.items()
        }
    if isinstance(value, list):
        return [
            clean_value(item, name, _join(path, str(i)), problems) for i, item in enumerate(value)
        ]
    return value


def _join(path: str, part: str) -> str:
    return f"{path}.{part}" if path else part


def clean_arguments(args: dict[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    """Cleaned arguments; a mutation's single ``input`` is left out of the paths, as the
    use cases' own userErrors name fields (``goals.0.unit``)."""
    problems: list[Problem] = []
    cleaned = {
        name: clean_value(value, name, "" if name == "input" else name, problems)
        for name, value in args.items()
    }
    return cleaned, problems


Resolver = Callable[..., Any]


def _payload_with_errors(field: GraphQLField) -> Callable[[list[UserError]], Any] | None:
    """How to build ``field``'s payload holding only ``userErrors``, if it has them."""
    payload = get_named_type(field.type)
    if not isinstance(payload, GraphQLObjectType) or "userErrors" not in payload.fields:
        return None
    origin = payload.extensions["strawberry-definition"].origin
    return lambda errors: origin(user_errors=errors)


def _guarded(resolve: Resolver, field: GraphQLField) -> Resolver:
    refuse_in_payload = _payload_with_errors(field)

    def guarded(source: Any, info: Any, **args: Any) -> Any:
        cleaned, problems = clean_arguments(args)
        if not problems:
            return resolve(source, info, **cleaned)
        if refuse_in_payload is not None:
            return refuse_in_payload(
                [UserError(field=p.field, message=p.message, code=p.code) for p in problems]
            )
        raise PublicError(problems[0].message, ErrorCode.BAD_USER_INPUT)

    return guarded


def guard_arguments(schema: GraphQLSchema) -> None:
    """Check the text of every argument of every field of ``schema`` (see the module doc)."""
    for named in schema.type_map.values():
        if not isinstance(named, GraphQLObjectType) or named.name.startswith("__"):
            continue
        for field in named.fields.values():
            if not field.args:
                continue
            field.resolve = _guarded(field.resolve or default_field_resolver, field)
            if field.subscribe is not None:
                field.subscribe = _guarded(field.subscribe, field)
