"""Builds a subgraph's federation schema with Liaison's limits and caches."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Final, Literal

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)

from shared.graphql.scalars import AWARE_DATETIME
from shared.observability.metrics import GraphQLMetrics
from shared.settings import Settings

log = logging.getLogger(__name__)
FEDERATION_VERSION: Final[Literal["2.9"]] = (
    "2.9"  # the newest @theguild/federation-composition accepts
)


def _should_mask(error: GraphQLError) -> bool:
    """Hide unexpected exceptions; keep validation, permission and public errors."""
    from shared.graphql.errors import PublicError

    original = error.original_error
    if original is None or isinstance(original, GraphQLError | PublicError):
        return False
    log.error("unexpected error in %s", error.path, exc_info=original)
    return True


def _extensions(settings: Settings) -> list[Callable[[], SchemaExtension]]:
    """Extension factories: Strawberry builds fresh instances per operation (the parser and
    validation caches live at module level, so they are still shared across requests)."""
    # The depth and alias limits are validation rules. Their rule classes are built once
    # here: the validation cache is keyed by the rule classes, and the fresh classes each
    # new QueryDepthLimiter makes would miss it on every request.
    limits = [
        *QueryDepthLimiter(max_depth=settings.graphql_max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=settings.graphql_max_aliases).validation_rules,
    ]
    extensions: list[Callable[[], SchemaExtension]] = [
        GraphQLMetrics,  # first, so its time covers the others
        lambda: ParserCache(maxsize=512),
        lambda: ValidationCache(maxsize=512),
        lambda: AddValidationRules(limits),
        lambda: MaxTokensLimiter(max_token_count=settings.graphql_max_tokens),
        lambda: MaskErrors(should_mask_error=_should_mask),
    ]
    if not settings.graphiql:
        extensions.append(DisableIntrospection)
    return extensions


def build_schema(
    settings: Settings,
    query: type,
    mutation: type | None = None,
    subscription: type | None = None,
    types: Iterable[type] = (),
) -> strawberry.federation.Schema:
    """A federation v2.9 schema; pass a default ``Settings()`` to print the SDL."""
    kwargs: dict[str, Any] = {"types": list(types)}
    return strawberry.federation.Schema(
        query=query,
        mutation=mutation,
        subscription=subscription,
        extensions=_extensions(settings),
        federation_version=FEDERATION_VERSION,
        scalar_overrides={datetime: AWARE_DATETIME},
        **kwargs,
    )
