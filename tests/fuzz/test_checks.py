"""The fuzz's rules catch what they should, and let a plain refusal pass."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.fuzz.checks import Answer, Tally, problems
from tests.fuzz.strategies import SURROGATE_MARK, Operation, encode_cursor


def answer(*errors: dict[str, Any], status: int = 200, seconds: float = 0.01) -> Answer:
    return Answer(status, json.dumps({"data": None, "errors": list(errors)}), seconds)


def test_refusals_with_a_code_pass() -> None:
    refused = {"message": "`first` must be between 1 and 100", "extensions": {"code": "X"}}
    assert problems(answer(refused)) == []
    assert problems(Answer(400, "Unable to parse request body as JSON", 0.01)) == []


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        (answer(status=502), "HTTP 502"),
        (answer(seconds=6.0), "slow: 6.0 s"),
        (answer({"message": "x", "extensions": {"code": "DOWNSTREAM_SERVICE_ERROR"}}), "DOWN"),
        (answer({"message": "Unexpected error.", "path": ["requests"]}), "masked at requests"),
        (answer({"message": "year 0 is out of range"}), "Python text 'out of range'"),
        (answer({"message": "x", "extensions": {"exception": "KeyError: 'a'"}}), "KeyError"),
        (Answer(0, "", 0.01, "Traceback ...\nValueError: boom"), "exception: ValueError: boom"),
    ],
)
def test_each_rule_fails_an_answer(bad: Answer, expected: str) -> None:
    assert any(expected in problem for problem in problems(bad)), problems(bad)


def test_a_tally_groups_failures_and_names_known_causes() -> None:
    tally = Tally("target")
    cursor = encode_cursor([1])
    operation = Operation("valid", f'{{ requests(after: "{cursor}") {{ totalCount }} }}')
    masked = answer({"message": "Unexpected error.", "path": ["requests"]})
    tally.record(operation, "pmo", masked)
    tally.record(operation, "member", masked)
    assert [f.count for f in tally.findings.values()] == [2]
    assert "cursor keys of the wrong type" in tally.report()
    assert "2 failed" in tally.summary()


def test_a_lone_surrogate_is_written_into_the_body() -> None:
    body = Operation("variables:surrogate", "query($a: String) { f(a: $a) }", {"a": SURROGATE_MARK})
    assert b'"a": "\\ud800"' in body.body()
