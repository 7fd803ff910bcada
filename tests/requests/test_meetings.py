"""Meetings: scheduling, iCalendar invites over HTTP, agenda, minutes and their deadline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from icalendar import Calendar, vCalAddress

from services.requests.worker import TIMER_HANDLERS
from shared.timer_firing import sweep
from tests.requests.helpers import (
    CHEN,
    LI,
    WANG,
    ZHAO,
    active_request,
    create_request,
    outbox,
    snapshot,
)
from tests.support import Caller, SubgraphClient, nodes

MEETING_FIELDS = """
id kind title status startsAt endsAt mode joinUrl location agendaSentAt minutesDueAt sequence
invitePath materials { title url } organizer { id }
agenda { title minutes presenter { id } }
attendees { edges { node { required person { id } } } }
minutes { summary decisions late publishedBy { id }
          actionItems { id title dueAt owner { id } department { id } } }
"""


def mutation(name: str, input_type: str) -> str:
    return f"""
mutation($input: {input_type}!) {{
  {name}(input: $input) {{ meeting {{ {MEETING_FIELDS} }} userErrors {{ field message code }} }}
}}
"""


SCHEDULE = mutation("scheduleMeeting", "ScheduleMeetingInput")
RESCHEDULE = mutation("rescheduleMeeting", "RescheduleMeetingInput")
CANCEL = mutation("cancelMeeting", "MeetingInput")
SEND_AGENDA = mutation("sendAgenda", "SendAgendaInput")
PUBLISH = mutation("publishMinutes", "PublishMinutesInput")

STARTS = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def meeting_input(request_id: str, **changes: Any) -> dict[str, Any]:
    base = {
        "requestId": request_id,
        "kind": "KICKOFF",
        "title": "Kickoff",
        "startsAt": STARTS.isoformat(),
        "endsAt": (STARTS + timedelta(hours=1)).isoformat(),
        "mode": "HYBRID",
        "joinUrl": "https://meet.example/kickoff",
        "location": "HQ 3F",
        "agenda": [
            {"title": "Goals and background", "minutes": 20, "presenterId": "li"},
            {"title": "Responsibility split (RACI)", "minutes": 20, "presenterId": "wang"},
            {"title": "Risks", "minutes": 20},
        ],
        "attendees": [
            {"personId": "li"},
            {"personId": "wang"},
            {"personId": "anna", "required": False},
        ],
    }
    return {**base, **changes}


async def run(api: SubgraphClient, document: str, caller: Caller, **input: Any) -> dict[str, Any]:
    data = await api.execute(document, {"input": input}, caller=caller)
    payload: dict[str, Any] = next(iter(data.values()))
    return payload


async def scheduled(api: SubgraphClient) -> tuple[str, dict[str, Any]]:
    rid = (await active_request(api))["id"]
    payload = await run(api, SCHEDULE, CHEN, **meeting_input(rid))
    assert payload["userErrors"] == []
    return rid, payload["meeting"]


async def test_schedule_arms_the_minutes_deadline_and_emits(api: SubgraphClient) -> None:
    _, meeting = await scheduled(api)
    assert meeting["minutesDueAt"] == "2026-03-03T09:00:00+00:00"
    assert [a["person"]["id"] for a in nodes(meeting["attendees"]) if a["required"]] == [
        "li",
        "wang",
    ]
    due = await api.runtime.pool.fetchval(
        "SELECT due_at FROM timers WHERE kind = 'requests.minutes_due' AND subject = $1",
        meeting["id"],
    )
    assert due == datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
    event = [d for t, d in await outbox(api) if t == "requests.meeting.scheduled"][-1]
    assert event["optional_attendee_ids"] == ["anna"]
    assert event["required_attendee_ids"] == ["li", "wang"]


async def test_invite_is_downloadable_as_icalendar(api: SubgraphClient) -> None:
    _, meeting = await scheduled(api)
    response = await api.http.get(meeting["invitePath"], headers=await api.headers(WANG))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    assert calendar["METHOD"] == "REQUEST"
    event = calendar.walk("VEVENT")[0]
    assert str(event["UID"]) == f"{meeting['id']}@liaison"
    assert event.decoded("DTSTART") == STARTS
    assert event["SEQUENCE"] == 0
    assert str(event["URL"]) == "https://meet.example/kickoff"
    attendees = cast(list[vCalAddress], event["ATTENDEE"])
    roles = {str(a): a.params["ROLE"] for a in attendees}
    assert roles == {
        "mailto:li@x.example": "REQ-PARTICIPANT",
        "mailto:wang@x.example": "REQ-PARTICIPANT",
        "mailto:anna@x.example": "OPT-PARTICIPANT",
    }
    assert "Risks - 20 min" in str(event["DESCRIPTION"])
    text = await api.execute(
        "query($id: ID!) { meeting(id: $id) { icalendar } }", {"id": meeting["id"]}, caller=LI
    )
    assert Calendar.from_ical(text["meeting"]["icalendar"]).walk("VEVENT")[0]["UID"] == event["UID"]


async def test_invite_needs_a_token_and_a_reason_to_see_it(api: SubgraphClient) -> None:
    _, meeting = await scheduled(api)
    anonymous = await api.http.get(meeting["invitePath"], headers=await api.headers(None))
    assert anonymous.status_code == 401
    no_gateway = await api.http.get(meeting["invitePath"], headers={"authorization": "Bearer x"})
    assert no_gateway.status_code == 401
    stranger = await api.http.get(meeting["invitePath"], headers=await api.headers(ZHAO))
    assert stranger.status_code == 404
    # anna's department does take part, but an invitee from outside would see it as well
    invited_outsider = Caller("anna", departments=("elsewhere",))
    allowed = await api.http.get(meeting["invitePath"], headers=await api.headers(invited_outsider))
    assert allowed.status_code == 200


@pytest.mark.parametrize(
    ("caller", "changes", "code"),
    [
        (WANG, {}, "NOT_LEAD_DEPARTMENT"),
        (LI, {"joinUrl": None}, "JOIN_URL_REQUIRED"),
        (LI, {"location": " "}, "LOCATION_REQUIRED"),
        (LI, {"endsAt": STARTS.isoformat()}, "INVALID_TIME"),
        (LI, {"agenda": [{"title": "long", "minutes": 90}]}, "AGENDA_TOO_LONG"),
        (LI, {"attendees": [{"personId": "li", "required": False}]}, "ATTENDEE_REQUIRED"),
        (LI, {"attendees": [{"personId": "ghost"}]}, "NOT_FOUND"),
    ],
)
async def test_refused_schedules_change_nothing(
    api: SubgraphClient, caller: Caller, changes: dict[str, Any], code: str
) -> None:
    rid = (await active_request(api))["id"]
    before = await snapshot(api)
    payload = await run(api, SCHEDULE, caller, **meeting_input(rid, **changes))
    assert payload["meeting"] is None
    assert [e["code"] for e in payload["userErrors"]] == [code]
    assert await snapshot(api) == before
    assert await api.runtime.pool.fetchval("SELECT count(*) FROM meetings") == 0


async def test_no_meetings_before_approval(api: SubgraphClient) -> None:
    rid = (await create_request(api))["id"]
    payload = await run(api, SCHEDULE, LI, **meeting_input(rid))
    assert payload["userErrors"][0]["code"] == "INVALID_STATUS"
    assert "DRAFT" in payload["userErrors"][0]["message"]


async def test_send_agenda_records_when_and_what(api: SubgraphClient) -> None:
    _, meeting = await scheduled(api)
    refused = await run(api, SEND_AGENDA, WANG, meetingId=meeting["id"])
    assert [e["code"] for e in refused["userErrors"]] == ["NOT_LEAD_DEPARTMENT"]
    material = {"title": "Background deck", "url": "https://drive.example/deck"}
    sent = await run(api, SEND_AGENDA, LI, meetingId=meeting["id"], materials=[material])
    assert sent["meeting"]["agendaSentAt"] is not None
    assert sent["meeting"]["materials"] == [material]
    event = [d for t, d in await outbox(api) if t == "requests.meeting.agenda_sent"][-1]
    assert event["attendee_ids"] == ["li", "wang", "anna"]


def action(title: str, owner: str, department: str) -> dict[str, str]:
    return {
        "title": title,
        "ownerId": owner,
        "departmentId": department,
        "dueAt": (STARTS + timedelta(days=7)).isoformat(),
    }


async def test_publish_minutes_emits_each_action_item_and_stops_the_clock(
    api: SubgraphClient,
) -> None:
    rid, meeting = await scheduled(api)
    published = await run(
        api,
        PUBLISH,
        LI,
        meetingId=meeting["id"],
        summary="Goals agreed",
        decisions=["Weekly progress meeting on Mondays"],
        actionItems=[action("Print materials", "chen", "mkt"), action("Demo build", "wang", "rd")],
    )
    assert published["userErrors"] == []
    minutes = published["meeting"]["minutes"]
    assert minutes["decisions"] == ["Weekly progress meeting on Mondays"]
    assert [i["owner"]["id"] for i in minutes["actionItems"]] == ["chen", "wang"]
    events = await outbox(api)
    items = [d for t, d in events if t == "requests.action_item.created"]
    assert [(i["title"], i["department_id"], i["request_id"]) for i in items] == [
        ("Print materials", "mkt", rid),
        ("Demo build", "rd", rid),
    ]
    assert items[0]["chair_id"] == "chen"  # who scheduled the meeting chairs it
    assert items[0]["lead_department_head_id"] == "li"
    assert [t for t, _ in events].count("requests.minutes.published") == 1
    assert await api.runtime.pool.fetchval("SELECT count(*) FROM timers") == 0
    before = await snapshot(api)
    again = await run(api, PUBLISH, LI, meetingId=meeting["id"], summary="again")
    assert [e["code"] for e in again["userErrors"]] == ["MINUTES_ALREADY_PUBLISHED"]
    assert await snapshot(api) == before


async def test_action_items_are_validated(api: SubgraphClient) -> None:
    _, meeting = await scheduled(api)
    before = await snapshot(api)
    refused = await run(
        api,
        PUBLISH,
        LI,
        meetingId=meeting["id"],
        summary="x",
        actionItems=[action("Review", "zhao", "legal"), action("", "ghost", "mkt")],
    )
    assert {(e["field"], e["code"]) for e in refused["userErrors"]} == {
        ("actionItems.0.departmentId", "DEPARTMENT_NOT_TAKING_PART"),
        ("actionItems.1.title", "INVALID"),
        ("actionItems.1.ownerId", "NOT_FOUND"),
    }
    assert await snapshot(api) == before


async def test_late_minutes_fire_the_overdue_event_once(api: SubgraphClient) -> None:
    _, meeting = await scheduled(api)
    pool = api.runtime.pool
    await pool.execute("UPDATE timers SET due_at = now() - interval '1 second'")
    assert await sweep(api.runtime, TIMER_HANDLERS) == 1
    assert await sweep(api.runtime, TIMER_HANDLERS) == 0
    overdue = [d for t, d in await outbox(api) if t == "requests.minutes.overdue"]
    assert [(o["meeting_id"], o["organizer_id"]) for o in overdue] == [(meeting["id"], "chen")]
    # published after the deadline, the minutes are marked late
    await pool.execute("UPDATE meetings SET minutes_due_at = now() - interval '1 minute'")
    late = await run(api, PUBLISH, LI, meetingId=meeting["id"], summary="finally")
    assert late["meeting"]["minutes"]["late"] is True


async def test_no_overdue_event_when_minutes_came_in_time(api: SubgraphClient) -> None:
    _, meeting = await scheduled(api)
    await run(api, PUBLISH, LI, meetingId=meeting["id"], summary="on time")
    await api.runtime.pool.execute("UPDATE timers SET due_at = now() - interval '1 second'")
    await sweep(api.runtime, TIMER_HANDLERS)
    assert "requests.minutes.overdue" not in [t for t, _ in await outbox(api)]


async def test_reschedule_moves_the_deadline_and_cancel_makes_a_cancel_invite(
    api: SubgraphClient,
) -> None:
    _, meeting = await scheduled(api)
    later = STARTS + timedelta(days=1)
    moved = await run(
        api,
        RESCHEDULE,
        LI,
        meetingId=meeting["id"],
        startsAt=later.isoformat(),
        endsAt=(later + timedelta(hours=1)).isoformat(),
    )
    assert moved["meeting"]["sequence"] == 1
    assert moved["meeting"]["minutesDueAt"] == "2026-03-04T09:00:00+00:00"
    due = await api.runtime.pool.fetchval("SELECT due_at FROM timers")
    assert due == later + timedelta(hours=25)
    cancelled = await run(api, CANCEL, LI, meetingId=meeting["id"])
    assert cancelled["meeting"]["status"] == "CANCELLED"
    assert await api.runtime.pool.fetchval("SELECT count(*) FROM timers") == 0
    response = await api.http.get(meeting["invitePath"], headers=await api.headers(LI))
    calendar = Calendar.from_ical(response.content)
    assert calendar["METHOD"] == "CANCEL"
    assert calendar.walk("VEVENT")[0]["SEQUENCE"] == 2
    before = await snapshot(api)
    refused = await run(api, PUBLISH, LI, meetingId=meeting["id"], summary="x")
    assert [e["code"] for e in refused["userErrors"]] == ["MEETING_CANCELLED"]
    assert await snapshot(api) == before


async def test_request_lists_its_meetings(api: SubgraphClient) -> None:
    rid, meeting = await scheduled(api)
    data = await api.execute(
        "query($id: ID!) { request(id: $id) {"
        " meetings { edges { node { id organizer { id } } } } } }",
        {"id": rid},
        caller=WANG,
    )
    assert nodes(data["request"]["meetings"]) == [
        {"id": meeting["id"], "organizer": {"id": "chen"}}
    ]
