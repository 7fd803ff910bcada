"""Upkeep of the NEAREST_MILESTONE order of ``requests``: a request's next milestone changes
without a write to the request once that milestone's day has ended.

One durable timer (``requests.list_upkeep``, armed by migrations/0012_list_filters.sql)
moves those requests on in the requests worker at the start of every hour. A milestone's day
ends at midnight in its lead department's region, so the order moves past it within the hour
(within the half hour after it, too, in the few regions whose offset is not whole hours).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.requests import repository as repo
from shared.timers import TimerRow
from shared.unit_of_work import UnitOfWork

UPKEEP_TIMER = "requests.list_upkeep"
UPKEEP_SUBJECT = "lists"


async def on_list_upkeep(uow: UnitOfWork, timer: TimerRow) -> None:
    """Timer handler: move passed milestones on, and come back at the next full hour."""
    await repo.refresh_passed_milestones(uow.conn)
    next_hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    await uow.arm_timer(UPKEEP_TIMER, UPKEEP_SUBJECT, next_hour)
