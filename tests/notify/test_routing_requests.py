"""Routing of request events that name no recipients: overdue minutes, ending secondments."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from shared.events.contracts.requests import MinutesOverdue, SecondmentEndingSoon
from tests.notify.conftest import Events, seed_people
from tests.support import SubgraphClient

# The directory of conftest.HEADS: mkt -> li, rd -> chen, ops -> zhou, legal has no head.


async def inbox(api: SubgraphClient) -> list[dict[str, Any]]:
    rows = await api.runtime.pool.fetch(
        "SELECT recipient_id, type, title, body, link, urgency FROM notifications"
        " ORDER BY type, recipient_id"
    )
    return [dict(r) for r in rows]


def minutes_overdue(meeting_id: str, organizer: str | None, lead: str) -> MinutesOverdue:
    return MinutesOverdue(
        meeting_id=meeting_id,
        request_id="cr1",
        title="Weekly sync",
        ended_at=datetime(2026, 3, 2, 10, 0, tzinfo=UTC),
        due_at=datetime(2026, 3, 3, 10, 0, tzinfo=UTC),
        organizer_id=organizer,
        lead_department_id=lead,
    )


async def test_overdue_minutes_tell_the_organiser_and_the_lead_head(
    notify_api: SubgraphClient, events: Events
) -> None:
    await events.emit(
        "requests", "requests.minutes.overdue", "m1", minutes_overdue("m1", "wang", "mkt")
    )

    found = await inbox(notify_api)
    assert [(n["recipient_id"], n["urgency"]) for n in found] == [
        ("li", "NORMAL"),
        ("wang", "NORMAL"),
    ]
    assert {n["title"] for n in found} == {"Minutes overdue (纪要逾期): Weekly sync"}
    assert {n["link"] for n in found} == {"/requests/cr1/meetings/m1"}
    assert found[0]["body"].startswith("The minutes were due 2026-03-03 10:00 UTC")


async def test_overdue_minutes_tell_an_organising_head_once_and_skip_unknown_heads(
    notify_api: SubgraphClient, events: Events
) -> None:
    await events.emit(
        "requests", "requests.minutes.overdue", "m1", minutes_overdue("m1", "li", "mkt")
    )
    await events.emit(
        "requests", "requests.minutes.overdue", "m2", minutes_overdue("m2", "wang", "legal")
    )
    await events.emit(
        "requests", "requests.minutes.overdue", "m3", minutes_overdue("m3", None, "legal")
    )

    found = await inbox(notify_api)
    assert [(n["recipient_id"], n["link"]) for n in found] == [
        ("li", "/requests/cr1/meetings/m1"),
        ("wang", "/requests/cr1/meetings/m2"),
    ]


def ending(person: str) -> SecondmentEndingSoon:
    return SecondmentEndingSoon(
        id="s1",
        person_id=person,
        from_department_id="rd",
        to_department_id="ops",
        ends_on=date(2026, 5, 31),
        days_left=14,
    )


async def test_an_ending_secondment_tells_the_person_and_both_heads(
    notify_api: SubgraphClient, events: Events
) -> None:
    await seed_people(events, ("wang", "rd", "Asia/Shanghai"))
    await events.emit("requests", "requests.secondment.ending_soon", "s1", ending("wang"))

    found = await inbox(notify_api)
    assert [n["recipient_id"] for n in found] == ["chen", "wang", "zhou"]
    assert {n["title"] for n in found} == {"Secondment ending soon (借调即将结束): Wang"}
    assert {n["body"] for n in found} == {
        "Wang's secondment ends on 2026-05-31 (14 days left)."
        " Plan the hand-back and the evaluation."
    }
    assert {(n["link"], n["urgency"]) for n in found} == {("/secondments/s1", "NORMAL")}


async def test_a_head_on_loan_is_told_once_and_named_by_id_until_the_directory_knows_them(
    notify_api: SubgraphClient, events: Events
) -> None:
    await events.emit("requests", "requests.secondment.ending_soon", "s1", ending("chen"))

    found = await inbox(notify_api)
    assert [n["recipient_id"] for n in found] == ["chen", "zhou"]
    assert found[0]["title"] == "Secondment ending soon (借调即将结束): chen"
