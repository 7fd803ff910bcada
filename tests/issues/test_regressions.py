"""Regression tests for bugs other SLA engines shipped; each is named after the bug."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from services.issues import lifecycle, service
from services.issues.lifecycle import moves
from services.issues.models import Move
from services.issues.sla import alerts, escalation
from services.issues.worker import TIMER_HANDLERS
from shared.calendars import BusinessHours, WorkCalendar
from shared.timer_firing import sweep
from shared.unit_of_work import unit_of_work
from tests.issues.helpers import (
    LI,
    REPORT,
    SHANGHAI_OFFICE,
    clock_of,
    events_of,
    issue_input,
    make_due,
    new_issue,
    principal,
    seed_department,
    seed_directory,
    seed_region,
    seed_request,
    timeline_actions,
)
from tests.support import Caller, SubgraphClient

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
OPS = Caller("otto", departments=("ops",))


def at(zone: ZoneInfo, year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=zone)


async def test_holiday_is_not_applied_a_day_early_because_of_the_time_zone(
    issues: SubgraphClient,
) -> None:
    """1 October (National Day) starts at 16:00 UTC on 30 September; the afternoon of
    30 September in Shanghai is still an ordinary working afternoon."""
    await seed_directory(issues)
    reported = at(SHANGHAI, 2026, 9, 30, 16)
    issue = await service.report_issue(issues.runtime, principal(LI), new_issue(), now=reported)
    response = await clock_of(issues, issue.id, "RESPONSE")
    assert response.due_at == at(SHANGHAI, 2026, 9, 30, 18)


async def test_holiday_is_not_applied_early_west_of_utc_either(issues: SubgraphClient) -> None:
    """In Los Angeles 17:00-18:00 on 3 July is 00:00-01:00 UTC on 4 July (Independence Day):
    still working time, because the local date decides; 4 July itself is not."""
    await seed_region(issues, "us", WorkCalendar(time_zone=LOS_ANGELES.key, holiday_country="US"))
    await seed_department(issues, "sales-us", "us")
    await seed_request(issues, "cr-us", lead="sales-us", participants=())
    reporter = principal(Caller("amy", departments=("sales-us",)))
    command = new_issue(request_id="cr-us")
    eve = at(LOS_ANGELES, 2030, 7, 3, 16)
    issue = await service.report_issue(issues.runtime, reporter, command, now=eve)
    response = await clock_of(issues, issue.id, "RESPONSE")
    assert response.due_at == at(LOS_ANGELES, 2030, 7, 3, 18)
    assert response.due_at.astimezone(UTC) == datetime(2030, 7, 4, 1, tzinfo=UTC)
    holiday = at(LOS_ANGELES, 2030, 7, 4, 10)
    on_the_day = await service.report_issue(issues.runtime, reporter, command, now=holiday)
    response = await clock_of(issues, on_the_day.id, "RESPONSE")
    assert response.due_at == at(LOS_ANGELES, 2030, 7, 5, 11)


async def test_escalation_message_waits_for_working_time_not_midnight_or_weekend(
    issues: SubgraphClient,
) -> None:
    """Level 2 of a Berlin business-hours issue reaches the lead head in Shanghai: at 17:30
    on a Friday in Berlin it is 00:30 on Saturday in Shanghai, so the message waits for
    Monday 09:00 there; the Berlin head, at work, is told at once."""
    await seed_directory(issues)
    await seed_request(issues, "cr-eu", lead="mkt", participants=("ops",))
    issue = await service.report_issue(
        issues.runtime,
        principal(LI),
        new_issue(request_id="cr-eu"),
        now=at(BERLIN, 2026, 11, 20, 9),
    )
    ack = Move(issue.id, responsible_department_id="ops")
    await lifecycle.move_issue(
        issues.runtime, principal(LI), moves.ACKNOWLEDGE, ack, issue.created_at
    )
    plan = await clock_of(issues, issue.id, "PLAN")
    friday_evening = at(BERLIN, 2026, 11, 27, 17, 30)
    async with unit_of_work(issues.runtime) as uow:
        locked = await lifecycle.locked_visible_issue(uow, principal(LI), issue.id)
        for level in (1, 2):
            locked = await escalation.escalate(
                uow, locked, level, reason="plan late", actor_id=None, clock=plan,
                now=friday_evening,
            )  # fmt: skip
    first, second = await events_of(issues, "issues.issue.escalated")
    assert (first["data"]["recipient_ids"], first["data"]["deferred"]) == (["boss-ops"], {})
    assert second["data"]["recipient_ids"] == []
    monday_nine = at(SHANGHAI, 2026, 11, 30, 9)
    assert {p: datetime.fromisoformat(t) for p, t in second["data"]["deferred"].items()} == {
        "boss-mkt": monday_nine
    }
    notice_due = await issues.runtime.pool.fetchval(
        "SELECT due_at FROM timers WHERE kind = 'issue.escalation_notice'"
    )
    assert notice_due == monday_nine
    # When Monday comes (here: when the timer is made due), the message goes out, once.
    await make_due(issues, "issue.escalation_notice")
    await sweep(issues.runtime, TIMER_HANDLERS)
    await sweep(issues.runtime, TIMER_HANDLERS)
    [notice] = await events_of(issues, "issues.issue.escalation_notice")
    assert (notice["data"]["recipient_ids"], notice["data"]["level"]) == (["boss-mkt"], 2)


async def berlin_plan_clock(api: SubgraphClient) -> tuple[str, str]:
    """An issue on a Shanghai-led request handed to Berlin (ops) on Friday 15 November 2030:
    its PLAN clock counts Berlin business hours. Returns the issue and that clock."""
    await seed_directory(api)
    await seed_request(api, "cr-eu", lead="mkt", participants=("ops",))
    reported = at(BERLIN, 2030, 11, 15, 9)
    issue = await service.report_issue(
        api.runtime, principal(LI), new_issue(request_id="cr-eu"), now=reported
    )
    ack = Move(issue.id, responsible_department_id="ops")
    await lifecycle.move_issue(api.runtime, principal(LI), moves.ACKNOWLEDGE, ack, reported)
    return issue.id, (await clock_of(api, issue.id, "PLAN")).id


async def breach_at(api: SubgraphClient, clock_id: str, now: datetime) -> None:
    """The breach timer's handler, run as if it fired at ``now``."""
    async with unit_of_work(api.runtime) as uow:
        await alerts.breach_clock(uow, clock_id, now)


async def test_breach_message_waits_for_working_time_not_midnight_or_weekend(
    issues: SubgraphClient,
) -> None:
    """The Berlin PLAN deadline is found missed at 17:30 on a Friday in Berlin: 00:30 on
    Saturday in Shanghai, where the lead department's head works. The (always URGENT) breach
    message to them waits for Monday 09:00 there; the Berlin head (level 1), at work, is told
    at once."""
    issue_id, plan = await berlin_plan_clock(issues)
    await breach_at(issues, plan, at(BERLIN, 2030, 11, 22, 17, 30))
    assert await events_of(issues, "issues.issue.sla_breached") == []
    assert "SLA_BREACHED" in await timeline_actions(issues, issue_id)
    [level_one] = await events_of(issues, "issues.issue.escalated")
    assert (level_one["data"]["recipient_ids"], level_one["data"]["deferred"]) == (["boss-ops"], {})
    held = await issues.runtime.pool.fetchval(
        "SELECT due_at FROM timers WHERE kind = 'sla.breach_notice'"
    )
    assert held == at(SHANGHAI, 2030, 11, 25, 9)
    # Monday comes (here: the timer is made due): the breach event goes out, once.
    await make_due(issues, "sla.breach_notice")
    await sweep(issues.runtime, TIMER_HANDLERS)
    await sweep(issues.runtime, TIMER_HANDLERS)
    [breach] = await events_of(issues, "issues.issue.sla_breached")
    assert (breach["data"]["metric"], breach["data"]["recipient_ids"]) == ("PLAN", ["boss-mkt"])
    assert breach["data"]["request_id"] == "cr-eu"  # notify announces it in the request's chat


async def test_breach_message_goes_out_at_once_to_a_head_at_work(issues: SubgraphClient) -> None:
    """Monday 10:00 in Berlin is 17:00 in Shanghai: the lead's head is told at once."""
    _, plan = await berlin_plan_clock(issues)
    await breach_at(issues, plan, at(BERLIN, 2030, 11, 25, 10))
    [breach] = await events_of(issues, "issues.issue.sla_breached")
    assert breach["data"]["recipient_ids"] == ["boss-mkt"]
    held = "SELECT count(*) FROM timers WHERE kind = 'sla.breach_notice'"
    assert await issues.runtime.pool.fetchval(held) == 0


async def test_escalation_of_an_urgent_issue_goes_out_at_once_even_at_night(
    issues: SubgraphClient,
) -> None:
    await seed_directory(issues)
    issue = await service.report_issue(issues.runtime, principal(LI), new_issue(urgent=True))
    midnight = at(SHANGHAI, 2026, 11, 28, 0, 0)  # Saturday
    async with unit_of_work(issues.runtime) as uow:
        locked = await lifecycle.locked_visible_issue(uow, principal(LI), issue.id)
        await escalation.escalate(
            uow, locked, 1, reason="late", actor_id=None, clock=None, now=midnight
        )
    [event] = await events_of(issues, "issues.issue.escalated")
    assert (event["data"]["recipient_ids"], event["data"]["deferred"]) == (["boss-mkt"], {})


async def test_pause_across_a_weekend_is_not_counted_twice(issues: SubgraphClient) -> None:
    """Paused Friday 17:00 to Monday 10:00: the deadline moves by the two working hours in
    the pause (Friday 17-18, Monday 9-10), not by those plus the weekend."""
    await seed_directory(issues)
    runtime, li = issues.runtime, principal(LI)
    reported = at(SHANGHAI, 2026, 11, 26, 16)
    issue = await service.report_issue(runtime, li, new_issue(), now=reported)
    await lifecycle.move_issue(runtime, li, moves.ACKNOWLEDGE, Move(issue.id), reported)
    original = (await clock_of(issues, issue.id, "PLAN")).due_at
    wait = Move(issue.id, comment="waiting for the reporter")
    await lifecycle.move_issue(runtime, li, moves.WAIT, wait, at(SHANGHAI, 2026, 11, 27, 17))
    resume = Move(issue.id)
    await lifecycle.move_issue(runtime, li, moves.RESUME, resume, at(SHANGHAI, 2026, 11, 30, 10))
    plan = await clock_of(issues, issue.id, "PLAN")
    assert plan.paused_minutes == 120
    assert plan.due_at == BusinessHours(SHANGHAI_OFFICE).add_minutes(original, 120)
    assert plan.due_at == at(SHANGHAI, 2026, 12, 2, 10, 30)


async def test_clock_is_not_breached_right_after_creation_because_of_time_zones(
    issues: SubgraphClient,
) -> None:
    """Monday 07:30 in Shanghai is still Sunday in UTC; a new clock has all its time left."""
    await seed_directory(issues)
    reported = at(SHANGHAI, 2026, 11, 30, 7, 30)
    issue = await service.report_issue(issues.runtime, principal(LI), new_issue(), now=reported)
    response = await clock_of(issues, issue.id, "RESPONSE")
    calendar = BusinessHours(SHANGHAI_OFFICE)
    assert response.remaining_minutes(calendar, reported) == 120
    assert response.due_at == at(SHANGHAI, 2026, 11, 30, 11)
    assert response.breached_at is None
    # And through the API, for an issue reported right now:
    data = await issues.execute(REPORT, {"input": issue_input()}, caller=LI)
    fresh, _ = data["reportIssue"]["issue"]["slaClocks"]
    assert (fresh["state"], fresh["breachedAt"]) == ("RUNNING", None)
    assert 118 <= fresh["remainingMinutes"] <= 120


async def test_makeup_workday_on_a_weekend_counts_as_working_time(
    issues: SubgraphClient,
) -> None:
    """Saturday 14 February 2026 is worked in lieu of a Spring Festival day, and a
    configured extra workday (Saturday 28 November) is worked too."""
    await seed_directory(issues)
    runtime, li = issues.runtime, principal(LI)
    public = await service.report_issue(runtime, li, new_issue(), now=at(SHANGHAI, 2026, 2, 13, 17))
    assert (await clock_of(issues, public.id, "RESPONSE")).due_at == at(SHANGHAI, 2026, 2, 14, 10)

    extra = SHANGHAI_OFFICE.model_copy(update={"extra_workdays": [date(2026, 11, 28)]})
    await seed_region(issues, "sh", extra)
    configured = await service.report_issue(
        runtime, li, new_issue(), now=at(SHANGHAI, 2026, 11, 27, 17)
    )
    due = (await clock_of(issues, configured.id, "RESPONSE")).due_at
    assert due == at(SHANGHAI, 2026, 11, 28, 10)


async def test_daylight_saving_change_inside_a_running_clock(issues: SubgraphClient) -> None:
    """Berlin moves to summer time on Sunday 29 March 2026: Monday 10:00 local is 08:00 UTC,
    not 09:00; a 24x7 clock across the change counts real minutes."""
    await seed_directory(issues)
    await seed_request(issues, "cr-ops", lead="ops", participants=())
    runtime, otto = issues.runtime, principal(OPS)
    business = await service.report_issue(
        runtime, otto, new_issue(request_id="cr-ops"), now=at(BERLIN, 2026, 3, 27, 17)
    )
    response = await clock_of(issues, business.id, "RESPONSE")
    assert response.due_at == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)

    night = at(BERLIN, 2026, 3, 29, 0, 30)  # CET; clocks jump from 02:00 to 03:00
    urgent = await service.report_issue(
        runtime, otto, new_issue(request_id="cr-ops", urgent=True), now=night
    )
    clock = await clock_of(issues, urgent.id, "RESPONSE")
    # Adding to the local time itself would be the bug: Python adds wall-clock hours within
    # one zone, giving the non-existent 02:30; two real hours later is 03:30 CEST.
    assert clock.due_at == night.astimezone(UTC) + timedelta(hours=2)
    assert clock.due_at.astimezone(BERLIN).hour == 3  # 00:30 CET + 2 h = 03:30 CEST
