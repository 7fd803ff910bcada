"""Recurring operations: RRULE occurrences on each region's calendar (holidays, make-up
workdays, daylight saving), per-region instances ahead of time and a consolidation task."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.tasks.recurring.rules import (
    RuleError,
    business_days_after,
    nominal_occurrences,
    parse_rule,
    region_instant,
)
from services.tasks.worker import TIMER_HANDLERS
from shared.calendars import BusinessHours, WorkCalendar
from shared.timer_firing import fire_timer
from tests.support import Caller, SubgraphClient, nodes
from tests.tasks.helpers import LI, WANG, fire, make_due, seeded, snapshot, timer, update

BERLIN = BusinessHours(WorkCalendar(time_zone="Europe/Berlin", holiday_country="DE"))
SHANGHAI = BusinessHours(WorkCalendar(time_zone="Asia/Shanghai", holiday_country="CN"))
THIRD_BUSINESS_DAY = "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=3;BYHOUR=18;BYMINUTE=0"


def due_dates(
    rule_text: str, calendar: BusinessHours, start: datetime, end: datetime, dtstart: datetime
) -> list[datetime | None]:
    rule = parse_rule(rule_text, dtstart)
    return [
        region_instant(rule, n, calendar)
        for n in nominal_occurrences(rule, start, end)
        if n >= start.replace(day=1)
    ]


def test_third_business_day_in_berlin_across_the_dst_change_and_easter() -> None:
    found = due_dates(
        THIRD_BUSINESS_DAY,
        BERLIN,
        datetime(2026, 3, 1),
        datetime(2026, 4, 30),
        datetime(2026, 1, 1),
    )
    assert found == [
        datetime(2026, 3, 4, 17, 0, tzinfo=UTC),  # Wed 4 March, 18:00 CET (UTC+1)
        # 1 Apr Wed, 2 Thu, 3 Good Friday, 6 Easter Monday: the 3rd is Tue 7 April,
        # 18:00 CEST (UTC+2) after the switch on 29 March.
        datetime(2026, 4, 7, 16, 0, tzinfo=UTC),
    ]


def test_weekly_rule_keeps_local_time_across_dst_and_moves_off_holidays() -> None:
    found = due_dates(
        "FREQ=WEEKLY;BYDAY=FR;BYHOUR=18;BYMINUTE=0",
        BERLIN,
        datetime(2026, 3, 20),
        datetime(2026, 4, 4),
        datetime(2026, 3, 1),
    )
    assert found == [
        datetime(2026, 3, 20, 17, 0, tzinfo=UTC),
        datetime(2026, 3, 27, 17, 0, tzinfo=UTC),
        datetime(2026, 4, 7, 16, 0, tzinfo=UTC),  # Good Friday -> next working day
    ]


def test_make_up_workday_counts_as_a_business_day_in_china() -> None:
    found = due_dates(
        THIRD_BUSINESS_DAY,
        SHANGHAI,
        datetime(2025, 10, 1),
        datetime(2025, 10, 31),
        datetime(2025, 1, 1),
    )
    # National Day holidays 1-8 Oct; Thu 9, Fri 10, then Saturday 11 Oct is a make-up workday.
    assert found == [datetime(2025, 10, 11, 10, 0, tzinfo=UTC)]


def test_last_business_day_and_consolidation_days() -> None:
    last = "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;BYHOUR=17;BYMINUTE=0"
    found = due_dates(
        last, BERLIN, datetime(2026, 12, 1), datetime(2026, 12, 31), datetime(2026, 1, 1)
    )
    assert found == [datetime(2026, 12, 31, 16, 0, tzinfo=UTC)]  # Thu 31 Dec (not a holiday)
    after = business_days_after(
        BERLIN, datetime(2026, 4, 2, 16, tzinfo=UTC), 1, datetime(2026, 1, 1, 18).time()
    )
    assert after == datetime(2026, 4, 7, 16, tzinfo=UTC)  # over Good Friday and Easter


@pytest.mark.parametrize(
    "text", ["FREQ=HOURLY", "FREQ=MONTHLY;BYHOUR=1,2", "NOT A RULE", "FREQ=DAILY;BYSECOND=5"]
)
def test_unschedulable_rules_are_refused(text: str) -> None:
    with pytest.raises(RuleError):
        parse_rule(text, datetime(2026, 1, 1))


CREATE = """
mutation($input: CreateRecurringTaskInput!) {
  createRecurringTask(input: $input) {
    recurringTask { id rrule region { id } regions { region { id } departments { id } }
      instances { edges { node { id title source dueAt dependsOn { id }
                                 raci { role person { id } department { id } } } } } }
    userErrors { field message code }
  }
}
"""


def series_input(**changes: Any) -> dict[str, Any]:
    start = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    base: dict[str, Any] = {
        "requestId": "req-1",
        "title": "Submit regional sales data",
        "rrule": THIRD_BUSINESS_DAY,
        "regionId": "sh",
        "accountablePersonId": "li",
        "consolidationTitle": "Consolidate the monthly report",
        "startsAt": start.isoformat(),
        "consolidationBusinessDays": 2,
    }
    return {**base, **changes}


@pytest.fixture
async def api(tasks_api: SubgraphClient) -> SubgraphClient:
    return await seeded(tasks_api)


async def create_series(api: SubgraphClient, **changes: Any) -> dict[str, Any]:
    data = await api.execute(CREATE, {"input": series_input(**changes)}, caller=LI)
    payload: dict[str, Any] = data["createRecurringTask"]
    return payload


async def test_series_creates_one_task_per_region_and_a_dependent_consolidation(
    api: SubgraphClient,
) -> None:
    payload = await create_series(api)
    assert payload["userErrors"] == []
    series = payload["recurringTask"]
    assert series["regions"] == [
        {"region": {"id": "sh"}, "departments": [{"id": "rd"}]},
        {"region": {"id": "de"}, "departments": [{"id": "eu"}]},
    ]
    instances = nodes(series["instances"])
    assert instances, "at least one occurrence lies within the 45-day horizon"
    assert {t["source"] for t in instances} == {"RECURRING"}
    consolidations = [t for t in instances if t["title"].startswith("Consolidate")]
    regional = [t for t in instances if not t["title"].startswith("Consolidate")]
    assert len(regional) == 2 * len(consolidations)
    first = consolidations[0]
    assert len(first["dependsOn"]) == 2
    by_id = {t["id"]: t for t in regional}
    depended = [by_id[d["id"]] for d in first["dependsOn"]]
    assert sorted(t["title"] for t in depended) == [
        "Submit regional sales data (Germany)",
        "Submit regional sales data (Shanghai)",
    ]
    assert max(t["dueAt"] for t in depended) < first["dueAt"]
    berlin_task = next(t for t in depended if "Germany" in t["title"])
    assert {(r["role"], (r["person"] or r["department"])["id"]) for r in berlin_task["raci"]} == {
        ("A", "li"),
        ("R", "eu"),
    }
    assert datetime.fromisoformat(berlin_task["dueAt"]).astimezone(BERLIN.zone).hour == 18

    before = await snapshot(api)
    refused = await update(api, taskId=first["id"], status="IN_PROGRESS")
    assert [e["code"] for e in refused["userErrors"]] == ["DEPENDENCY_NOT_DONE"]
    assert await snapshot(api) == before


async def test_extension_timer_creates_nothing_twice(api: SubgraphClient) -> None:
    series = (await create_series(api))["recurringTask"]
    count = await api.runtime.pool.fetchval("SELECT count(*) FROM tasks")
    extend = await timer(api, "recurring.extend", series["id"])
    assert extend["due_at"] > datetime.now(UTC) + timedelta(hours=23)
    assert await fire(api, "recurring.extend", series["id"])
    assert await api.runtime.pool.fetchval("SELECT count(*) FROM tasks") == count
    again = await timer(api, "recurring.extend", series["id"])
    assert again["fired_at"] is None  # re-armed for tomorrow
    timer_id, version = await make_due(api, "recurring.extend", series["id"])
    assert await fire_timer(api.runtime, TIMER_HANDLERS, timer_id, version)
    assert await fire_timer(api.runtime, TIMER_HANDLERS, timer_id, version) is False
    assert await api.runtime.pool.fetchval("SELECT count(*) FROM tasks") == count


async def test_series_refusals_change_nothing(api: SubgraphClient) -> None:
    cases: list[tuple[Caller, dict[str, Any], list[tuple[str, str]]]] = [
        (LI, {"rrule": "FREQ=MINUTELY"}, [("rrule", "INVALID_RRULE")]),
        (LI, {"regionId": "mars"}, [("regionId", "REGION_NOT_FOUND")]),
        (LI, {"title": ""}, [("title", "INVALID")]),
        (LI, {"consolidationBusinessDays": -1}, [("consolidationBusinessDays", "INVALID")]),
        (WANG, {}, [("requestId", "FORBIDDEN")]),
    ]
    for caller, changes, expected in cases:
        before = await snapshot(api)
        data = await api.execute(CREATE, {"input": series_input(**changes)}, caller=caller)
        payload = data["createRecurringTask"]
        assert payload["recurringTask"] is None
        assert [(e["field"], e["code"]) for e in payload["userErrors"]] == expected, changes
        assert await snapshot(api) == before
