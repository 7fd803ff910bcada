"""Work items of requests, secondments and meetings (services/requests/work_items.py): the
derivations, then each kind entering and leaving through the outbox of real mutations."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from services.requests.meetings.models import MeetingStatus
from services.requests.models import RequestKind, RequestStatus
from services.requests.secondments.models import SecondmentStatus
from services.requests.work_items import meeting_items, request_items, secondment_items
from services.requests.work_repository import MeetingWork, RequestWork, SecondmentWork
from shared.events.contracts.work import WorkKind
from tests.requests.helpers import (
    ANNA,
    APPROVER,
    CANCEL,
    CHEN,
    CLOSE,
    DECIDE,
    LI,
    START_ACCEPTANCE,
    SUBMIT,
    active_request,
    create_request,
    move,
)
from tests.requests.test_acceptance import RECORD, results
from tests.requests.test_meetings import CANCEL as CANCEL_MEETING
from tests.requests.test_meetings import PUBLISH, RESCHEDULE, SCHEDULE, STARTS, meeting_input, run
from tests.requests.test_secondments import DECIDE as DECIDE_SECONDMENT
from tests.requests.test_secondments import REQUEST as REQUEST_SECONDMENT
from tests.requests.test_secondments import loan
from tests.support import SubgraphClient

# --- derivations ----------------------------------------------------------------------------

SUBMITTED = RequestWork(
    id="r1",
    code="CR-2026-0001",
    title="新品推广",
    kind=RequestKind.PROJECT,
    status=RequestStatus.SUBMITTED,
    approver_id="dir",
    results_recorded=False,
)


def test_a_submitted_request_is_its_approvers_decision() -> None:
    [item] = request_items(SUBMITTED)
    assert (item.kind, item.role, item.person_id, item.department_id) == (
        "DECIDE_REQUEST",
        "APPROVER",
        "dir",
        None,
    )
    assert (item.title, item.target, item.target_id, item.request_id) == (
        "CR-2026-0001 新品推广",
        "REQUEST",
        "r1",
        "r1",
    )
    assert (item.due_at, item.urgency, item.has_clock) == (None, 2, False)
    assert request_items(replace(SUBMITTED, kind=RequestKind.EMERGENCY))[0].urgency == 0


def test_a_request_awaits_its_approver_only_while_submitted_or_ready_to_sign_off() -> None:
    for status in set(RequestStatus) - {RequestStatus.SUBMITTED}:
        assert request_items(replace(SUBMITTED, status=status, results_recorded=False)) == []
    in_acceptance = replace(SUBMITTED, status=RequestStatus.IN_ACCEPTANCE, results_recorded=True)
    [sign_off] = request_items(in_acceptance)
    assert (sign_off.key, sign_off.kind, sign_off.person_id) == (
        "SIGN_OFF:dir",
        WorkKind.SIGN_OFF_REQUEST,
        "dir",
    )
    assert sign_off.key != request_items(SUBMITTED)[0].key  # a new item, with its own "since"
    assert request_items(replace(SUBMITTED, approver_id=None)) == []


LOAN = SecondmentWork(
    id="s1",
    status=SecondmentStatus.REQUESTED,
    request_id=None,
    request_code=None,
    person_name="Chen Jie",
    from_department_id="mkt",
    from_department_code="MKT",
    to_department_id="sales-eu",
    to_department_code="SALES-EU",
    decided_department_ids=(),
)


def test_a_requested_secondment_awaits_each_head_that_has_not_decided() -> None:
    items = secondment_items(LOAN)
    assert [(i.department_id, i.heads_only, i.person_id) for i in items] == [
        ("mkt", True, None),
        ("sales-eu", True, None),
    ]
    assert {(i.kind, i.role, i.target, i.title) for i in items} == {
        ("APPROVE_SECONDMENT", "DEPARTMENT_HEAD", "SECONDMENT", "Chen Jie: MKT → SALES-EU")
    }
    left = secondment_items(replace(LOAN, decided_department_ids=("mkt",)))
    assert [i.department_id for i in left] == ["sales-eu"]
    for status in set(SecondmentStatus) - {SecondmentStatus.REQUESTED}:
        assert secondment_items(replace(LOAN, status=status)) == []
    of_request = secondment_items(replace(LOAN, request_id="r1", request_code="CR-2026-0001"))
    assert of_request[0].title.startswith("CR-2026-0001 ")
    assert of_request[0].request_id == "r1"


ENDS = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MEETING = MeetingWork(
    id="m1",
    request_id="r1",
    request_code="CR-2026-0001",
    lead_department_id="mkt",
    title="Kickoff",
    status=MeetingStatus.SCHEDULED,
    ends_at=ENDS,
    minutes_due_at=ENDS + timedelta(hours=24),
    minutes_published=False,
)


def test_minutes_are_the_lead_departments_from_the_end_of_the_meeting() -> None:
    [item] = meeting_items(MEETING)
    assert (item.kind, item.role, item.department_id, item.person_id, item.heads_only) == (
        "PUBLISH_MINUTES",
        "ORGANIZER",
        "mkt",
        None,
        False,
    )
    assert (item.visible_from, item.due_at, item.at_risk_at) == (
        ENDS,
        ENDS + timedelta(hours=24),
        ENDS + timedelta(hours=20),
    )
    assert (item.title, item.target, item.target_id) == ("CR-2026-0001 Kickoff", "MEETING", "m1")
    short = replace(MEETING, minutes_due_at=ENDS + timedelta(hours=1))
    assert meeting_items(short)[0].at_risk_at == ENDS  # never before it is shown
    assert meeting_items(replace(MEETING, status=MeetingStatus.CANCELLED)) == []
    assert meeting_items(replace(MEETING, minutes_published=True)) == []


# --- through the outbox ---------------------------------------------------------------------


async def work_sets(api: SubgraphClient) -> dict[str, list[dict[str, Any]]]:
    """The latest set of items of each source, as the outbox carries them."""
    rows = await api.runtime.pool.fetch(
        "SELECT envelope->'data' AS data FROM outbox"
        " WHERE event_type = 'work.items.changed' ORDER BY seq"
    )
    latest: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        latest[row["data"]["source"]] = row["data"]["items"]
    return latest


async def items_of(api: SubgraphClient, source: str) -> list[dict[str, Any]]:
    return (await work_sets(api))[source]


def times(item: dict[str, Any], *fields: str) -> list[datetime | None]:
    """Moments of an item as the event carries them (JSON text), read back."""
    return [datetime.fromisoformat(item[f]) if item[f] else None for f in fields]


def holders(items: list[dict[str, Any]]) -> list[tuple[str, str | None, str | None]]:
    return [(i["kind"], i["person_id"], i["department_id"]) for i in items]


async def test_decision_enters_on_submit_and_leaves_on_each_decision(api: SubgraphClient) -> None:
    rids = [(await create_request(api))["id"] for _ in range(4)]
    assert await items_of(api, f"REQUEST:{rids[0]}") == []  # a draft awaits nobody
    for rid in rids:
        assert (await move(api, SUBMIT, LI, requestId=rid))["userErrors"] == []
    submitted = await items_of(api, f"REQUEST:{rids[0]}")
    assert holders(submitted) == [("DECIDE_REQUEST", "dir", None)]
    assert submitted[0]["title"].endswith(" 2024新品推广")
    settle = [
        (DECIDE, APPROVER, {"decision": "APPROVE"}),
        (DECIDE, APPROVER, {"decision": "REJECT", "comment": "no budget"}),
        (DECIDE, APPROVER, {"decision": "REQUEST_CHANGES", "comment": "quantify"}),
        (CANCEL, LI, {"comment": "merged into another request"}),
    ]
    for rid, (mutation, caller, extra) in zip(rids, settle, strict=True):
        assert (await move(api, mutation, caller, requestId=rid, **extra))["userErrors"] == []
        assert await items_of(api, f"REQUEST:{rid}") == []


async def test_emergency_requests_are_urgent(api: SubgraphClient) -> None:
    rid = (await create_request(api, kind="EMERGENCY"))["id"]
    assert (await move(api, SUBMIT, LI, requestId=rid))["userErrors"] == []
    assert [i["urgency"] for i in await items_of(api, f"REQUEST:{rid}")] == [0]


async def test_sign_off_awaits_the_approver_once_every_result_is_recorded(
    api: SubgraphClient,
) -> None:
    request = await active_request(api)
    rid = request["id"]
    assert (await move(api, START_ACCEPTANCE, LI, requestId=rid))["userErrors"] == []
    assert await items_of(api, f"REQUEST:{rid}") == []  # nothing to sign yet
    recorded = await move(api, RECORD, LI, requestId=rid, results=results(request, "2100000", "20"))
    assert recorded["userErrors"] == []
    [sign_off] = await items_of(api, f"REQUEST:{rid}")
    assert (sign_off["key"], sign_off["kind"], sign_off["person_id"]) == (
        "SIGN_OFF:dir",
        "SIGN_OFF_REQUEST",
        "dir",
    )
    assert (await move(api, CLOSE, APPROVER, requestId=rid))["userErrors"] == []
    assert await items_of(api, f"REQUEST:{rid}") == []


async def test_secondment_awaits_both_heads_until_each_decided(api: SubgraphClient) -> None:
    payload = await run(api, REQUEST_SECONDMENT, ANNA, **loan())
    sid = payload["secondment"]["id"]
    source = f"SECONDMENT:{sid}"
    entered = await items_of(api, source)
    assert [(i["department_id"], i["heads_only"]) for i in entered] == [
        ("mkt", True),
        ("sales-eu", True),
    ]
    assert entered[0]["title"] == "Chen Jie: MKT → SALES-EU"
    await run(api, DECIDE_SECONDMENT, LI, secondmentId=sid, decision="APPROVE")
    assert [i["department_id"] for i in await items_of(api, source)] == ["sales-eu"]
    await run(api, DECIDE_SECONDMENT, ANNA, secondmentId=sid, decision="APPROVE")
    assert await items_of(api, source) == []


async def test_a_rejected_secondment_leaves_the_other_head(api: SubgraphClient) -> None:
    sid = (await run(api, REQUEST_SECONDMENT, ANNA, **loan()))["secondment"]["id"]
    rejected = await run(
        api, DECIDE_SECONDMENT, LI, secondmentId=sid, decision="REJECT", comment="needed here"
    )
    assert rejected["secondment"]["status"] == "REJECTED"
    assert await items_of(api, f"SECONDMENT:{sid}") == []


async def test_minutes_follow_the_meeting_until_published(api: SubgraphClient) -> None:
    rid = (await active_request(api))["id"]
    scheduled = await run(api, SCHEDULE, CHEN, **meeting_input(rid))
    mid = scheduled["meeting"]["id"]
    source = f"MEETING:{mid}"
    [item] = await items_of(api, source)
    ends = STARTS + timedelta(hours=1)
    assert holders([item]) == [("PUBLISH_MINUTES", None, "mkt")]
    assert times(item, "visible_from", "due_at", "at_risk_at") == [
        ends,
        ends + timedelta(hours=24),
        ends + timedelta(hours=20),
    ]
    later = STARTS + timedelta(days=1)
    moved = await run(
        api,
        RESCHEDULE,
        LI,
        meetingId=mid,
        startsAt=later.isoformat(),
        endsAt=(later + timedelta(hours=2)).isoformat(),
    )
    assert moved["userErrors"] == []
    [item] = await items_of(api, source)
    assert times(item, "due_at") == [later + timedelta(hours=26)]
    published = await run(api, PUBLISH, CHEN, meetingId=mid, summary="agreed", actionItems=[])
    assert published["userErrors"] == []
    assert await items_of(api, source) == []


async def test_a_cancelled_meeting_needs_no_minutes(api: SubgraphClient) -> None:
    rid = (await active_request(api))["id"]
    mid = (await run(api, SCHEDULE, CHEN, **meeting_input(rid)))["meeting"]["id"]
    assert len(await items_of(api, f"MEETING:{mid}")) == 1
    assert (await run(api, CANCEL_MEETING, LI, meetingId=mid))["userErrors"] == []
    assert await items_of(api, f"MEETING:{mid}") == []
