"""Authorization review: the named approver decides even when their department takes no part."""

from __future__ import annotations

from tests.requests.helpers import (
    DECIDE,
    LI,
    SUBMIT,
    ZHAO,
    create_request,
    move,
)
from tests.support import Caller, SubgraphClient

REQUEST = "query($id: ID!) { request(id: $id) { id status } }"


async def test_an_approver_from_outside_the_request_can_read_and_decide_it(
    api: SubgraphClient,
) -> None:
    # zhao (legal) is named approver; legal neither leads nor takes part in the request.
    rid = (await create_request(api, approverId="zhao"))["id"]
    assert (await move(api, SUBMIT, LI, requestId=rid))["userErrors"] == []
    seen = await api.execute(REQUEST, {"id": rid}, caller=ZHAO)
    assert seen["request"] == {"id": rid, "status": "SUBMITTED"}
    decided = await move(api, DECIDE, ZHAO, requestId=rid, decision="APPROVE")
    assert decided["userErrors"] == []
    assert decided["request"]["status"] == "APPROVED"


async def test_other_members_of_the_approvers_department_still_see_nothing(
    api: SubgraphClient,
) -> None:
    rid = (await create_request(api, approverId="zhao"))["id"]
    await move(api, SUBMIT, LI, requestId=rid)
    colleague = Caller("qian", departments=("legal",))
    assert (await api.execute(REQUEST, {"id": rid}, caller=colleague))["request"] is None
    refused = await move(api, DECIDE, colleague, requestId=rid, decision="APPROVE")
    assert [e["code"] for e in refused["userErrors"]] == ["REQUEST_NOT_FOUND"]
