"""Every GraphQL error a subgraph returns gets an ``extensions.code`` from the catalogue.

Errors are coded where they arise: a limit rule codes its own reports, the other
validation failures are coded as validation ends, a resolver's
:class:`~shared.graphql.errors.PublicError` carries its code, and :func:`classify` codes the
rest as the operation ends (a syntax error, or a variable that did not coerce, which
graphql-core reports before resolving anything, without a path). What is left is
unexpected: it is masked as ``Unexpected error.`` with ``INTERNAL_SERVER_ERROR`` and logged
with its traceback. A client's mistake is logged at INFO, without a traceback.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from typing import Any

from graphql import ASTValidationRule, GraphQLError, GraphQLSyntaxError, ValidationContext
from graphql.validation import ValuesOfCorrectTypeRule, specified_rules
from strawberry.extensions import MaskErrors

from shared.graphql.error_codes import ErrorCode
from shared.graphql.errors import PublicError
from shared.resilience import DATABASE_OUTAGES, REDIS_OUTAGES

log = logging.getLogger("shared.graphql.errors")

MASKED_MESSAGE = "Unexpected error."
UNAVAILABLE_MESSAGE = "The service cannot reach its database or Redis just now; retry shortly."
# graphql-core's wording when the parser stops at the token limit (graphql-core is pinned).
_TOKEN_LIMIT_WORDS = "tokens. Parsing aborted."
# graphql-core's suggestions end a message: " Did you mean 'a', 'b', or 'c'?" (also "the
# enum value 'X'"), in validation and in coercing variables alike.
_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?$")


def code_of(error: GraphQLError) -> str | None:
    """The error's ``extensions.code``, if it has one."""
    code = (error.extensions or {}).get("code")
    return code if isinstance(code, str) else None


def _set_code(error: GraphQLError, code: ErrorCode) -> None:
    if code_of(error) is None:
        error.extensions = {**(error.extensions or {}), "code": code.value}


def is_outage(error: GraphQLError) -> bool:
    """The resolver failed because PostgreSQL or Redis is away (restart, failover)."""
    return isinstance(error.original_error, DATABASE_OUTAGES + REDIS_OUTAGES)


def is_unexpected(error: GraphQLError) -> bool:
    """A fault of ours rather than of the request: an exception that is neither a GraphQL
    error nor a public one (graphql-core wraps a scalar's refusal in a GraphQL error), or an
    uncoded error while resolving (a null in a non-null field, an unknown enum value)."""
    original = error.original_error
    if original is not None and not isinstance(original, GraphQLError | PublicError):
        return True
    return error.path is not None and code_of(error) is None


class _CodingContext:
    """A validation context whose reports carry ``code``; everything else is delegated."""

    def __init__(self, context: ValidationContext, code: ErrorCode) -> None:
        self._context = context
        self._code = code

    def report_error(self, error: GraphQLError) -> None:
        _set_code(error, self._code)
        self._context.report_error(error)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)


def coded_rule(rule: type[ASTValidationRule], code: ErrorCode) -> type[ASTValidationRule]:
    """``rule``, with ``code`` on every error it reports."""

    class CodedRule(rule):  # type: ignore[misc, valid-type]
        def __init__(self, context: ValidationContext) -> None:
            coding = _CodingContext(context, code)
            try:
                super().__init__(coding)
            except (KeyError, ValueError):
                # Strawberry's limit rules measure the document when they are built: a spread
                # of an unknown fragment (KeyError) or a document without an operation
                # (max() of nothing) breaks them; GraphQL's own rules report both.
                ASTValidationRule.__init__(self, coding)  # type: ignore[arg-type]

    CodedRule.__name__ = f"Coded{rule.__name__}"
    return CodedRule


def validation_rules(
    depth_rules: Iterable[type[ASTValidationRule]],
    alias_rules: Iterable[type[ASTValidationRule]],
) -> tuple[type[ASTValidationRule], ...]:
    """GraphQL's rules plus the limits, coded. A literal that does not parse as its type
    (``"yesterday"`` for a ``DateTime``) is bad input, as the same value in a variable is."""
    standard = (
        coded_rule(rule, ErrorCode.BAD_USER_INPUT) if rule is ValuesOfCorrectTypeRule else rule
        for rule in specified_rules
    )
    return (
        *standard,
        *(coded_rule(rule, ErrorCode.DEPTH_LIMIT_EXCEEDED) for rule in depth_rules),
        *(coded_rule(rule, ErrorCode.ALIAS_LIMIT_EXCEEDED) for rule in alias_rules),
    )


def _parse_code(error: GraphQLError) -> ErrorCode:
    if _TOKEN_LIMIT_WORDS in error.message:
        return ErrorCode.TOKEN_LIMIT_EXCEEDED
    return ErrorCode.GRAPHQL_PARSE_FAILED


def classify(error: GraphQLError) -> str:
    """The code ``error`` has, or gets: validation errors are coded as validation ends, so
    an uncoded error without a path is a syntax error or a variable that did not coerce."""
    code = code_of(error)
    if code is not None:
        return code
    if isinstance(error, GraphQLSyntaxError):
        return _parse_code(error)
    if is_unexpected(error):
        return ErrorCode.INTERNAL_SERVER_ERROR
    return ErrorCode.BAD_USER_INPUT


def _apply_code(error: GraphQLError) -> str:
    code = classify(error)
    error.extensions = {**(error.extensions or {}), "code": code}
    return code


class ErrorContract(MaskErrors):
    """Codes every error (see the module docstring) and masks the unexpected ones."""

    def __init__(self, rules: tuple[type[ASTValidationRule], ...]) -> None:
        super().__init__(should_mask_error=is_unexpected, error_message=MASKED_MESSAGE)
        self._rules = rules

    def on_operation(self) -> Iterator[None]:
        self.execution_context.validation_rules = self._rules
        yield from super().on_operation()

    def on_validate(self) -> Iterator[None]:
        yield
        for error in self.execution_context.pre_execution_errors or ():
            _set_code(error, ErrorCode.GRAPHQL_VALIDATION_FAILED)

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        for error in errors:
            if not is_unexpected(error):
                _apply_code(error)
        return super()._process_errors(errors)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        if is_outage(error):
            masked.message = UNAVAILABLE_MESSAGE
            masked.extensions = {"code": ErrorCode.SERVICE_UNAVAILABLE.value}
        else:
            masked.extensions = {"code": ErrorCode.INTERNAL_SERVER_ERROR.value}
        return masked


def hide_suggestion(error: GraphQLError) -> None:
    """Drop graphql-core's "Did you mean ...?" from ``error``: the names it suggests are the
    schema, which a client may not read while introspection is off."""
    error.message = _SUGGESTION.sub("", error.message)


def code_and_log(errors: Iterable[GraphQLError], *, hide_suggestions: bool = True) -> None:
    """Code the client's mistakes and log them at INFO; log unexpected errors at ERROR with
    their traceback (the extension masks them). Runs on every path, also for a syntax error
    that the parser cache raises before the extension's hooks can see it, so it is also the
    one place where suggestions are dropped (``hide_suggestions``: introspection is off)."""
    for error in errors:
        if hide_suggestions:
            hide_suggestion(error)
        if is_outage(error):
            original = error.original_error
            log.warning("unavailable in %s: %s: %s", error.path, type(original).__name__, original)
        elif is_unexpected(error):
            log.error("unexpected error in %s", error.path, exc_info=error.original_error or error)
        else:
            code = _apply_code(error)
            log.info("refused (%s): %s", code, error.message)
