"""Every GraphQL error of a subgraph carries a code from the catalogue (docs/errors.md)."""

from __future__ import annotations

import logging
import re
from typing import Any

import httpx
import pytest
import strawberry

from shared.graphql.error_codes import GATEWAY_ONLY_CODES, ErrorCode
from shared.graphql.schema import build_schema
from shared.settings import REPO_ROOT, Settings
from tests.support import SubgraphClient

PYTHON_WORDS = re.compile(
    r"Traceback|invalid literal|out of range|has no attribute|NoneType|asyncpg"
    r"|\b(Value|Type|Key|Attribute|Index|Runtime|Overflow)Error\b"
)


async def only_error(
    api: SubgraphClient, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    response = await api.post(query, variables)
    assert response.status_code == 200, response.text
    [error] = response.json()["errors"]
    assert not PYTHON_WORDS.search(error["message"]), error["message"]
    return dict(error)


@pytest.mark.parametrize(
    ("query", "variables", "code"),
    [
        ("{ regions { id ", None, "GRAPHQL_PARSE_FAILED"),
        ("{ regions { nope } }", None, "GRAPHQL_VALIDATION_FAILED"),
        ("query($f: Int!) { requests(first: $f) { edges { cursor } } }", {}, "BAD_USER_INPUT"),
        (
            "query($f: Int!) { requests(first: $f) { edges { cursor } } }",
            {"f": "x"},
            "BAD_USER_INPUT",
        ),
        ("{ requests(first: 1000) { edges { cursor } } }", None, "PAGE_SIZE_EXCEEDED"),
        ('{ requests(after: "bm90IGEgY3Vyc29y") { edges { cursor } } }', None, "BAD_USER_INPUT"),
        (
            "query($d: DateTime!) { suggestMeetingSlots(attendeeIds: [], durationMinutes: 30,"
            " from: $d, to: $d) { __typename } }",
            {"d": "yesterday"},
            "BAD_USER_INPUT",
        ),
    ],
)
async def test_client_mistakes_have_their_codes(
    requests_api: SubgraphClient, query: str, variables: dict[str, Any] | None, code: str
) -> None:
    error = await only_error(requests_api, query, variables)
    assert error["extensions"]["code"] == code, error


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("yesterday", 'DateTime cannot be "yesterday": send an ISO 8601 instant'),
        ("0001-01-01T00:00:00Z", "the year must lie between 1900 and 2999"),
        ("9999-12-31T23:59:59-05:00", "the year must lie between 1900 and 2999"),
        ("2026-03-02T09:00", "has no UTC offset"),
    ],
)
async def test_datetime_values_that_no_use_case_can_use_are_bad_input(
    issues_api: SubgraphClient, value: str, words: str
) -> None:
    query = (
        "query($d: DateTime!) { slaReport(from: $d, to: $d, groupBy: DEPARTMENT) { __typename } }"
    )
    error = await only_error(issues_api, query, {"d": value})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert words in error["message"]


async def test_a_literal_that_does_not_parse_is_bad_input_too(issues_api: SubgraphClient) -> None:
    query = (
        '{ slaReport(from: "0001-01-01T00:00:00Z", to: "x", groupBy: DEPARTMENT) { __typename } }'
    )
    response = await issues_api.post(query)
    errors = response.json()["errors"]
    assert {e["extensions"]["code"] for e in errors} == {"BAD_USER_INPUT"}
    assert all(not PYTHON_WORDS.search(e["message"]) for e in errors)


@pytest.mark.parametrize(
    "value", ["NaN", "Infinity", "1e1000000", "0.0000001", "1234567890123456", True]
)
async def test_decimals_out_of_range_are_bad_input(
    requests_api: SubgraphClient, value: object
) -> None:
    from tests.requests.helpers import CREATE, request_input

    goals = [{"metric": "sales", "target": value, "unit": "CNY", "dueDate": "2026-03-31"}]
    error = await only_error(requests_api, CREATE, {"input": request_input(goals=goals)})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "Decimal cannot be" in error["message"]


async def test_limits_have_one_code_each(requests_api: SubgraphClient) -> None:
    settings = requests_api.runtime.settings
    nested = "parent { " * settings.graphql_max_depth + "id" + " }" * settings.graphql_max_depth
    aliases = " ".join(f"a{n}: regions {{ id }}" for n in range(settings.graphql_max_aliases + 1))
    tokens = " ".join("id" for _ in range(settings.graphql_max_tokens))
    for query, code in [
        (f"{{ departments {{ {nested} }} }}", "DEPTH_LIMIT_EXCEEDED"),
        (f"{{ {aliases} }}", "ALIAS_LIMIT_EXCEEDED"),
        (f"{{ regions {{ {tokens} }} }}", "TOKEN_LIMIT_EXCEEDED"),
    ]:
        for _ in range(2):  # the second answer comes from the parser and validation caches
            response = await requests_api.post(query)
            codes = {e.get("extensions", {}).get("code") for e in response.json()["errors"]}
            assert codes == {code}, response.text


@strawberry.type
class _Broken:
    @strawberry.field
    def crash(self) -> int:
        raise RuntimeError("password=hunter2 in a stack frame")

    @strawberry.field
    def items(self, first: int) -> list[int]:
        from shared.graphql.pagination import check_page_size

        check_page_size(first, 10)
        return list(range(first))


async def _post_to(schema: strawberry.federation.Schema, query: str) -> dict[str, Any]:
    from strawberry.asgi import GraphQL

    transport = httpx.ASGITransport(app=GraphQL(schema))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        response = await http.post("/graphql", json={"query": query})
    body: dict[str, Any] = response.json()
    return body


async def test_unexpected_errors_are_masked_and_logged_with_their_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    schema = build_schema(Settings(), _Broken)
    with caplog.at_level(logging.INFO, logger="shared.graphql.errors"):
        body = await _post_to(schema, "{ crash }")
    [error] = body["errors"]
    assert error["message"] == "Unexpected error."
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
    [record] = caplog.records
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None
    assert "hunter2" in str(record.exc_info[1])


async def test_client_mistakes_are_logged_at_info_without_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    schema = build_schema(Settings(), _Broken)
    with caplog.at_level(logging.INFO, logger="shared.graphql.errors"):
        body = await _post_to(schema, "{ items(first: 50) }")
    assert body["errors"][0]["extensions"]["code"] == "PAGE_SIZE_EXCEEDED"
    [record] = caplog.records
    assert (record.levelno, record.exc_info) == (logging.INFO, None)


def test_the_catalogue_page_lists_every_code() -> None:
    page = (REPO_ROOT / "docs" / "errors.md").read_text()
    listed = set(re.findall(r"^\| `([A-Z_]+)` \|", page, re.MULTILINE))
    assert listed >= {code.value for code in ErrorCode} | set(GATEWAY_ONLY_CODES)
