"""The catalogue of ``extensions.code`` values a client can find on a GraphQL error.

Every error a subgraph returns carries one of these codes (``docs/errors.md`` explains each
to client developers; a test keeps that page and this enum in step). Domain refusals are not
GraphQL errors: they are a mutation payload's ``userErrors``, with codes of their own.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """A stable, machine-readable reason for a GraphQL error."""

    UNAUTHENTICATED = "UNAUTHENTICATED"
    """No valid token: missing, malformed, badly signed or expired."""
    FORBIDDEN = "FORBIDDEN"
    """The caller is known but may not use this field."""
    NOT_FOUND = "NOT_FOUND"
    """The thing named by an argument does not exist, or the caller may not see it."""
    BAD_USER_INPUT = "BAD_USER_INPUT"
    """An argument or variable does not parse or is out of range (a date, a cursor, text)."""
    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
    """The document is not GraphQL."""
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    """The document does not fit the schema (unknown field, missing argument, ...)."""
    DEPTH_LIMIT_EXCEEDED = "DEPTH_LIMIT_EXCEEDED"
    """The operation nests deeper than the limit."""
    ALIAS_LIMIT_EXCEEDED = "ALIAS_LIMIT_EXCEEDED"
    """The operation uses more aliases than the limit."""
    TOKEN_LIMIT_EXCEEDED = "TOKEN_LIMIT_EXCEEDED"
    """The document has more tokens than the limit."""
    PAGE_SIZE_EXCEEDED = "PAGE_SIZE_EXCEEDED"
    """``first`` is outside 1 .. the page limit."""
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    """The request body is larger than ``LIAISON_MAX_BODY_BYTES`` (HTTP 413); nothing ran."""
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    """A POST whose body is not JSON (form, multipart, plain text; HTTP 415); nothing ran."""
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    """The service's database or Redis is not answering (a restart, a failover); retry."""
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"
    """Something unexpected failed; details are in the server's log, not in the answer."""


# Codes the gateway adds; a subgraph never sends them, but clients meet them.
GATEWAY_ONLY_CODES = (
    "DOWNSTREAM_SERVICE_ERROR",
    "BAD_REQUEST",
    "COST_LIMIT_EXCEEDED",
    "RATE_LIMITED",
    "CSRF_HEADER_MISSING",
    "PERSISTED_QUERY_NOT_FOUND",
)
