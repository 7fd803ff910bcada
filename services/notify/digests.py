"""The daily digest: what an only-Informed person collected since the last one, in one
notification (and one e-mail if they take e-mail), at ``LIAISON_NOTIFY_DIGEST_HOUR`` local."""

from __future__ import annotations

from services.notify import repository as repo
from services.notify import service
from services.notify.delivery import service as delivery_service
from services.notify.email.render import EmailContent
from services.notify.models import NotificationDraft, PersonalChannel, TargetKind, Urgency
from services.notify.people import email_payload, link_url, send_at, zone
from shared.ids import new_id
from shared.timers import TimerRow
from shared.unit_of_work import UnitOfWork

DIGEST_TYPE = "notify.digest"


def _title(count: int, language: str) -> str:
    if language == "en":
        return f"Daily digest: {count} update{'s' if count != 1 else ''}"
    return f"每日摘要：{count} 条动态"


async def send_digest(uow: UnitOfWork, timer: TimerRow) -> None:
    """Timer handler: gather the person's pending items into one digest."""
    person_id = timer.subject
    digest_id = new_id()
    items = await repo.take_digest_items(uow.conn, person_id, digest_id)
    if not items:
        return
    prefs = await repo.get_preferences(uow.conn, person_id)
    title = _title(len(items), prefs.language)
    draft = NotificationDraft(
        recipient_id=person_id,
        type=DIGEST_TYPE,
        title=title,
        body="\n".join(f"- {item['title']}" for item in items),
        source_event_id=f"digest:{digest_id}",
    )
    notification = await service.deliver(uow, draft)
    settings = uow.runtime.settings
    contact = await repo.person_contact(uow.conn, person_id)
    if notification is None or contact is None or settings.smtp_host is None:
        return
    if PersonalChannel.EMAIL not in prefs.normal_channels:
        return
    intro = (
        "以下是您作为知会方（I）收到的动态。"
        if prefs.language != "en"
        else ("What happened where you are kept informed (I).")
    )
    content = EmailContent(
        name=contact[0],
        title=title,
        body=intro,
        items=[{"title": i["title"], "link": link_url(settings, i["link"])} for i in items],
    )
    payload = email_payload(
        settings,
        to=contact[1],
        name=contact[0],
        language=prefs.language,
        content=content,
        message_id=f"<digest.{digest_id}@liaison>",
    )
    # The digest hour can fall inside someone's quiet hours: the e-mail waits for their end.
    at = send_at(prefs, Urgency.NORMAL, zone(prefs.time_zone or contact[2]))
    await delivery_service.create(
        uow, draft.source_event_id, DIGEST_TYPE, TargetKind.EMAIL, person_id, payload, at=at
    )
