"""Text input hygiene: one rule for every string argument of every subgraph."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from services import SERVICE_NAMES
from shared.graphql.errors import Problem
from shared.graphql.input_text import clean_text
from shared.settings import Settings
from tests.requests.helpers import CREATE, LI, load_directory, request_input, snapshot
from tests.support import SubgraphClient, service_module


@pytest.mark.parametrize(
    ("value", "name", "expected"),
    [
        ("  Q4 launch \t", "title", "Q4 launch"),
        (
            "line one\r\nline two\rthree\n\tindented  ",
            "background",
            "line one\nline two\nthree\n\tindented",
        ),
        ("  signing secret ", "secret", "  signing secret "),
    ],
)
def test_clean_text_trims_and_keeps_line_breaks_where_allowed(
    value: str, name: str, expected: str
) -> None:
    assert clean_text(value, name) == expected


@pytest.mark.parametrize(
    ("value", "name", "described"),
    [
        ("a\x00b", "title", "U+0000"),
        ("two\nlines", "title", "U+000A"),
        ("tab\there", "title", "U+0009"),
        ("bell\x07!", "description", "U+0007"),
        ("c1\x85c1", "description", "U+0085"),
        ("del\x7f!", "description", "U+007F"),
        ("half \ud800 pair", "description", "lone surrogate (U+D800)"),
    ],
)
def test_clean_text_refuses_control_characters_and_lone_surrogates(
    value: str, name: str, described: str
) -> None:
    problem = clean_text(value, name)
    assert isinstance(problem, Problem)
    assert problem.code == "INVALID_TEXT"
    assert described in problem.message
    assert f"`{name}`" in problem.message


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_every_mutation_payload_can_carry_only_user_errors(service: str) -> None:
    """The guard answers a refused mutation with its payload, so each must build that way."""
    schema = service_module(service, "schema").create_schema(Settings())._schema
    for name, field in schema.mutation_type.fields.items():
        payload = field.type.of_type if hasattr(field.type, "of_type") else field.type
        assert "userErrors" in payload.fields, f"{service}.{name} has no userErrors"
        origin = payload.extensions["strawberry-definition"].origin
        assert origin(user_errors=[]).user_errors == [], name


async def _create(api: SubgraphClient, body: bytes) -> dict[str, Any]:
    headers = {**await api.headers(LI), "content-type": "application/json"}
    response = await api.http.post("/graphql", content=body, headers=headers)
    assert response.status_code == 200, response.text
    payload: dict[str, Any] = response.json()
    return payload


async def test_nul_byte_in_a_mutation_input_is_a_user_error_and_stores_nothing(
    requests_api: SubgraphClient,
) -> None:
    await load_directory(requests_api)
    before = await snapshot(requests_api)
    goals = request_input()["goals"]
    goals[1] = {**goals[1], "metric": "answer\x00time"}
    variables = {"input": request_input(title="2024\x00新品推广", goals=goals)}
    body = orjson.dumps({"query": CREATE, "variables": variables})
    answer = await _create(requests_api, body)
    payload = answer["data"]["createRequest"]
    assert payload["request"] is None
    assert {(e["field"], e["code"]) for e in payload["userErrors"]} == {
        ("title", "INVALID_TEXT"),
        ("goals.1.metric", "INVALID_TEXT"),
    }
    assert await snapshot(requests_api) == before


async def test_lone_surrogate_sent_as_json_escape_is_refused(requests_api: SubgraphClient) -> None:
    await load_directory(requests_api)
    before = await snapshot(requests_api)
    variables = orjson.dumps({"input": request_input(title="TITLE")}).decode()
    body = orjson.dumps({"query": CREATE}).decode()[:-1] + ',"variables":' + variables + "}"
    answer = await _create(requests_api, body.replace("TITLE", "\\ud800 title").encode())
    errors = answer["data"]["createRequest"]["userErrors"]
    assert [(e["field"], e["code"]) for e in errors] == [("title", "INVALID_TEXT")]
    assert "lone surrogate" in errors[0]["message"]
    assert await snapshot(requests_api) == before


async def test_text_is_trimmed_and_multiline_fields_keep_their_lines(
    requests_api: SubgraphClient,
) -> None:
    await load_directory(requests_api)
    variables = {"input": request_input(title="  Launch  ", background="why:\r\n\t- growth\n")}
    query = CREATE.replace("userErrors", "request { title background } userErrors")
    answer = await _create(requests_api, orjson.dumps({"query": query, "variables": variables}))
    assert answer["data"]["createRequest"]["userErrors"] == []
    created = answer["data"]["createRequest"]["request"]
    assert (created["title"], created["background"]) == ("Launch", "why:\n\t- growth")


async def test_nul_byte_in_an_id_argument_is_bad_user_input(requests_api: SubgraphClient) -> None:
    answer = (await requests_api.post('{ request(id: "r\\u0000") { id } }')).json()
    [error] = answer["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "`id` contains a control character (U+0000)" in error["message"]


async def test_every_service_refuses_bad_text_before_its_use_case_runs(
    tasks_api: SubgraphClient, issues_api: SubgraphClient
) -> None:
    """The rule is the schema's, not a mutation's: tasks and issues refuse as requests does."""
    from tests.issues.helpers import REPORT, issue_input
    from tests.tasks.helpers import CREATE as CREATE_TASK
    from tests.tasks.helpers import RACI, in_days

    task = {"requestId": "req-1", "title": "a\x00b", "dueAt": in_days(3), "raci": RACI}
    issue = issue_input(description="line\x00two", impact="ok\n\tindented")
    for api, query, variables, mutation, field in [
        (tasks_api, CREATE_TASK, {"input": task}, "createTask", "title"),
        (issues_api, REPORT, {"input": issue}, "reportIssue", "description"),
    ]:
        payload = (await api.execute(query, variables, caller=LI))[mutation]
        assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(field, "INVALID_TEXT")]
        assert await api.runtime.pool.fetchval("SELECT count(*) FROM outbox") == 0
