"""The ``issues`` list's filters, sorts and cursors (issue 14): every filter alone and
combined, every SLA clock state, each sort across page boundaries with ties."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from services.issues.worker import TIMER_HANDLERS
from shared.timer_firing import sweep
from tests.issues.helpers import (
    BERLIN_OFFICE,
    LI,
    PMO,
    SHANGHAI_OFFICE,
    WANG,
    ZHAO,
    make_due,
    report,
    seed_department,
    seed_person,
    seed_region,
    seed_request,
    shift_into_past,
)
from tests.issues.test_lifecycle import ACK, PLAN, WAIT, ok
from tests.support import Caller, SubgraphClient, nodes

LIST = """
query($filter: IssueFilter, $sort: IssueSort! = REPORTED_NEWEST, $first: Int! = 50,
      $after: String) {
  issues(filter: $filter, sort: $sort, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { id code severity } }
  }
}
"""


async def listed(api: SubgraphClient, caller: Caller = PMO, **filter_: object) -> list[str]:
    """Ids of the first page (up to 50), checking that totalCount counts the same."""
    data = await api.execute(LIST, {"filter": filter_}, caller=caller)
    page = data["issues"]
    ids = [n["id"] for n in nodes(page)]
    assert page["totalCount"] == len(ids)
    return ids


async def all_pages(api: SubgraphClient, sort: str, first: int, **filter_: object) -> list[str]:
    """Every issue in ``sort`` order, ``first`` per page, following the cursors."""
    ids: list[str] = []
    after = None
    while True:
        variables = {"filter": filter_, "sort": sort, "first": first, "after": after}
        page = (await api.execute(LIST, variables, caller=PMO))["issues"]
        ids += [n["id"] for n in nodes(page)]
        if not page["pageInfo"]["hasNextPage"]:
            return ids
        after = page["pageInfo"]["endCursor"]


async def refusal(api: SubgraphClient, variables: dict[str, Any]) -> tuple[str, str]:
    response = await api.post(LIST, variables, caller=PMO)
    error = response.json()["errors"][0]
    return error["extensions"]["code"], error["message"]


async def test_each_filter_alone_and_combined(issues: SubgraphClient) -> None:
    await seed_region(issues, "sh", SHANGHAI_OFFICE)
    await seed_region(issues, "eu", BERLIN_OFFICE)
    for department, region in (("mkt", "sh"), ("rd", "sh"), ("ops", "eu")):
        await seed_department(issues, department, region)
    customs = await report(issues, severity="CRITICAL", title="样机卡在上海海关")
    wang = await report(issues, WANG, severity="LOW", title="Projector broken",
                        description="the venue's projector", leadDepartmentId="rd")  # fmt: skip
    moved = await report(issues, severity="HIGH", title="Booth design late")
    await seed_person(issues, "olaf", "ops", "eu", "Europe/Berlin")
    await ok(issues, ACK, LI, issueId=moved["id"], responsibleDepartmentId="ops", ownerId="olaf")
    all_ids = [moved["id"], wang["id"], customs["id"]]

    assert await listed(issues) == all_ids
    assert await listed(issues, text="海关") == [customs["id"]]
    assert await listed(issues, text="PROJECTOR venue") == [wang["id"]]
    assert await listed(issues, text="projector 海关") == []
    assert await listed(issues, text=customs["code"]) == [customs["id"]]
    assert await listed(issues, text=customs["code"].lower()) == [customs["id"]]
    assert await listed(issues, severities=["CRITICAL", "LOW"]) == [wang["id"], customs["id"]]
    assert await listed(issues, severities=["MEDIUM"]) == []
    assert await listed(issues, ownerId="olaf") == [moved["id"]]
    assert await listed(issues, reporterId="wang") == [wang["id"]]
    assert await listed(issues, leadDepartmentId="rd") == [wang["id"]]
    assert await listed(issues, leadDepartmentId="mkt") == [moved["id"], customs["id"]]
    assert await listed(issues, regionId="eu") == [moved["id"]]
    assert await listed(issues, regionId="sh") == [wang["id"], customs["id"]]
    assert await listed(issues, regionId="nowhere") == []
    wang_at = datetime.fromisoformat(wang["createdAt"])
    assert await listed(issues, reportedAfter=wang["createdAt"]) == [moved["id"], wang["id"]]
    assert await listed(issues, reportedBefore=wang["createdAt"]) == [customs["id"]]
    one_instant = {"reportedAfter": wang["createdAt"], "reportedBefore": moved["createdAt"]}
    assert await listed(issues, **one_instant) == [wang["id"]]
    after_all = (wang_at + timedelta(days=1)).isoformat()
    assert await listed(issues, reportedAfter=after_all) == []
    # combined: every condition must hold
    assert await listed(issues, text="booth", regionId="eu", severities=["HIGH"]) == [moved["id"]]
    assert await listed(issues, text="booth", regionId="sh") == []
    assert await listed(issues, leadDepartmentId="mkt", reporterId="li", ownerId="olaf",
                        statuses=["ACKNOWLEDGED"], urgent=False) == [moved["id"]]  # fmt: skip
    assert await listed(issues, leadDepartmentId="mkt", severities=["LOW"]) == []


async def test_filters_keep_to_what_the_caller_sees(issues: SubgraphClient) -> None:
    await seed_request(issues, "cr2", lead="legal", participants=())
    mine = await report(issues, title="海关 hold")
    theirs = await report(issues, ZHAO, requestId="cr2", title="海关 paperwork")
    assert await listed(issues, PMO, text="海关") == [theirs["id"], mine["id"]]
    assert await listed(issues, LI, text="海关") == [mine["id"]]
    assert await listed(issues, ZHAO, text="海关") == [theirs["id"]]
    assert await listed(issues, ZHAO, text="海关", reporterId="li") == []
    assert await listed(issues, WANG, severities=["HIGH"], clockStates=["RUNNING"]) == [mine["id"]]


async def test_every_clock_state(issues: SubgraphClient) -> None:
    # Urgent issues count 24x7: RESPONSE and PLAN both 120 minutes, warnings at 50% and 75%.
    fresh = await report(issues, urgent=True, title="fresh")
    at_risk = await report(issues, urgent=True, title="at risk")
    await shift_into_past(issues, at_risk["id"], 61)
    breached = await report(issues, urgent=True, title="breached")
    await shift_into_past(issues, breached["id"], 121)
    await make_due(issues, "sla.clock")  # also fires the breach timers of breached's clocks
    assert await sweep(issues.runtime, TIMER_HANDLERS) >= 2
    paused = await report(issues, urgent=True, title="paused")  # RESPONSE met, PLAN paused
    await ok(issues, ACK, LI, issueId=paused["id"])
    await ok(issues, WAIT, LI, issueId=paused["id"], comment="need the invoice")
    answered = await report(issues, urgent=True, title="answered")  # both clocks stopped
    await ok(issues, ACK, LI, issueId=answered["id"])
    await ok(issues, PLAN, LI, issueId=answered["id"], plan="ship spare units")

    assert await listed(issues, clockStates=["RUNNING"]) == [fresh["id"]]
    assert await listed(issues, clockStates=["AT_RISK"]) == [at_risk["id"]]
    assert await listed(issues, clockStates=["BREACHED"]) == [breached["id"]]
    assert await listed(issues, clockStates=["PAUSED"]) == [paused["id"]]
    assert await listed(issues, clockStates=["PAUSED", "AT_RISK"]) == [paused["id"], at_risk["id"]]
    everything = ["RUNNING", "AT_RISK", "BREACHED", "PAUSED"]
    assert answered["id"] not in await listed(issues, clockStates=everything)
    assert await listed(issues, clockStates=["BREACHED"], statuses=["REPORTED"]) == [breached["id"]]

    # a breached clock that pauses stays BREACHED (the late RESPONSE is stopped by then)
    await ok(issues, ACK, LI, issueId=breached["id"])
    await ok(issues, WAIT, LI, issueId=breached["id"], comment="waiting on the reporter")
    assert await listed(issues, clockStates=["BREACHED"]) == [breached["id"]]
    # a running clock whose deadline passed reads as breached before its timer fires
    await shift_into_past(issues, fresh["id"], 125)
    assert await listed(issues, clockStates=["BREACHED"]) == [breached["id"], fresh["id"]]
    assert await listed(issues, clockStates=["RUNNING", "AT_RISK"]) == [at_risk["id"]]


async def test_sorts_page_through_ties(issues: SubgraphClient) -> None:
    severities = ["HIGH", "LOW", "HIGH", "CRITICAL", "HIGH", "LOW", "MEDIUM"]
    made = [await report(issues, severity=s) for s in severities]
    ids = [m["id"] for m in made]
    newest = list(reversed(ids))
    for first in (1, 2, 3):
        assert await all_pages(issues, "REPORTED_NEWEST", first) == newest
        assert await all_pages(issues, "REPORTED_OLDEST", first) == ids
    weight = {"CRITICAL": 4, "HIGH": 3, "MEDIUM": 2, "LOW": 1}
    by_severity = sorted(newest, key=lambda i: -weight[severities[ids.index(i)]])
    for first in (1, 2, 3):
        assert await all_pages(issues, "SEVERITY", first) == by_severity
    assert await all_pages(issues, "SEVERITY", 2, severities=["HIGH", "LOW"]) == [
        i for i in by_severity if severities[ids.index(i)] in ("HIGH", "LOW")
    ]

    # deadlines: 0, 1 and 2 share one; 3 and 4 have none running (paused, answered); the
    # rest keep their own, later than the shared one
    pool = issues.runtime.pool
    shared = datetime.now().astimezone() + timedelta(minutes=30)
    await pool.execute(
        "UPDATE sla_clocks SET due_at = $2 WHERE issue_id = ANY($1)", ids[:3], shared
    )
    await ok(issues, ACK, LI, issueId=ids[3])
    await ok(issues, WAIT, LI, issueId=ids[3], comment="waiting")
    await ok(issues, ACK, LI, issueId=ids[4])
    await ok(issues, PLAN, LI, issueId=ids[4], plan="fix it")
    nearest = [*ids[:3], ids[5], ids[6], ids[3], ids[4]]
    for first in (1, 2, 3):
        assert await all_pages(issues, "NEAREST_DEADLINE", first) == nearest
    assert await all_pages(issues, "NEAREST_DEADLINE", 2, severities=["HIGH"]) == [
        ids[0], ids[2], ids[4]
    ]  # fmt: skip


async def test_a_cursor_of_another_sort_or_an_inverted_range_is_refused(
    issues: SubgraphClient,
) -> None:
    for severity in ("HIGH", "LOW"):
        await report(issues, severity=severity)
    cursors = {}
    for sort in ("REPORTED_NEWEST", "REPORTED_OLDEST", "NEAREST_DEADLINE", "SEVERITY"):
        data = await issues.execute(LIST, {"sort": sort, "first": 1}, caller=PMO)
        cursors[sort] = data["issues"]["pageInfo"]["endCursor"]
    for made, cursor in cursors.items():
        for sort in cursors:
            if sort == made:
                continue
            code, message = await refusal(issues, {"sort": sort, "after": cursor, "first": 1})
            assert code == "BAD_USER_INPUT"
            if made != "REPORTED_NEWEST":
                assert made in message
                assert sort in message
    code, message = await refusal(
        issues,
        {"filter": {"reportedAfter": "2026-03-02T00:00:00Z",
                    "reportedBefore": "2026-03-01T00:00:00Z"}},
    )  # fmt: skip
    assert (code, message) == ("BAD_USER_INPUT", "`reportedBefore` is earlier than `reportedAfter`")
