"""The local directory copies: an older event (redelivered or overtaken) never wins."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from services.issues import service
from shared.events.contracts.requests import DepartmentUpserted, PersonUpserted
from shared.replicas import department_heads, region_calendar
from tests.issues.helpers import (
    LI,
    SHANGHAI_OFFICE,
    clock_of,
    deliver,
    new_issue,
    principal,
    seed_directory,
    seed_region,
    timeline_actions,
)
from tests.support import SubgraphClient

SHANGHAI = ZoneInfo("Asia/Shanghai")
REPORTED = datetime(2099, 11, 26, 17, tzinfo=SHANGHAI)  # a Thursday
LATER = REPORTED
"""When the newer events were made: after the directory a test seeds now (a time taken at
import would fall behind the seeding of a test that runs minutes later in a full suite), and
not before the issue is reported (a calendar change takes effect at its event's time)."""
EARLIER = LATER - timedelta(minutes=5)


async def test_an_older_region_event_does_not_bring_back_the_old_calendar(
    issues: SubgraphClient,
) -> None:
    """Friday 27 November 2099 becomes a holiday; the calendar without it, redelivered, does
    not come back (nor does the deadline it gave)."""
    await seed_directory(issues)
    issue = await service.report_issue(issues.runtime, principal(LI), new_issue(), now=REPORTED)
    holiday = SHANGHAI_OFFICE.model_copy(update={"extra_holidays": [date(2099, 11, 27)]})
    await seed_region(issues, "sh", holiday, time=LATER)
    await seed_region(issues, "sh", SHANGHAI_OFFICE, time=EARLIER)
    assert await region_calendar(issues.runtime.pool, "sh") == holiday  # type: ignore[arg-type]
    response = await clock_of(issues, issue.id, "RESPONSE")
    assert response.due_at == datetime(2099, 11, 30, 10, tzinfo=SHANGHAI)  # Monday
    assert (await timeline_actions(issues, issue.id)).count("SLA_RECALCULATED") == 1


async def test_older_department_and_person_events_change_nothing(issues: SubgraphClient) -> None:
    await seed_directory(issues)
    head = DepartmentUpserted(id="rd", code="RD", name="R&D", region_id="sh", head_id="sun")
    await deliver(issues, "requests.department.upserted", "rd", head, LATER)
    old_head = head.model_copy(update={"head_id": "boss-rd", "region_id": "eu"})
    await deliver(issues, "requests.department.upserted", "rd", old_head, EARLIER)
    assert await department_heads(issues.runtime.pool, ["rd"]) == {"rd": "sun"}
    regions = "SELECT region_id FROM department_replicas WHERE id = 'rd'"
    assert await issues.runtime.pool.fetchval(regions) == "sh"

    moved = PersonUpserted(
        id="sun", name="Sun", email="sun@x.example", department_id="rd", region_id="eu",
        time_zone="Europe/Berlin", roles=["MEMBER"],
    )  # fmt: skip
    await deliver(issues, "requests.person.upserted", "sun", moved, LATER)
    was = moved.model_copy(update={"region_id": "sh", "time_zone": "Asia/Shanghai"})
    await deliver(issues, "requests.person.upserted", "sun", was, EARLIER)
    zone = "SELECT time_zone FROM person_replicas WHERE id = 'sun'"
    assert await issues.runtime.pool.fetchval(zone) == "Europe/Berlin"
