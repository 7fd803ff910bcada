"""SLA clocks: policies and calendars, pauses, warnings once, recomputation on changes."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from services.issues import lifecycle, service
from services.issues.lifecycle import moves
from services.issues.models import Move
from services.issues.worker import TIMER_HANDLERS
from shared.calendars import BusinessHours, WorkingPeriod
from shared.timer_firing import sweep
from tests.issues.helpers import (
    BERLIN_OFFICE,
    LI,
    SHANGHAI_OFFICE,
    WANG,
    clock_of,
    events_of,
    new_issue,
    principal,
    seed_department,
    seed_directory,
    seed_region,
    shift_into_past,
    timeline_actions,
)
from tests.support import SubgraphClient

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")


def shanghai(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


async def test_business_hours_clock_counts_the_responsible_regions_office_time(
    issues: SubgraphClient,
) -> None:
    await seed_directory(issues)
    reported = shanghai(11, 26, 17)  # Thursday, an hour before closing
    issue = await service.report_issue(issues.runtime, principal(LI), new_issue(), now=reported)
    response = await clock_of(issues, issue.id, "RESPONSE")
    assert response.calendar.value == "BUSINESS_HOURS"
    assert response.region_id == "sh"
    # 17:00-18:00 Thursday, then 09:00-10:00 Friday.
    assert response.due_at == shanghai(11, 27, 10)
    plan = await clock_of(issues, issue.id, "PLAN")
    assert plan.due_at == BusinessHours(SHANGHAI_OFFICE).add_minutes(reported, 1440)
    assert plan.due_at.astimezone(SHANGHAI) == shanghai(12, 2, 9, 30)


async def test_urgent_issue_counts_around_the_clock_with_a_two_hour_plan(
    issues: SubgraphClient,
) -> None:
    await seed_directory(issues)
    reported = shanghai(11, 27, 23)  # Friday night
    command = new_issue(urgent=True)
    issue = await service.report_issue(issues.runtime, principal(LI), command, now=reported)
    for metric in ("RESPONSE", "PLAN"):
        clock = await clock_of(issues, issue.id, metric)
        assert clock.calendar.value == "AROUND_THE_CLOCK"
        assert clock.target_minutes == 120
        assert clock.due_at == reported + timedelta(hours=2)


async def test_waiting_pauses_and_the_paused_time_moves_the_deadline(
    issues: SubgraphClient,
) -> None:
    await seed_directory(issues)
    t0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    runtime, li = issues.runtime, principal(LI)
    issue = await service.report_issue(runtime, li, new_issue(urgent=True), now=t0)
    await lifecycle.move_issue(runtime, li, moves.ACKNOWLEDGE, Move(issue.id), t0)
    wait = Move(issue.id, comment="need papers")
    await lifecycle.move_issue(runtime, li, moves.WAIT, wait, t0 + timedelta(minutes=30))
    paused = await clock_of(issues, issue.id, "PLAN")
    assert (paused.state.value, paused.consumed_minutes) == ("PAUSED", 30.0)
    assert (
        await issues.runtime.pool.fetchval(
            "SELECT count(*) FROM timers WHERE subject LIKE $1", f"{paused.id}%"
        )
        == 0
    )  # no warning or breach can fire while paused

    resumed_at = t0 + timedelta(minutes=75)
    await lifecycle.move_issue(runtime, li, moves.RESUME, Move(issue.id), resumed_at)
    plan = await clock_of(issues, issue.id, "PLAN")
    assert (plan.state.value, plan.paused_minutes) == ("RUNNING", 45)
    assert plan.due_at == t0 + timedelta(minutes=120 + 45)
    timer_due = await issues.runtime.pool.fetchval(
        "SELECT due_at FROM timers WHERE kind = 'sla.clock' AND subject = $1", plan.id
    )
    assert timer_due == plan.due_at


async def test_warnings_go_out_once_each_even_after_pause_and_resume(
    issues: SubgraphClient,
) -> None:
    await seed_directory(issues)
    runtime, li = issues.runtime, principal(LI)
    issue = await service.report_issue(runtime, li, new_issue(urgent=True))
    await shift_into_past(issues, issue.id, 95)  # past 50% and 75% of both 2-hour clocks

    assert await sweep(runtime, TIMER_HANDLERS) == 4
    warnings = await events_of(issues, "issues.issue.sla_warning")
    assert sorted((w["data"]["metric"], w["data"]["percent"]) for w in warnings) == [
        ("PLAN", 50),
        ("PLAN", 75),
        ("RESPONSE", 50),
        ("RESPONSE", 75),
    ]
    first = warnings[0]["data"]
    assert first["recipient_ids"] == ["boss-mkt"]  # head of the responsible (still lead) dept
    assert (first["urgent"], first["urgency"]) == (True, "URGENT")
    assert 20 <= first["remaining_minutes"] <= 25

    await lifecycle.move_issue(runtime, li, moves.ACKNOWLEDGE, Move(issue.id))
    await lifecycle.move_issue(runtime, li, moves.WAIT, Move(issue.id, comment="papers"))
    await lifecycle.move_issue(runtime, li, moves.RESUME, Move(issue.id))
    assert await sweep(runtime, TIMER_HANDLERS) == 0
    assert len(await events_of(issues, "issues.issue.sla_warning")) == 4
    assert (await timeline_actions(issues, issue.id)).count("SLA_WARNING") == 4


async def test_warning_percentages_are_configurable(issues: SubgraphClient) -> None:
    await seed_directory(issues)
    settings = issues.runtime.settings.model_copy(update={"issues_sla_warn_percents": [90, 25]})
    runtime = dataclasses.replace(issues.runtime, settings=settings)
    issue = await service.report_issue(runtime, principal(LI), new_issue(urgent=True))
    response = await clock_of(issues, issue.id, "RESPONSE")
    rows = await issues.runtime.pool.fetch(
        "SELECT subject, due_at FROM timers WHERE kind = 'sla.warning' AND subject LIKE $1",
        f"{response.id}:%",
    )
    offsets = {r["subject"].split(":")[1]: r["due_at"] - response.started_at for r in rows}
    assert offsets == {"25": timedelta(minutes=30), "90": timedelta(minutes=108)}


async def test_a_calendar_change_recomputes_running_deadlines_and_rearms(
    issues: SubgraphClient,
) -> None:
    await seed_directory(issues)
    issue = await service.report_issue(
        issues.runtime, principal(LI), new_issue(), now=shanghai(11, 28, 17, year=2030)
    )
    before = await clock_of(issues, issue.id, "RESPONSE")
    version = await issues.runtime.pool.fetchval(
        "SELECT version FROM timers WHERE subject = $1", before.id
    )
    # Friday 29 November becomes a company holiday (decided before the clock started).
    holiday = SHANGHAI_OFFICE.model_copy(update={"extra_holidays": [date(2030, 11, 29)]})
    await seed_region(issues, "sh", holiday)

    after = await clock_of(issues, issue.id, "RESPONSE")
    assert after.due_at == shanghai(12, 2, 10, year=2030)  # Monday 10:00
    timer = await issues.runtime.pool.fetchrow(
        "SELECT due_at, version FROM timers WHERE subject = $1", before.id
    )
    assert timer is not None
    assert (timer["due_at"], timer["version"]) == (after.due_at, version + 1)
    assert "SLA_RECALCULATED" in await timeline_actions(issues, issue.id)


async def test_reassigning_moves_running_clocks_to_the_new_region(issues: SubgraphClient) -> None:
    await seed_directory(issues)
    runtime, li = issues.runtime, principal(LI)
    reported = shanghai(11, 26, 15)  # 08:00 in Berlin
    issue = await service.report_issue(runtime, li, new_issue(), now=reported)
    await lifecycle.move_issue(runtime, li, moves.ACKNOWLEDGE, Move(issue.id), reported)
    move = Move(issue.id, responsible_department_id="ops")
    await lifecycle.move_issue(runtime, li, moves.REASSIGN, move, reported)
    plan = await clock_of(issues, issue.id, "PLAN")
    assert plan.region_id == "eu"
    berlin = BusinessHours(
        SHANGHAI_OFFICE.model_copy(update={"time_zone": "Europe/Berlin", "holiday_country": "DE"})
    )
    assert plan.due_at == berlin.add_minutes(reported, 1440)


async def test_reassigning_mid_clock_keeps_the_working_minutes_already_counted(
    issues: SubgraphClient,
) -> None:
    """Reported Monday 09:00 in Shanghai, handed to Berlin at 15:00: the 270 minutes worked
    in Shanghai (09:00-12:00, 13:30-15:00) stay counted and the 1170 left count in Berlin from
    08:00 there; recounting from the start (02:00 in Berlin) would forget them."""
    await seed_directory(issues)
    runtime, li = issues.runtime, principal(LI)
    reported = shanghai(11, 25, 9, year=2030)
    issue = await service.report_issue(runtime, li, new_issue(), now=reported)
    await lifecycle.move_issue(runtime, li, moves.ACKNOWLEDGE, Move(issue.id), reported)
    handed = reported + timedelta(hours=6)
    move = Move(issue.id, responsible_department_id="ops")
    await lifecycle.move_issue(runtime, li, moves.REASSIGN, move, handed)
    plan = await clock_of(issues, issue.id, "PLAN")
    assert (plan.region_id, plan.consumed_minutes, plan.segment_started_at) == ("eu", 270, handed)
    assert plan.due_at == BusinessHours(BERLIN_OFFICE).add_minutes(handed, 1170)
    timer_due = await issues.runtime.pool.fetchval(
        "SELECT due_at FROM timers WHERE kind = 'sla.clock' AND subject = $1", plan.id
    )
    assert timer_due == plan.due_at


async def test_a_calendar_change_mid_clock_keeps_the_minutes_counted_so_far(
    issues: SubgraphClient,
) -> None:
    """Shanghai's working day becomes 08:00-18:00 without a break on Tuesday at 12:00: the
    630 minutes counted until then under the old hours stay (the new hours would make them
    720); the 810 left count under the new hours."""
    await seed_directory(issues)
    runtime, li = issues.runtime, principal(LI)
    reported = shanghai(11, 25, 9, year=2030)
    issue = await service.report_issue(runtime, li, new_issue(), now=reported)
    await lifecycle.move_issue(runtime, li, moves.ACKNOWLEDGE, Move(issue.id), reported)
    longer = SHANGHAI_OFFICE.model_copy(
        update={
            "working_hours": [
                WorkingPeriod(weekday=day, start=time(8), end=time(18)) for day in range(1, 6)
            ]
        }
    )
    changed = shanghai(11, 26, 12, year=2030)
    await seed_region(issues, "sh", longer, time=changed)
    plan = await clock_of(issues, issue.id, "PLAN")
    assert (plan.consumed_minutes, plan.segment_started_at) == (630, changed)
    assert plan.due_at == BusinessHours(longer).add_minutes(changed, 810)
    assert plan.due_at == shanghai(11, 27, 15, 30, year=2030)


async def test_a_late_acknowledgement_counts_as_breached_even_before_the_sweep(
    issues: SubgraphClient,
) -> None:
    await seed_directory(issues)
    runtime = issues.runtime
    t0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    issue = await service.report_issue(runtime, principal(WANG), new_issue(urgent=True), now=t0)
    late = t0 + timedelta(minutes=121)
    await lifecycle.move_issue(runtime, principal(LI), moves.ACKNOWLEDGE, Move(issue.id), late)
    response = await clock_of(issues, issue.id, "RESPONSE")
    assert (response.state.value, response.met_at, response.elapsed_minutes) == (
        "BREACHED",
        late,
        121.0,
    )
    [breach] = await events_of(issues, "issues.issue.sla_breached")
    assert breach["data"]["metric"] == "RESPONSE"
    await sweep(runtime, TIMER_HANDLERS)  # fires the (week-old) PLAN deadline only
    breaches = await events_of(issues, "issues.issue.sla_breached")
    assert [b["data"]["metric"] for b in breaches] == ["RESPONSE", "PLAN"]


async def test_clocks_switch_to_business_hours_when_the_department_becomes_known(
    issues: SubgraphClient,
) -> None:
    """Until the responsible department's region is known a clock counts 24x7 (stricter);
    the department's event moves it onto that region's working hours."""
    reported = shanghai(11, 26, 17)
    issue = await service.report_issue(issues.runtime, principal(LI), new_issue(), now=reported)
    early = await clock_of(issues, issue.id, "RESPONSE")
    assert (early.region_id, early.due_at) == (None, reported + timedelta(minutes=120))

    await seed_region(issues, "sh", SHANGHAI_OFFICE)
    await seed_department(issues, "mkt", "sh", head_id="boss-mkt")
    known = await clock_of(issues, issue.id, "RESPONSE")
    assert (known.region_id, known.due_at) == ("sh", shanghai(11, 27, 10))
