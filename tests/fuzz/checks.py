"""What every answer of the fuzz must keep to, and the tally of what was sent.

An answer fails when it is an HTTP 5xx, slower than :data:`SLOW_SECONDS`, or has an error
that is ``INTERNAL_SERVER_ERROR`` or (through the gateway) ``DOWNSTREAM_SERVICE_ERROR``, is
the masked ``Unexpected error.``, or shows Python exception text. Failures are grouped by a
signature (the problem with its quoted values and numbers blanked), and each group keeps its
first operation, token and answer, so a report is short and every line can be replayed.
"""

from __future__ import annotations

import base64
import json
import re
import time
import traceback
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.fuzz.strategies import Operation

SLOW_SECONDS = 5.0
BAD_CODES = {"INTERNAL_SERVER_ERROR", "DOWNSTREAM_SERVICE_ERROR"}
MASKED = "Unexpected error."
PYTHON_TEXT = re.compile(
    r"Traceback|invalid literal for|object has no attribute|NoneType|asyncpg|KeyError"
    r"|ValueError|TypeError|IndexError|AttributeError|RecursionError|out of range"
    r"|unexpected keyword|positional argument|not subscriptable|not iterable|unhashable"
    r"|unsupported operand|codec can't|<class '|decimal\.|JSONDecodeError|Expecting value"
    r"|violates .* constraint|syntax error at or near|division by zero|maximum recursion"
)


@dataclass(frozen=True)
class Answer:
    status: int
    text: str
    seconds: float
    exception: str | None = None
    """The traceback when the call raised (an exception out of the ASGI app, a timeout)."""


async def post(
    http: httpx.AsyncClient, url: str, headers: Mapping[str, str], operation: Operation
) -> Answer:
    """Send one operation and time the answer."""
    start = time.perf_counter()
    try:
        response = await http.post(
            url,
            content=operation.body(),
            headers={**headers, "content-type": "application/json"},
            timeout=30,
        )
    except Exception as exc:
        return Answer(0, "", time.perf_counter() - start, "".join(traceback.format_exception(exc)))
    return Answer(response.status_code, response.text, time.perf_counter() - start)


def _errors(text: str) -> list[dict[str, Any]]:
    try:
        body = json.loads(text)
    except ValueError:
        return []
    bodies = body if isinstance(body, list) else [body]
    return [
        error
        for item in bodies
        if isinstance(item, dict) and isinstance(item.get("errors"), list)
        for error in item["errors"]
        if isinstance(error, dict)
    ]


def problems(answer: Answer) -> list[str]:
    """Why the answer fails the rules (empty: it passes)."""
    found = []
    if answer.exception is not None:
        found.append(f"exception: {answer.exception.strip().splitlines()[-1]}")
    if answer.status >= 500:
        found.append(f"HTTP {answer.status}")
    if answer.seconds >= SLOW_SECONDS:
        found.append(f"slow: {answer.seconds:.1f} s")
    for error in _errors(answer.text):
        message = str(error.get("message"))
        extensions = error.get("extensions")
        code = extensions.get("code") if isinstance(extensions, dict) else None
        path = error.get("path")
        named = [str(p) for p in path if isinstance(p, str)] if isinstance(path, list) else []
        where = f" at {'.'.join(named)}" if named else ""  # list indexes left out
        if code in BAD_CODES:
            found.append(f"{code}{where}: {message}")
        elif message == MASKED:
            found.append(f"masked{where}: {message}")
        leak = PYTHON_TEXT.search(message + json.dumps(extensions))
        if leak:
            found.append(f"Python text {leak.group()!r}{where}: {message}")
    return found


def codeless(answer: Answer) -> list[str]:
    """The messages of the answer's errors that have no ``extensions.code``."""
    return [
        str(error.get("message"))
        for error in _errors(answer.text)
        if not isinstance(error.get("extensions"), dict) or "code" not in error["extensions"]
    ]


def signature(problem: str) -> str:
    blanked = re.sub(r'"(?:[^"\\]|\\.)*"', '"…"', problem)
    return re.sub(r"\d+(\.\d+)?", "0", blanked)[:200]


CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]|\\u00[01][0-9a-fA-F]")


def known_cause(problem: str, operation: Operation) -> str | None:
    """Failure classes whose fix belongs in shared/graphql (named in the report)."""
    body = operation.body().decode(errors="replace")
    if "surrogates not allowed" in problem:
        return "an echoed lone surrogate that orjson cannot encode (view.py)"
    if operation.kind == "body" and problem.startswith("exception"):
        return "request bodies that are no JSON object (view.py)"
    if MASKED not in problem:
        if re.search(r"out of range|invalid literal for int", problem) and "Date" in problem:
            return "DateTime/Date edge value"
        return None
    if "_entities" in body:
        return "_entities representations are not checked (schema.py)"
    if any(_odd_cursor(text) for text in re.findall(r"[A-Za-z0-9_-]{4,}={0,2}", body)):
        return "cursor keys of the wrong type or with NUL (pagination.py)"
    if CONTROL.search(body) or "\\ud800" in body:
        return "NUL/control/surrogate text reaching PostgreSQL"
    return None


def _odd_cursor(text: str) -> bool:
    """``text`` decodes like a cursor, to a key that is not all NUL-free strings."""
    try:
        key = json.loads(base64.urlsafe_b64decode(text))
    except ValueError:
        return False
    return isinstance(key, list) and not all(isinstance(k, str) and "\x00" not in k for k in key)


@dataclass
class Finding:
    problem: str
    operation: Operation
    token: str
    answer: Answer
    count: int = 1

    def report(self) -> str:
        cause = known_cause(self.problem, self.operation)
        answer = self.answer.text
        if self.answer.exception is not None:  # its end says where it was raised
            answer = self.answer.exception[-3000:]
        lines = [
            f"{self.problem}  ({self.count}x)" + (f"  [shared/graphql: {cause}]" if cause else ""),
            f"  token: {self.token}   kind: {self.operation.kind}   "
            f"status: {self.answer.status}   {self.answer.seconds:.2f} s",
            f"  body: {_clip(self.operation.body().decode(errors='replace'), 3000)}",
            f"  answer: {_clip(answer, 2000)}",
        ]
        return "\n".join(lines)


def _clip(text: str, size: int) -> str:
    return text if len(text) <= size else f"{text[:size]}… ({len(text)} characters)"


@dataclass
class Tally:
    """What one target was sent, and the distinct failures of its answers."""

    target: str
    seed: str = "fixed"
    sent: Counter[str] = field(default_factory=Counter)
    by_token: Counter[str] = field(default_factory=Counter)
    errors_without_code: int = 0
    codeless_example: str = ""
    without_errors: int = 0
    failed: int = 0
    answer_seconds: float = 0.0
    findings: dict[str, Finding] = field(default_factory=dict)

    def record(self, operation: Operation, token: str, answer: Answer) -> None:
        self.sent[operation.kind.split(":")[0]] += 1
        self.by_token[token] += 1
        self.answer_seconds += answer.seconds
        messages = codeless(answer)
        self.errors_without_code += len(messages)
        self.codeless_example = self.codeless_example or (messages[0][:80] if messages else "")
        self.without_errors += answer.status == 200 and not _errors(answer.text)
        found = problems(answer)
        self.failed += bool(found)
        for problem in found:
            key = signature(problem)
            if key in self.findings:
                self.findings[key].count += 1
            else:
                self.findings[key] = Finding(problem, operation, token, answer)

    def summary(self) -> str:
        total = sum(self.sent.values())
        kinds = ", ".join(f"{kind} {n}" for kind, n in self.sent.most_common())
        tokens = ", ".join(f"{token} {n}" for token, n in sorted(self.by_token.items()))
        return (
            f"fuzz {self.target} (seed {self.seed}): {total} operations ({kinds}; {tokens}); "
            f"{self.without_errors} answers without errors, {self.failed} failed, "
            f"{len(self.findings)} distinct failures; "
            f"{self.errors_without_code} errors without extensions.code"
            + (f" (e.g. {self.codeless_example!r}); " if self.codeless_example else "; ")
            + f"{self.answer_seconds:.1f} s waiting for answers"
        )

    def report(self) -> str:
        return "\n\n".join([self.summary(), *(f.report() for f in self.findings.values())])
