"""Depth, alias and token limits hold on every subgraph (they are built once per schema)."""

from __future__ import annotations

from tests.support import SubgraphClient


async def errors_of(api: SubgraphClient, query: str) -> list[str]:
    for _ in range(2):  # the second run is answered from the validation cache
        body = (await api.post(query)).json()
        messages = [e["message"] for e in body.get("errors", [])]
    return messages


async def test_depth_limit(requests_api: SubgraphClient) -> None:
    limit = requests_api.runtime.settings.graphql_max_depth
    nested = "parent { " * limit + "id" + " }" * limit
    messages = await errors_of(requests_api, f"{{ departments {{ {nested} }} }}")
    assert any("exceeds maximum operation depth" in m for m in messages), messages
    assert await errors_of(requests_api, "{ departments { parent { id } } }") == []


async def test_alias_limit(requests_api: SubgraphClient) -> None:
    limit = requests_api.runtime.settings.graphql_max_aliases
    aliases = " ".join(f"a{n}: regions {{ id }}" for n in range(limit + 1))
    messages = await errors_of(requests_api, f"{{ {aliases} }}")
    assert any("aliases" in m for m in messages), messages


async def test_token_limit(requests_api: SubgraphClient) -> None:
    limit = requests_api.runtime.settings.graphql_max_tokens
    fields = " ".join("id" for _ in range(limit))
    messages = await errors_of(requests_api, f"{{ regions {{ {fields} }} }}")
    assert any("token" in m.lower() for m in messages), messages
