"""Running one operation on both read paths of a subgraph and comparing the answers."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from graphql import GraphQLSchema

from shared.graphql.view import EXECUTION_HEADER
from tests.compiled.operations import Operation, collected
from tests.support import Caller, SubgraphClient


@dataclasses.dataclass
class Paths:
    compiled: SubgraphClient
    python: SubgraphClient
    sample: dict[str, Any]


@asynccontextmanager
async def both_paths(
    service: str, api: SubgraphClient, sample: dict[str, Any]
) -> AsyncIterator[Paths]:
    """``api`` (compiled reads on) and the same subgraph on the same database with them off."""
    settings = api.runtime.settings.model_copy(update={"graphql_compiled": False})
    python_path = dataclasses.replace(api.runtime, settings=settings)
    async with SubgraphClient.open(service, python_path) as python:
        yield Paths(api, python, sample)


def _text(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


async def both(paths: Paths, operation: Operation, caller: Caller) -> bool:
    """Run ``operation`` both ways and compare; whether the compiled path served it."""
    body = {
        "query": operation.query,
        "variables": operation.variables,
        "operationName": operation.operation_name,
    }
    headers = await paths.compiled.headers(caller)
    fast = await paths.compiled.http.post("/graphql", json=body, headers=headers)
    slow = await paths.python.http.post("/graphql", json=body, headers=headers)
    where = f"{operation.origin}: {operation.query[:300]} as {caller.sub}"
    assert fast.status_code == slow.status_code, where
    fast_body, slow_body = fast.json(), slow.json()
    assert fast_body.get("errors") == slow_body.get("errors"), where
    # Key order too (json, not orjson: a payload's number may exceed 64 bits), and byte for
    # byte below where the compiled path answered.
    assert _text(fast_body.get("data")) == _text(slow_body.get("data")), where
    compiled: bool = fast.headers.get(EXECUTION_HEADER) == "compiled"
    if compiled:
        assert fast.content == slow.content, where
    return compiled


async def suite_both_ways(
    paths: Paths, schema: GraphQLSchema, callers: Sequence[Caller]
) -> tuple[list[Operation], set[str]]:
    """Every query of the test suite that ``schema`` validates, run both ways as each of
    ``callers``: the operations, and the documents the compiled path served."""
    operations = collected(schema, paths.sample)
    served = set()
    for operation in operations:
        for caller in callers:
            if await both(paths, operation, caller):
                served.add(operation.query)
    return operations, served
