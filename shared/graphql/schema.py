"""Builds a subgraph's federation schema with Liaison's limits and caches."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Final, Literal

import strawberry
from graphql import GraphQLError
from graphql.validation import ASTValidationRule
from strawberry.extensions import (
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.types import ExecutionContext

from shared.graphql.entities import guard_entities
from shared.graphql.error_contract import ErrorContract, code_and_log, validation_rules
from shared.graphql.input_text import guard_arguments
from shared.graphql.scalars import SCALAR_OVERRIDES
from shared.observability.metrics import GraphQLMetrics
from shared.settings import Settings

FEDERATION_VERSION: Final[Literal["2.9"]] = (
    "2.9"  # the newest @theguild/federation-composition accepts
)


class LiaisonSchema(strawberry.federation.Schema):
    """A federation schema whose error log follows the error contract."""

    hide_suggestions = True
    """No "Did you mean ...?" in error messages; off only with GraphiQL and introspection."""
    validation_rules: tuple[type[ASTValidationRule], ...] = ()
    """Every rule a document must pass (GraphQL's own and Liaison's limits)."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        code_and_log(errors, hide_suggestions=self.hide_suggestions)


def _rules(settings: Settings) -> tuple[type[ASTValidationRule], ...]:
    # Built once per schema: the validation cache is keyed by the rule classes, and the
    # fresh classes each new limiter makes would miss it on every request.
    return validation_rules(
        QueryDepthLimiter(max_depth=settings.graphql_max_depth).validation_rules,
        MaxAliasesLimiter(max_alias_count=settings.graphql_max_aliases).validation_rules,
    )


def _extensions(
    settings: Settings, rules: tuple[type[ASTValidationRule], ...]
) -> list[Callable[[], SchemaExtension]]:
    """Extension factories: Strawberry builds fresh instances per operation (the parser and
    validation caches live at module level, so they are still shared across requests)."""
    extensions: list[Callable[[], SchemaExtension]] = [
        GraphQLMetrics,  # first, so its time covers the others
        lambda: ErrorContract(rules),  # sets the rules before the caches look them up
        lambda: ParserCache(maxsize=512),
        lambda: ValidationCache(maxsize=512),
        lambda: MaxTokensLimiter(max_token_count=settings.graphql_max_tokens),
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
    rules = _rules(settings)
    schema = LiaisonSchema(
        query=query,
        mutation=mutation,
        subscription=subscription,
        extensions=_extensions(settings, rules),
        federation_version=FEDERATION_VERSION,
        scalar_overrides=SCALAR_OVERRIDES,
        **kwargs,
    )
    schema.hide_suggestions = not settings.graphiql
    schema.validation_rules = rules
    guard_entities(schema._schema)  # before the text guard, which then wraps it
    guard_arguments(schema._schema)
    return schema
