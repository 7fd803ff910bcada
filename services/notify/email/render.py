"""E-mail bodies from the Jinja2 templates in ``templates/`` (Chinese and English)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

LANGUAGES = ("zh", "en")
_ENV = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class MeetingDetails:
    starts_at: datetime
    ends_at: datetime
    time_zone: str
    location: str | None = None
    join_url: str | None = None

    def for_template(self) -> dict[str, Any]:
        zone = ZoneInfo(self.time_zone)
        return {
            "starts": self.starts_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            "ends": self.ends_at.astimezone(zone).strftime("%H:%M"),
            "time_zone": self.time_zone,
            "location": self.location,
            "join_url": self.join_url,
        }


@dataclass(frozen=True)
class EmailContent:
    """What to render: one notification, a digest of items, or a meeting invitation."""

    name: str
    title: str
    body: str
    link: str | None = None
    urgent: bool = False
    items: list[dict[str, str | None]] = field(default_factory=list)
    meeting: MeetingDetails | None = None


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def render(content: EmailContent, language: str) -> RenderedEmail:
    """Subject, plain-text and HTML bodies in ``language`` (``zh`` unless ``en``)."""
    language = language if language in LANGUAGES else "zh"
    context = {
        "name": content.name,
        "title": content.title,
        "body": content.body,
        "link": content.link,
        "urgent": content.urgent,
        "items": content.items,
        "meeting": content.meeting.for_template() if content.meeting else None,
    }
    prefix = ("【紧急】" if language == "zh" else "[URGENT] ") if content.urgent else ""
    return RenderedEmail(
        subject=prefix + content.title,
        text=_ENV.get_template(f"message.{language}.txt").render(context),
        html=_ENV.get_template(f"message.{language}.html").render(context),
    )
