"""Secondments: requested by the borrower, approved by both heads, reminded before the end."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from typing import Any

import pytest

from services.requests.secondments import service
from services.requests.secondments.models import SecondmentDecision
from services.requests.worker import TIMER_HANDLERS
from shared.auth import Principal, Role
from shared.timer_firing import sweep
from tests.requests.helpers import ANNA, CHEN, LI, PMO, WANG, ZHAO, outbox
from tests.support import Caller, SubgraphClient

FIELDS = """
secondment { id status startsOn endsOn duties evaluationCriteria support
             person { id } fromDepartment { id } toDepartment { id }
             approvals { decision department { id } approver { id } } }
userErrors { field code message }
"""
REQUEST = f"""
mutation($input: RequestSecondmentInput!) {{ requestSecondment(input: $input) {{ {FIELDS} }} }}"""
DECIDE = f"""
mutation($input: DecideSecondmentInput!) {{ decideSecondment(input: $input) {{ {FIELDS} }} }}"""
LIST = "{ secondments { totalCount edges { node { id status } } } }"

ENDS = date(2027, 6, 30)


def loan(**changes: Any) -> dict[str, Any]:
    base = {
        "personId": "chen",
        "fromDepartmentId": "mkt",
        "toDepartmentId": "sales-eu",
        "startsOn": "2027-04-01",
        "endsOn": ENDS.isoformat(),
        "duties": ["lead the European launch"],
        "evaluationCriteria": ["launch on time", "feedback of the EU team"],
        "support": ["apartment in Berlin"],
    }
    return {**base, **changes}


async def run(api: SubgraphClient, document: str, caller: Caller, **input: Any) -> dict[str, Any]:
    data = await api.execute(document, {"input": input}, caller=caller)
    payload: dict[str, Any] = next(iter(data.values()))
    return payload


async def requested(api: SubgraphClient) -> str:
    payload = await run(api, REQUEST, ANNA, **loan())
    assert payload["userErrors"] == []
    assert payload["secondment"]["status"] == "REQUESTED"
    secondment_id: str = payload["secondment"]["id"]
    return secondment_id


async def test_both_heads_approve_and_the_end_reminder_is_armed(api: SubgraphClient) -> None:
    sid = await requested(api)
    first = await run(api, DECIDE, LI, secondmentId=sid, decision="APPROVE")
    assert first["secondment"]["status"] == "REQUESTED"
    assert await api.runtime.pool.fetchval("SELECT count(*) FROM timers") == 0
    second = await run(api, DECIDE, ANNA, secondmentId=sid, decision="APPROVE", comment="welcome")
    assert second["secondment"]["status"] == "APPROVED"
    assert {a["department"]["id"] for a in second["secondment"]["approvals"]} == {
        "mkt",
        "sales-eu",
    }
    due = await api.runtime.pool.fetchval(
        "SELECT due_at FROM timers WHERE kind = 'requests.secondment_ending'"
    )
    assert due == datetime(2027, 6, 16, 7, 0, tzinfo=UTC)  # 09:00 CEST in Berlin, 14 days ahead
    statuses = [d["status"] for t, d in await outbox(api) if t == "requests.secondment.updated"]
    assert statuses == ["REQUESTED", "REQUESTED", "APPROVED"]
    await api.runtime.pool.execute("UPDATE timers SET due_at = now() - interval '1 second'")
    assert await sweep(api.runtime, TIMER_HANDLERS) == 1
    ending = [d for t, d in await outbox(api) if t == "requests.secondment.ending_soon"]
    assert [(e["id"], e["ends_on"]) for e in ending] == [(sid, "2027-06-30")]


async def test_reminder_lead_time_is_configurable(api: SubgraphClient) -> None:
    sid = await requested(api)
    settings = api.runtime.settings.model_copy(update={"requests_secondment_reminder_days": 7})
    runtime = dataclasses.replace(api.runtime, settings=settings)
    for head, department in (("li", "mkt"), ("anna", "sales-eu")):
        principal = Principal(head, frozenset({Role.DEPARTMENT_HEAD}), (department,))
        await service.decide_secondment(runtime, principal, sid, SecondmentDecision.APPROVE)
    due = await api.runtime.pool.fetchval("SELECT due_at FROM timers")
    assert due == datetime(2027, 6, 23, 7, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("caller", "changes", "code"),
    [
        (CHEN, {}, "NOT_BORROWING_DEPARTMENT"),
        (ANNA, {"personId": "wang"}, "NOT_IN_DEPARTMENT"),
        (ANNA, {"duties": [" "]}, "INVALID"),
        (ANNA, {"endsOn": "2027-03-01"}, "INVALID_SPAN"),
        (ANNA, {"toDepartmentId": "mkt"}, "INVALID"),
        (PMO, {"fromDepartmentId": "legal", "personId": "zhao"}, "HEAD_REQUIRED"),
    ],
)
async def test_refused_requests_store_nothing(
    api: SubgraphClient, caller: Caller, changes: dict[str, Any], code: str
) -> None:
    payload = await run(api, REQUEST, caller, **loan(**changes))
    assert payload["secondment"] is None
    assert code in [e["code"] for e in payload["userErrors"]]
    assert await api.runtime.pool.fetchval("SELECT count(*) FROM secondments") == 0
    assert "requests.secondment.updated" not in [t for t, _ in await outbox(api)]


async def test_decision_refusals_change_nothing(api: SubgraphClient) -> None:
    sid = await requested(api)
    await run(api, DECIDE, LI, secondmentId=sid, decision="APPROVE")
    count = "SELECT count(*) FROM secondment_approvals"
    before = await api.runtime.pool.fetchval(count)
    outsider = await run(api, DECIDE, WANG, secondmentId=sid, decision="APPROVE")
    assert [e["code"] for e in outsider["userErrors"]] == ["NOT_DEPARTMENT_HEAD"]
    twice = await run(api, DECIDE, LI, secondmentId=sid, decision="APPROVE")
    assert [e["code"] for e in twice["userErrors"]] == ["ALREADY_DECIDED"]
    bare_no = await run(api, DECIDE, ANNA, secondmentId=sid, decision="REJECT")
    assert [e["code"] for e in bare_no["userErrors"]] == ["COMMENT_REQUIRED"]
    assert await api.runtime.pool.fetchval(count) == before
    rejected = await run(
        api, DECIDE, ANNA, secondmentId=sid, decision="REJECT", comment="no budget"
    )
    assert rejected["secondment"]["status"] == "REJECTED"
    late = await run(api, DECIDE, ANNA, secondmentId=sid, decision="APPROVE")
    assert late["userErrors"][0]["code"] == "INVALID_STATUS"
    assert "REJECTED" in late["userErrors"][0]["message"]
    assert await api.runtime.pool.fetchval("SELECT count(*) FROM timers") == 0


async def test_secondments_are_seen_by_both_sides_and_the_person(api: SubgraphClient) -> None:
    sid = await requested(api)
    for caller in (ANNA, LI, CHEN, PMO):
        listed = await api.execute(LIST, caller=caller)
        assert [e["node"]["id"] for e in listed["secondments"]["edges"]] == [sid]
    assert (await api.execute(LIST, caller=ZHAO))["secondments"]["edges"] == []


def test_an_approved_secondment_is_active_in_its_period_then_completed() -> None:
    from services.requests.secondments.models import Secondment, SecondmentStatus

    loaned = Secondment(
        "s",
        None,
        "chen",
        "mkt",
        "sales-eu",
        date(2027, 4, 1),
        ENDS,
        ("x",),
        ("y",),
        (),
        SecondmentStatus.APPROVED,
        "anna",
        datetime(2027, 1, 1, tzinfo=UTC),
    )
    assert loaned.status_on(date(2027, 3, 31)) is SecondmentStatus.APPROVED
    assert loaned.status_on(date(2027, 4, 1)) is SecondmentStatus.ACTIVE
    assert loaned.status_on(ENDS) is SecondmentStatus.ACTIVE
    assert loaned.status_on(date(2027, 7, 1)) is SecondmentStatus.COMPLETED
