"""Use case: a person sets their notification preferences."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.notify import repository as repo
from services.notify.email.render import LANGUAGES
from services.notify.models import PersonalChannel, Preferences, QuietHours
from shared.auth import Principal
from shared.events.contracts.notify import PreferencesUpdated
from shared.graphql.errors import Problems
from shared.runtime import ServiceRuntime
from shared.unit_of_work import unit_of_work


async def set_preferences(
    runtime: ServiceRuntime,
    principal: Principal,
    *,
    quiet_start: time | None,
    quiet_end: time | None,
    time_zone: str | None,
    digest_for_informed: bool,
    normal_channels: Sequence[PersonalChannel],
    urgent_channels: Sequence[PersonalChannel],
    language: str,
) -> Preferences:
    """Replace the caller's preferences; the inbox (IN_APP) is always one of the channels."""
    problems = Problems()
    if (quiet_start is None) != (quiet_end is None):
        problems.add("INVALID", "give both the start and the end of quiet hours", "quietHours")
    elif quiet_start is not None and quiet_start == quiet_end:
        problems.add("INVALID", "quiet hours must not start and end at the same time", "quietHours")
    if time_zone is not None:
        try:
            ZoneInfo(time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            problems.add("INVALID_TIME_ZONE", f"not an IANA time zone: {time_zone}", "timeZone")
    for name, channels in (("normal", normal_channels), ("urgent", urgent_channels)):
        if PersonalChannel.IN_APP not in channels:
            problems.add(
                "IN_APP_REQUIRED",
                "the inbox always receives notifications: keep IN_APP",
                f"channelsByUrgency.{name}",
            )
    if language not in LANGUAGES:
        problems.add("INVALID", f"language is one of {', '.join(LANGUAGES)}", "language")
    problems.raise_if_any()
    quiet = (
        QuietHours(quiet_start, quiet_end)
        if quiet_start is not None and quiet_end is not None
        else None
    )
    prefs = Preferences(
        person_id=principal.sub,
        quiet_hours=quiet,
        time_zone=time_zone,
        digest_for_informed=digest_for_informed,
        normal_channels=tuple(dict.fromkeys(normal_channels)),
        urgent_channels=tuple(dict.fromkeys(urgent_channels)),
        language=language,
    )
    async with unit_of_work(runtime) as uow:
        saved = await repo.save_preferences(uow.conn, prefs)
        await uow.emit("notify.preferences.updated", saved.person_id, _event(saved))
    return saved


def _event(prefs: Preferences) -> PreferencesUpdated:
    quiet = prefs.quiet_hours
    return PreferencesUpdated(
        person_id=prefs.person_id,
        quiet_start=quiet.start.isoformat() if quiet else None,
        quiet_end=quiet.end.isoformat() if quiet else None,
        time_zone=prefs.time_zone,
        digest_for_informed=prefs.digest_for_informed,
        normal_channels=[c.value for c in prefs.normal_channels],
        urgent_channels=[c.value for c in prefs.urgent_channels],
        language=prefs.language,
    )
