"""Demo data that lives in the tasks and issues services, loaded through the gateway.

Those services keep their own databases, so their demo data is created the way a front end
would: GraphQL mutations through the gateway, as the people of the demo directory. Runs once
per data folder: nothing is added when the Q4 launch already has tasks.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as time_of_day
from typing import Any

import httpx

from services.requests import demo
from shared.auth import issue_token
from shared.settings import Settings

LAUNCH = "Q4 new product national launch"
DUE_TIME = time_of_day(10, 0)
"""Time of day (UTC) the demo tasks are due: whole minutes, as people set deadlines."""
_WAIT_FOR_COPIES_SECONDS = 20.0

FIND = """
query($after: String) {
  requests(filter: {kind: PROJECT, status: ACTIVE}, first: 50, after: $after) {
    edges { node { id title tasks(first: 1) { edges { node { id } } } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
CREATE_TASK = """
mutation($input: CreateTaskInput!) {
  createTask(input: $input) { task { id } userErrors { code message } }
}
"""
REPORT_ISSUE = """
mutation($input: ReportIssueInput!) {
  reportIssue(input: $input) { issue { id } userErrors { code message } }
}
"""


def _token(settings: Settings, person_id: str) -> str:
    return issue_token(settings, person_id)


def launch_tasks(request_id: str, today: date | None = None) -> list[dict[str, Any]]:
    """The launch's tasks, due on whole days at 10:00 UTC, from two weeks after ``today``."""
    start = (today or datetime.now(UTC).date()) + timedelta(days=14)
    due = datetime.combine(start, DUE_TIME, tzinfo=UTC)
    regions = [
        {"role": "I", "departmentId": d} for d in ("sales-east", "sales-south", "sales-west")
    ]
    return [
        {
            "requestId": request_id,
            "title": "Promotional materials",
            "dueAt": due.isoformat(),
            "raci": [
                {"role": "R", "departmentId": "mkt"},
                {"role": "A", "personId": "li-mkt"},
                {"role": "C", "departmentId": "legal"},
                *regions,
            ],
        },
        {
            "requestId": request_id,
            "title": "Product training for regional sales",
            "dueAt": (due + timedelta(days=7)).isoformat(),
            "raci": [
                {"role": "R", "personId": "wang-rd"},
                {"role": "A", "personId": "li-mkt"},
                *regions,
            ],
        },
        {
            "requestId": request_id,
            "title": "Customer feedback collection",
            "dueAt": (due + timedelta(days=30)).isoformat(),
            "raci": [{"role": "R", "personId": "liu-after"}, {"role": "A", "personId": "li-mkt"}],
        },
    ]


_LAGGING = {"REQUEST_NOT_FOUND", "PERSON_NOT_FOUND", "DEPARTMENT_NOT_FOUND"}
"""Refusals that only mean the service's copy of the directory or request lags."""


def _caller_not_copied_yet(body: dict[str, Any]) -> bool:
    """The service has not yet heard of the caller: the directory reaches it by events."""
    errors = body.get("errors") or []
    return any(e.get("extensions", {}).get("code") == "UNAUTHENTICATED" for e in errors)


def _mutate(http: httpx.Client, url: str, token: str, query: str, data: dict[str, Any]) -> None:
    """Run a mutation, waiting while the service has not yet received the request's copy."""
    deadline = time.monotonic() + _WAIT_FOR_COPIES_SECONDS
    while True:
        body = http.post(
            url,
            json={"query": query, "variables": {"input": data}},
            headers={"authorization": f"Bearer {token}"},
        ).json()
        if _caller_not_copied_yet(body):  # the caller's copy of the directory is on its way
            if time.monotonic() > deadline:
                raise RuntimeError(f"demo mutation refused: {body['errors']}")
            time.sleep(0.2)
            continue
        payload = next(iter(body["data"].values()))
        codes = [e["code"] for e in payload["userErrors"]]
        if not codes or not set(codes) <= _LAGGING or time.monotonic() > deadline:
            if codes:
                raise RuntimeError(f"demo mutation refused: {payload['userErrors']}")
            return
        time.sleep(0.2)


def _find_launch(http: httpx.Client, url: str, headers: dict[str, str]) -> dict[str, Any]:
    """The Q4 launch request, however many other requests the database holds."""
    after = None
    while True:
        body = {"query": FIND, "variables": {"after": after}}
        page = http.post(url, json=body, headers=headers).json()["data"]["requests"]
        for edge in page["edges"]:
            if edge["node"]["title"] == LAUNCH:
                found: dict[str, Any] = edge["node"]
                return found
        if not page["pageInfo"]["hasNextPage"]:
            raise RuntimeError(f"the demo request {LAUNCH!r} is missing")
        after = page["pageInfo"]["endCursor"]


def load_gateway_demo(settings: Settings, url: str) -> None:
    """Give the Q4 launch its tasks (with RACI) and one reported issue."""
    with httpx.Client(timeout=10) as http:
        pmo = {"authorization": f"Bearer {_token(settings, demo.DEMO_PERSON)}"}
        launch = _find_launch(http, url, pmo)
        if launch["tasks"] and launch["tasks"]["edges"]:  # given its tasks on an earlier run
            return
        lead = _token(settings, "li-mkt")
        for task in launch_tasks(launch["id"]):
            _mutate(http, url, lead, CREATE_TASK, task)
        issue = {
            "requestId": launch["id"],
            "title": "Sample stock short in East China",
            "description": "Only 60% of the promotional samples reached the East China branch.",
            "impact": "Store launches in Shanghai and Hangzhou may slip a week.",
            "severity": "HIGH",
            "attemptedMeasures": "Asked the Suzhou warehouse to re-allocate stock.",
        }
        _mutate(http, url, _token(settings, "gao-east"), REPORT_ISSUE, issue)
