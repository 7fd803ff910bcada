"""suggestMeetingSlots across Shanghai, Berlin and Los Angeles, DST changes and holidays."""

from __future__ import annotations

from typing import Any

from tests.requests.helpers import LI
from tests.support import SubgraphClient

SLOTS = """
query($ids: [ID!]!, $optional: [ID!], $minutes: Int!, $from: DateTime!, $to: DateTime!) {
  suggestMeetingSlots(attendeeIds: $ids, optionalAttendeeIds: $optional,
                      durationMinutes: $minutes, from: $from, to: $to, limit: 50) {
    slots { startsAt endsAt optionalAttendeeCount optionalAttendees { id }
            localStarts { personId timeZone startsAt } }
    reasonCode reason
  }
}
"""


async def slots(
    api: SubgraphClient,
    ids: list[str],
    start: str,
    end: str,
    minutes: int = 60,
    optional: list[str] | None = None,
) -> dict[str, Any]:
    variables = {"ids": ids, "optional": optional, "minutes": minutes, "from": start, "to": end}
    data = await api.execute(SLOTS, variables, caller=LI)
    result: dict[str, Any] = data["suggestMeetingSlots"]
    return result


async def test_shanghai_and_berlin_in_winter_meet_in_the_chinese_afternoon(
    api: SubgraphClient,
) -> None:
    found = await slots(api, ["li", "anna"], "2026-01-12T00:00:00Z", "2026-01-13T00:00:00Z")
    # Shanghai 16:00-18:00 (UTC+8) is Berlin 09:00-11:00 (UTC+1): 08:00-10:00 UTC.
    assert [s["startsAt"] for s in found["slots"]] == [
        "2026-01-12T08:00:00+00:00",
        "2026-01-12T08:30:00+00:00",
        "2026-01-12T09:00:00+00:00",
    ]
    local = {x["personId"]: x["startsAt"] for x in found["slots"][0]["localStarts"]}
    assert local == {"li": "2026-01-12T16:00:00+08:00", "anna": "2026-01-12T09:00:00+01:00"}
    assert found["reasonCode"] is None


async def test_shanghai_and_los_angeles_lose_their_overlap_when_us_dst_starts(
    api: SubgraphClient,
) -> None:
    # Shanghai 09:00 is 17:00 in Los Angeles under PST, 18:00 under PDT (from 2026-03-08).
    found = await slots(
        api, ["li", "bob"], "2026-03-02T00:00:00Z", "2026-03-14T00:00:00Z", minutes=30
    )
    starts = [s["startsAt"] for s in found["slots"]]
    assert starts
    assert all(s < "2026-03-08" for s in starts)
    assert "2026-03-06T01:00:00+00:00" in starts
    local = {x["personId"]: x["startsAt"] for x in found["slots"][0]["localStarts"]}
    assert local["bob"].endswith("-08:00")
    after = await slots(
        api, ["li", "bob"], "2026-03-09T00:00:00Z", "2026-03-14T00:00:00Z", minutes=30
    )
    assert after["slots"] == []
    assert after["reasonCode"] == "NO_COMMON_SLOT"


async def test_berlin_and_los_angeles_meet_only_between_the_two_dst_changes(
    api: SubgraphClient,
) -> None:
    # US clocks move on 2026-03-08, European ones on 2026-03-29: for those three weeks Los
    # Angeles 09:00 (PDT) is Berlin 17:00 (CET), one shared working hour.
    found = await slots(
        api, ["anna", "bob"], "2026-03-01T00:00:00Z", "2026-03-31T00:00:00Z", minutes=60
    )
    starts = [s["startsAt"] for s in found["slots"]]
    assert starts
    assert all("2026-03-09" <= s < "2026-03-28" for s in starts)
    assert all(s.endswith("T16:00:00+00:00") for s in starts)


async def test_three_continents_have_no_common_hour(api: SubgraphClient) -> None:
    found = await slots(
        api, ["li", "anna", "bob"], "2026-01-12T00:00:00Z", "2026-01-24T00:00:00Z", minutes=30
    )
    assert found["slots"] == []
    assert found["reasonCode"] == "NO_COMMON_SLOT"
    assert "30-minute" in found["reason"]


async def test_chinese_makeup_saturday_works_and_spring_festival_does_not(
    api: SubgraphClient,
) -> None:
    saturday = await slots(api, ["li"], "2026-02-13T16:00:00Z", "2026-02-14T16:00:00Z")
    assert saturday["slots"]
    assert all(s["startsAt"].startswith("2026-02-14") for s in saturday["slots"])
    festival = await slots(api, ["li"], "2026-02-16T16:00:00Z", "2026-02-17T16:00:00Z")
    assert festival["slots"] == []
    assert festival["reasonCode"] == "NO_WORKING_TIME"
    assert "li" in festival["reason"]


async def test_slots_fitting_optional_attendees_rank_first(api: SubgraphClient) -> None:
    found = await slots(
        api, ["li"], "2026-01-12T00:00:00Z", "2026-01-13T00:00:00Z", optional=["anna"]
    )
    counts = [s["optionalAttendeeCount"] for s in found["slots"]]
    assert counts == sorted(counts, reverse=True)
    assert found["slots"][0]["startsAt"] == "2026-01-12T08:00:00+00:00"
    assert found["slots"][0]["optionalAttendees"] == [{"id": "anna"}]
    assert counts[-1] == 0
    # the lunch break (12:00-13:30 Shanghai = 04:00-05:30 UTC) is never offered
    assert not any("T04:" in s["startsAt"] or "T05:00" in s["startsAt"] for s in found["slots"])


async def test_bad_questions_get_a_reason(api: SubgraphClient) -> None:
    unknown = await slots(api, ["li", "ghost"], "2026-01-12T00:00:00Z", "2026-01-13T00:00:00Z")
    assert (unknown["slots"], unknown["reasonCode"]) == ([], "UNKNOWN_PERSON")
    backwards = await slots(api, ["li"], "2026-01-13T00:00:00Z", "2026-01-12T00:00:00Z")
    assert backwards["reasonCode"] == "INVALID_QUESTION"
    too_long = await slots(api, ["li"], "2026-01-01T00:00:00Z", "2026-03-01T00:00:00Z")
    assert too_long["reasonCode"] == "INVALID_QUESTION"
