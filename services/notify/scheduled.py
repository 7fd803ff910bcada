"""Housekeeping the notify worker runs every ``LIAISON_HOUSEKEEPING_SECONDS``.

notify keeps every event it consumed (the partner stream and replays read them) and every
delivery with its attempts (partners and admins inspect them). Both would grow without end,
so anything older than ``LIAISON_NOTIFY_RETENTION_DAYS`` goes: events by when they
happened, deliveries by when they settled. In-app notifications are people's own history
and are kept.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from services.notify import event_log
from services.notify.delivery import repository as deliveries
from shared.runtime import ServiceRuntime

log = logging.getLogger(__name__)


async def prune_old_rows(runtime: ServiceRuntime, now: datetime | None = None) -> int:
    """Delete events and settled deliveries older than the retention; how many rows went."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=runtime.settings.notify_retention_days)
    events = await event_log.prune(runtime.pool, cutoff)
    settled = await deliveries.prune_settled(runtime.pool, cutoff)
    if events or settled:
        log.info("pruned %d events and %d deliveries from before %s", events, settled, cutoff)
    return events + settled
