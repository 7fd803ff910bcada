"""E-mail over SMTP to a real local server (aiosmtpd): Chinese and English templates, text
and HTML, meeting invitations with the .ics, quiet hours, channels per urgency."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from arq.worker import Worker
from icalendar import Calendar

from shared.events.contracts.requests import MeetingScheduled
from tests.notify.conftest import (
    Events,
    Mailbox,
    delivery_rows,
    issue_reported,
    seed_people,
    wait_for,
)
from tests.support import Caller, SubgraphClient

LI = Caller("li", departments=("mkt",))
ZHOU = Caller("zhou", departments=("ops",))
SET_PREFERENCES = """
mutation($input: SetNotificationPreferencesInput!) {
  setNotificationPreferences(input: $input) {
    preferences { quietHours { start end } timeZone digestForInformed language
                  channelsByUrgency { normal urgent } }
    userErrors { field code }
  }
}
"""


async def people(events: Events) -> None:
    await seed_people(events, ("li", "mkt", "Asia/Shanghai"), ("zhou", "ops", "Europe/Berlin"))


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    return str(text.get_content()), str(html.get_content())


async def mails(mailbox: Mailbox, count: int) -> list[tuple[list[str], EmailMessage]]:
    async def arrived() -> bool:
        return len(mailbox.messages) >= count

    await wait_for(arrived, what=f"{count} e-mail(s)")
    return sorted(mailbox.messages, key=lambda m: m[0])


async def test_email_in_each_persons_language_with_text_and_html(
    notify_api: SubgraphClient, events: Events, worker: Worker, mailbox: Mailbox
) -> None:
    await people(events)
    data = await notify_api.execute(SET_PREFERENCES, {"input": {"language": "en"}}, caller=LI)
    assert data["setNotificationPreferences"]["userErrors"] == []
    envelope = issue_reported("i1", lead="mkt", urgent=True)
    assert await events.handle(envelope)
    assert await events.handle(issue_reported("i2", lead="ops"))

    [(to_li, english), (to_zhou, chinese)] = await mails(mailbox, 2)
    assert to_li == ["li@x.example"]
    assert english["Subject"] == "[URGENT] Issue IS-0001 reported: Stock shortfall in East China"
    assert english["Message-ID"] == f"<{envelope.id}.li@liaison>"
    text, html = parts(english)
    assert text.startswith("Hello Li,")
    assert "Open in Liaison: http://127.0.0.1:4000/issues/i1" in text
    assert '<a href="http://127.0.0.1:4000/issues/i1">Open in Liaison</a>' in html
    assert '<span style="color: #c00">[URGENT]</span>' in html
    assert to_zhou == ["zhou@x.example"]
    assert chinese["Subject"] == "Issue IS-0001 reported: Stock shortfall in East China"
    text, html = parts(chinese)
    assert text.startswith("Zhou，您好：")
    assert "查看详情：http://127.0.0.1:4000/issues/i2" in text
    assert '<html lang="zh-CN">' in html

    # The mail server may answer before the job has recorded its outcome.
    async def both_recorded() -> bool:
        rows = await delivery_rows(notify_api, "EMAIL")
        return [r["status"] for r in rows] == ["SUCCEEDED", "SUCCEEDED"]

    await wait_for(both_recorded, what="both deliveries recorded as SUCCEEDED")


async def test_meeting_invitation_carries_the_ics(
    notify_api: SubgraphClient, events: Events, worker: Worker, mailbox: Mailbox
) -> None:
    await people(events)
    starts = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    meeting = MeetingScheduled(
        id="m1",
        request_id="cr1",
        kind="KICKOFF",
        title="Kickoff: 2024新品推广",
        starts_at=starts,
        ends_at=starts + timedelta(hours=1),
        mode="ONLINE",
        join_url="https://meet.example/k1",
        organizer_id="li",
        required_attendee_ids=["li", "zhou"],
    )
    await events.emit("requests", "requests.meeting.scheduled", "m1", meeting)

    [(_, to_li), (_, to_zhou)] = await mails(mailbox, 2)
    for message, zone, local_start in (
        (to_li, "Asia/Shanghai", "2026-03-02 09:00"),
        (to_zhou, "Europe/Berlin", "2026-03-02 02:00"),
    ):
        [attachment] = list(message.iter_attachments())
        assert attachment.get_content_type() == "text/calendar"
        assert attachment.get_filename() == "invite.ics"
        assert attachment.get_param("method") == "REQUEST"
        calendar = Calendar.from_ical(attachment.get_content())
        assert calendar["METHOD"] == "REQUEST"
        [event] = calendar.walk("VEVENT")
        assert str(event["UID"]) == "m1@liaison"
        assert event.decoded("DTSTART") == starts
        assert event.decoded("DTEND") == starts + timedelta(hours=1)
        assert str(event["URL"]) == "https://meet.example/k1"
        assert str(event["ORGANIZER"]) == "mailto:li@x.example"
        attendees: list[object] = list(event.get("ATTENDEE", []))
        assert sorted(str(a) for a in attendees) == [
            "mailto:li@x.example",
            "mailto:zhou@x.example",
        ]
        text, _ = parts(message)
        assert f"{local_start} – " in text
        assert zone in text


async def test_quiet_hours_hold_normal_email_until_they_end_but_not_urgent(
    notify_api: SubgraphClient, events: Events, worker: Worker, mailbox: Mailbox
) -> None:
    await people(events)
    local = datetime.now(ZoneInfo("Asia/Shanghai"))
    start = (local - timedelta(hours=1)).strftime("%H:%M")
    end = (local + timedelta(hours=1)).replace(second=0, microsecond=0)
    quiet = {"start": start, "end": end.strftime("%H:%M")}
    data = await notify_api.execute(SET_PREFERENCES, {"input": {"quietHours": quiet}}, caller=LI)
    assert data["setNotificationPreferences"]["preferences"]["quietHours"] == {
        "start": f"{start}:00",
        "end": f"{quiet['end']}:00",
    }

    assert await events.handle(issue_reported("i1", lead="mkt"))
    [held] = await delivery_rows(notify_api, "EMAIL")
    assert held["next_attempt_at"] == end.astimezone(UTC)
    assert held["attempts"] == 0
    inbox = await notify_api.execute("{ unreadCount }", caller=LI)
    assert inbox["unreadCount"] == 1  # the inbox is not held back

    assert await events.handle(issue_reported("i2", lead="mkt", urgent=True))
    [(_, urgent)] = await mails(mailbox, 1)
    assert urgent["Subject"].startswith("【紧急】")
    assert len(mailbox.messages) == 1


async def test_channels_by_urgency_choose_email(
    notify_api: SubgraphClient, events: Events, worker: Worker, mailbox: Mailbox
) -> None:
    await people(events)
    channels = {"normal": ["IN_APP"], "urgent": ["IN_APP", "EMAIL"]}
    data = await notify_api.execute(
        SET_PREFERENCES, {"input": {"channelsByUrgency": channels}}, caller=LI
    )
    assert data["setNotificationPreferences"]["preferences"]["channelsByUrgency"] == channels
    assert await events.handle(issue_reported("i1", lead="mkt"))
    assert await events.handle(issue_reported("i2", lead="mkt", urgent=True))
    [(_, only)] = await mails(mailbox, 1)
    assert "【紧急】" in only["Subject"]
    assert len(await delivery_rows(notify_api, "EMAIL")) == 1


async def test_invalid_preferences_are_refused_and_change_nothing(
    notify_api: SubgraphClient,
) -> None:
    bad = {
        "quietHours": {"start": "22:00", "end": "22:00"},
        "timeZone": "Mars/Olympus",
        "channelsByUrgency": {"normal": ["EMAIL"], "urgent": ["IN_APP"]},
        "language": "fr",
    }
    data = await notify_api.execute(SET_PREFERENCES, {"input": bad}, caller=LI)
    payload = data["setNotificationPreferences"]
    assert payload["preferences"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
        ("quietHours", "INVALID"),
        ("timeZone", "INVALID_TIME_ZONE"),
        ("channelsByUrgency.normal", "IN_APP_REQUIRED"),
        ("language", "INVALID"),
    ]
    current = await notify_api.execute(
        "{ notificationPreferences { quietHours { start } language digestForInformed"
        " channelsByUrgency { normal urgent } } }",
        caller=LI,
    )
    assert current["notificationPreferences"] == {
        "quietHours": None,
        "language": "zh",
        "digestForInformed": True,
        "channelsByUrgency": {"normal": ["IN_APP", "EMAIL"], "urgent": ["IN_APP", "EMAIL"]},
    }
    assert (
        await notify_api.runtime.pool.fetchval("SELECT count(*) FROM notification_preferences") == 0
    )
