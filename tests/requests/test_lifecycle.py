"""Status moves: who may make each, from which status, history and whole-state events."""

from __future__ import annotations

from typing import Any

import pytest

from tests.requests.helpers import (
    ACTIVATE,
    APPROVER,
    CANCEL,
    CHEN,
    CREATE,
    DECIDE,
    LI,
    PMO,
    SUBMIT,
    UPDATE,
    WANG,
    ZHAO,
    active_request,
    create_request,
    move,
    outbox,
    request_input,
    snapshot,
)
from tests.support import Caller, SubgraphClient, nodes


async def test_full_path_to_active_is_recorded_and_emitted(api: SubgraphClient) -> None:
    request = await create_request(api)
    rid = request["id"]
    submitted = await move(api, SUBMIT, CHEN, requestId=rid, comment="ready")
    assert submitted["request"]["status"] == "SUBMITTED"
    approved = await move(api, DECIDE, APPROVER, requestId=rid, decision="APPROVE", comment="ok")
    assert approved["request"]["status"] == "APPROVED"
    active = await move(api, ACTIVATE, LI, requestId=rid)
    assert active["request"]["status"] == "ACTIVE"
    assert active["request"]["phase"] == "EXECUTION"
    history = nodes(active["request"]["history"])
    assert [(h["action"], h["fromStatus"], h["toStatus"]) for h in history] == [
        ("CREATED", None, "DRAFT"),
        ("SUBMITTED", "DRAFT", "SUBMITTED"),
        ("APPROVED", "SUBMITTED", "APPROVED"),
        ("ACTIVATED", "APPROVED", "ACTIVE"),
    ]
    assert [h["actor"]["id"] for h in history] == ["li", "chen", "dir", "li"]
    assert history[2]["comment"] == "ok"
    updates = [d for t, d in await outbox(api) if t == "requests.request.updated"]
    assert [(u["action"], u["previous_status"], u["status"]) for u in updates] == [
        ("SUBMITTED", "DRAFT", "SUBMITTED"),
        ("APPROVED", "SUBMITTED", "APPROVED"),
        ("ACTIVATED", "APPROVED", "ACTIVE"),
    ]
    last = updates[-1]
    assert last["participant_department_ids"] == ["rd", "sales-eu"]
    assert last["phase"] == "EXECUTION"
    assert last["approver_id"] == "dir"
    assert last["code"] == request["code"]
    assert last["actor_id"] == "li"


async def test_created_event_carries_whole_state(api: SubgraphClient) -> None:
    request = await create_request(api)
    events = await outbox(api)
    created = [d for t, d in events if t == "requests.request.created"]
    assert created[0]["approver_id"] == "dir"
    assert created[0]["starts_on"] == "2026-01-05"
    assert created[0]["id"] == request["id"]


@pytest.mark.parametrize(
    ("decision", "status"), [("REJECT", "REJECTED"), ("REQUEST_CHANGES", "CHANGES_REQUESTED")]
)
async def test_refusals_and_change_requests_need_a_reason(
    api: SubgraphClient, decision: str, status: str
) -> None:
    rid = (await create_request(api))["id"]
    await move(api, SUBMIT, LI, requestId=rid)
    before = await snapshot(api)
    bare = await move(api, DECIDE, APPROVER, requestId=rid, decision=decision)
    assert [e["code"] for e in bare["userErrors"]] == ["COMMENT_REQUIRED"]
    assert await snapshot(api) == before
    done = await move(api, DECIDE, APPROVER, requestId=rid, decision=decision, comment="budget")
    assert done["request"]["status"] == status


async def test_changes_requested_request_is_edited_and_resubmitted(api: SubgraphClient) -> None:
    rid = (await create_request(api))["id"]
    await move(api, SUBMIT, LI, requestId=rid)
    await move(api, DECIDE, PMO, requestId=rid, decision="REQUEST_CHANGES", comment="more legal")
    edited = await move(
        api,
        UPDATE,
        CHEN,
        requestId=rid,
        title="2024新品推广 v2",
        participantDepartmentIds=["rd", "legal"],
        comment="legal added",
    )
    assert edited["userErrors"] == []
    assert edited["request"]["title"] == "2024新品推广 v2"
    assert [p["id"] for p in edited["request"]["participants"]] == ["legal", "rd"]
    assert edited["request"]["goals"][1]["direction"] == "AT_MOST"  # untouched parts stay
    assert nodes(edited["request"]["history"])[-1]["action"] == "EDITED"
    again = await move(api, SUBMIT, LI, requestId=rid)
    assert again["request"]["status"] == "SUBMITTED"
    # legal now takes part, so its members see the request
    seen = await api.execute(
        "query($id: ID!) { request(id: $id) { id } }", {"id": rid}, caller=ZHAO
    )
    assert seen["request"] == {"id": rid}


async def test_edit_after_approval_is_refused_naming_status(api: SubgraphClient) -> None:
    rid = (await active_request(api))["id"]
    before = await snapshot(api)
    refused = await move(api, UPDATE, LI, requestId=rid, title="new")
    assert refused["request"] is None
    assert refused["userErrors"][0]["code"] == "INVALID_STATUS"
    assert "ACTIVE" in refused["userErrors"][0]["message"]
    assert await snapshot(api) == before


async def test_edit_is_validated_like_creation(api: SubgraphClient) -> None:
    rid = (await create_request(api))["id"]
    before = await snapshot(api)
    refused = await move(api, UPDATE, LI, requestId=rid, goals=[])
    assert [e["code"] for e in refused["userErrors"]] == ["GOAL_REQUIRED"]
    assert await snapshot(api) == before


REFUSED_MOVES: list[tuple[str, Caller, dict[str, Any], str, str]] = [
    # (mutation, caller, extra input, expected code, status named in the message)
    (SUBMIT, WANG, {}, "NOT_LEAD_DEPARTMENT", "DRAFT"),
    (DECIDE, APPROVER, {"decision": "APPROVE"}, "INVALID_STATUS", "DRAFT"),
    (ACTIVATE, LI, {}, "INVALID_STATUS", "DRAFT"),
    (UPDATE, WANG, {"title": "x"}, "NOT_LEAD_DEPARTMENT", "DRAFT"),
    (CANCEL, WANG, {"comment": "no"}, "NOT_LEAD_DEPARTMENT", "DRAFT"),
]


@pytest.mark.parametrize(("mutation", "caller", "extra", "code", "status"), REFUSED_MOVES)
async def test_refused_moves_on_a_draft_change_nothing(
    api: SubgraphClient,
    mutation: str,
    caller: Caller,
    extra: dict[str, Any],
    code: str,
    status: str,
) -> None:
    rid = (await create_request(api))["id"]
    before = await snapshot(api)
    payload = await move(api, mutation, caller, requestId=rid, **extra)
    assert payload["request"] is None
    assert [e["code"] for e in payload["userErrors"]] == [code]
    assert status in payload["userErrors"][0]["message"]
    assert await snapshot(api) == before


@pytest.mark.parametrize("caller", [LI, WANG, CHEN])
async def test_only_the_named_approver_or_pmo_decides(api: SubgraphClient, caller: Caller) -> None:
    rid = (await create_request(api))["id"]
    await move(api, SUBMIT, LI, requestId=rid)
    before = await snapshot(api)
    payload = await move(api, DECIDE, caller, requestId=rid, decision="APPROVE")
    assert [e["code"] for e in payload["userErrors"]] == ["NOT_APPROVER"]
    assert "SUBMITTED" in payload["userErrors"][0]["message"]
    assert await snapshot(api) == before
    by_pmo = await move(api, DECIDE, PMO, requestId=rid, decision="APPROVE")
    assert by_pmo["request"]["status"] == "APPROVED"


async def test_submit_needs_an_approver(api: SubgraphClient) -> None:
    rid = (await create_request(api, approverId=None))["id"]
    before = await snapshot(api)
    payload = await move(api, SUBMIT, LI, requestId=rid)
    assert [e["code"] for e in payload["userErrors"]] == ["APPROVER_REQUIRED"]
    assert await snapshot(api) == before


async def test_cancel_and_nothing_after_it(api: SubgraphClient) -> None:
    rid = (await active_request(api))["id"]
    bare = await move(api, CANCEL, LI, requestId=rid, comment=" ")
    assert [e["code"] for e in bare["userErrors"]] == ["COMMENT_REQUIRED"]
    assert "ACTIVE" in bare["userErrors"][0]["message"]
    cancelled = await move(api, CANCEL, LI, requestId=rid, comment="budget cut")
    assert cancelled["request"]["status"] == "CANCELLED"
    assert cancelled["request"]["phase"] == "CLOSED"
    before = await snapshot(api)
    again = await move(api, CANCEL, PMO, requestId=rid, comment="again")
    assert again["userErrors"][0]["code"] == "INVALID_STATUS"
    assert "CANCELLED" in again["userErrors"][0]["message"]
    assert await snapshot(api) == before


async def test_strangers_cannot_learn_a_request_exists(api: SubgraphClient) -> None:
    rid = (await create_request(api))["id"]
    payload = await move(api, SUBMIT, ZHAO, requestId=rid)
    assert [e["code"] for e in payload["userErrors"]] == ["REQUEST_NOT_FOUND"]
    unknown = await move(api, SUBMIT, LI, requestId="nope")
    assert [e["code"] for e in unknown["userErrors"]] == ["REQUEST_NOT_FOUND"]


async def test_milestones_must_fall_inside_the_span(api: SubgraphClient) -> None:
    outside = request_input(milestones=[{"title": "late", "dueDate": "2026-08-01"}])
    data = await api.execute(CREATE, {"input": outside}, caller=LI)
    errors = data["createRequest"]["userErrors"]
    assert [(e["field"], e["code"]) for e in errors] == [
        ("milestones.0.dueDate", "MILESTONE_OUTSIDE_SPAN")
    ]
    no_span = request_input(startsOn=None, endsOn=None)
    data = await api.execute(CREATE, {"input": no_span}, caller=LI)
    assert [e["code"] for e in data["createRequest"]["userErrors"]] == ["SPAN_REQUIRED"]
    backwards = request_input(startsOn="2026-07-01", milestones=[])
    data = await api.execute(CREATE, {"input": backwards}, caller=LI)
    assert [e["code"] for e in data["createRequest"]["userErrors"]] == ["INVALID_SPAN"]
    assert await api.runtime.pool.fetchval("SELECT count(*) FROM collab_requests") == 0


async def test_codes_count_up(api: SubgraphClient) -> None:
    first = await create_request(api)
    second = await create_request(api)
    assert int(second["code"][-4:]) == int(first["code"][-4:]) + 1


async def test_decisions_list_only_the_approvers_decisions(api: SubgraphClient) -> None:
    rid = (await create_request(api))["id"]
    await move(api, SUBMIT, LI, requestId=rid)
    await move(api, DECIDE, PMO, requestId=rid, decision="REQUEST_CHANGES", comment="more legal")
    await move(api, SUBMIT, LI, requestId=rid)
    await move(api, DECIDE, APPROVER, requestId=rid, decision="APPROVE", comment="go")
    query = """
    query($id: ID!) {
      request(id: $id) { decisions { edges { node { action comment actor { id } } } } }
    }
    """
    data = await api.execute(query, {"id": rid}, caller=LI)
    assert nodes(data["request"]["decisions"]) == [
        {"action": "CHANGES_REQUESTED", "comment": "more legal", "actor": {"id": "pmo"}},
        {"action": "APPROVED", "comment": "go", "actor": {"id": "dir"}},
    ]


@pytest.mark.parametrize(
    ("approver", "code", "words"),
    [
        ("chen", "INVALID_APPROVER", "department head or PMO"),  # a member, not a director
        ("li", "INVALID_APPROVER", "own request"),  # the requester, though a head
        ("ghost", "NOT_FOUND", "no such approver"),
    ],
)
async def test_the_approver_is_a_director_or_pmo_other_than_the_requester(
    api: SubgraphClient, approver: str, code: str, words: str
) -> None:
    before = await snapshot(api)
    data = await api.execute(CREATE, {"input": request_input(approverId=approver)}, caller=LI)
    [error] = data["createRequest"]["userErrors"]
    assert (error["field"], error["code"]) == ("approverId", code)
    assert words in error["message"]
    assert await snapshot(api) == before
    rid = (await create_request(api, approverId=None))["id"]
    edited = await move(api, UPDATE, LI, requestId=rid, approverId=approver)
    assert [(e["field"], e["code"]) for e in edited["userErrors"]] == [("approverId", code)]
