"""Domain refusals as GraphQL ``userErrors``, and errors safe to show to clients.

Use cases raise :class:`DomainError`; mutations turn it into a payload's ``userErrors`` with
:func:`run_mutation`, so a refusal is never a 500 and never a silent success.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import strawberry

from shared.graphql.error_codes import ErrorCode


# Shareable: every subgraph returns the same UserError type.
@strawberry.federation.type(shareable=True, description="Why a mutation was refused.")
class UserError:
    field: str | None = strawberry.field(
        description="Path of the input field at fault (e.g. `goals.0.unit`), or null."
    )
    message: str = strawberry.field(description="Human-readable explanation.")
    code: str = strawberry.field(description="Stable machine-readable reason, e.g. `NOT_FOUND`.")


@dataclass(frozen=True)
class Problem:
    code: str
    message: str
    field: str | None = None


class DomainError(Exception):
    """A use case refused the command; nothing was changed."""

    def __init__(self, *problems: Problem) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems

    @classmethod
    def single(cls, code: str, message: str, field: str | None = None) -> DomainError:
        return cls(Problem(code, message, field))

    def user_errors(self) -> list[UserError]:
        return [UserError(field=p.field, message=p.message, code=p.code) for p in self.problems]


class Problems:
    """Collects validation problems so one response reports all of them."""

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(self, code: str, message: str, field: str | None = None) -> None:
        self.items.append(Problem(code, message, field))

    def raise_if_any(self) -> None:
        if self.items:
            raise DomainError(*self.items)


class PublicError(Exception):
    """An error whose message clients may see (bad arguments, not visible, ...), with its
    ``extensions.code`` from the catalogue (graphql-core copies ``extensions`` onto the
    GraphQL error it makes of this exception)."""

    def __init__(self, message: str, code: ErrorCode = ErrorCode.BAD_USER_INPUT) -> None:
        super().__init__(message)
        self.code = code
        self.extensions: dict[str, object] = {"code": code.value}


P = TypeVar("P")


async def run_mutation(
    payload: Callable[..., P],
    result_field: str,
    action: Awaitable[Any],
    present: Callable[[Any], Any] | None = None,
) -> P:
    """Await a use case; wrap its result (through ``present``) or its refusal in ``payload``."""
    try:
        value = await action
    except DomainError as exc:
        return payload(user_errors=exc.user_errors())
    if present is not None:
        value = present(value)
    return payload(**{result_field: value, "user_errors": []})
