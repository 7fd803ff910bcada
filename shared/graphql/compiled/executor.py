"""Serving a request on the compiled path: the plan cache, the statements, the bytes.

The compiled path never answers worse than the Python one: a document that does not parse,
fails validation or selects a field without SQL is planned as None once (and cached so);
a request whose variables or arguments are refused, whose statement answers NULL (what the
Python path refuses only after reading, such as a cursor naming no row), or whose statement
fails (a server outage included), is answered by Strawberry, whose errors are the contract's.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import OrderedDict
from typing import Any

import orjson
from graphql import GraphQLError, GraphQLSchema, parse, validate
from graphql.execution.values import get_variable_values
from graphql.validation import ASTValidationRule

from shared.auth import Principal
from shared.db import plan_with_values
from shared.graphql.compiled.plan import Plan, plan
from shared.graphql.compiled.render import Renderer
from shared.graphql.compiled.sql import NotServed
from shared.observability.metrics import GRAPHQL_COMPILED, name_operation_span, record_operation
from shared.observability.tracing import tracer
from shared.runtime import ServiceRuntime

log = logging.getLogger(__name__)

PLAN_CACHE_SIZE = 512


class CompiledReads:
    """The compiled path of one subgraph."""

    def __init__(
        self,
        schema: GraphQLSchema,
        rules: tuple[type[ASTValidationRule], ...],
        runtime: ServiceRuntime,
    ) -> None:
        self.schema, self.rules, self.runtime = schema, rules, runtime
        self._plans: OrderedDict[tuple[str, str | None], Plan | None] = OrderedDict()

    def plan_for(self, query: str, operation_name: str | None) -> Plan | None:
        """The document's plan (None: Strawberry serves it), made once per document."""
        key = (query, operation_name)
        if key in self._plans:
            self._plans.move_to_end(key)
            return self._plans[key]
        made = self._plan(query, operation_name)
        self._plans[key] = made
        if len(self._plans) > PLAN_CACHE_SIZE:
            self._plans.popitem(last=False)
        return made

    def _plan(self, query: str, operation_name: str | None) -> Plan | None:
        try:
            document = parse(query, max_tokens=self.runtime.settings.graphql_max_tokens)
        except GraphQLError:
            return None
        if validate(self.schema, document, self.rules):
            return None
        return plan(self.schema, document, operation_name)

    async def answer(self, body: bytes, principal: Principal) -> bytes | None:
        """The response body, or None: the request goes to Strawberry."""
        try:
            request = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(request, dict) or not isinstance(request.get("query"), str):
            return None
        operation_name = request.get("operationName")
        variables = request.get("variables") or {}
        if not isinstance(variables, dict) or not isinstance(operation_name, str | None):
            return None
        found = self.plan_for(request["query"], operation_name)
        if found is None:
            return None
        named = found.operation.name
        name, service = named.value if named else "anonymous", self.runtime.service
        started = time.perf_counter()
        with tracer().start_as_current_span("graphql.operation") as span:
            try:
                data = await self._data(found, variables, principal)
            except NotServed:
                return None
            except Exception:  # an outage or a bug: the Python path answers (and reports it)
                log.warning("compiled read failed; answered by Strawberry", exc_info=True)
                return None
            name_operation_span(span, name, "query")
            span.set_attribute("liaison.compiled", True)
        record_operation(service, name, "query", time.perf_counter() - started, failed=False)
        GRAPHQL_COMPILED.labels(service, name).inc()
        return b'{"data":' + data + b"}"

    async def _data(self, found: Plan, variables: dict[str, Any], principal: Principal) -> bytes:
        coerced = get_variable_values(
            self.schema, found.operation.variable_definitions or (), variables
        )
        if isinstance(coerced, list):
            raise NotServed("variables refused")
        settings = self.runtime.settings
        renderer = Renderer(self.schema, found, coerced, principal, settings.graphql_max_page)
        fields = renderer.root_fields()
        statements = {key: renderer.root(key, details) for key, details in fields.items()}
        parts = []
        async with self.runtime.pool.acquire() as conn, contextlib.AsyncExitStack() as planned:
            if renderer.plans_for_values:
                await planned.enter_async_context(plan_with_values(conn))
            for key, statement in statements.items():
                if isinstance(statement, str):
                    value = statement
                else:
                    sql, params = statement
                    value = await conn.fetchval(sql, *params)
                    if value is None:  # e.g. a log's page after an id it does not hold
                        raise NotServed(f"{key}: the Python path answers with its error")
                    assert isinstance(value, str), f"no JSON for {key}"
                parts.append(f'"{key}":{value}'.encode())
        return b"{" + b",".join(parts) + b"}"
