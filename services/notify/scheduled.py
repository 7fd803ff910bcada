"""Housekeeping the notify worker runs every ``LIAISON_HOUSEKEEPING_SECONDS``.

Retention: notify keeps every event it consumed (the partner stream and replays read them) and every
delivery with its attempts (partners and admins inspect them). Both would grow without end,
so anything older than ``LIAISON_NOTIFY_RETENTION_DAYS`` goes: events by when they
happened, deliveries by when they settled. In-app notifications are people's own history
and are kept.

Secrets at rest: every stored signing secret is brought under the first key of
``LIAISON_SECRETS_KEY``, so plain text left from before encryption gets sealed and, after a
key rotation, the old key can be dropped once a pass has run.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from services.notify import event_log
from services.notify import repository as repo
from services.notify.delivery import repository as deliveries
from shared.runtime import ServiceRuntime
from shared.secrets_box import SecretUnreadable, secrets_box

log = logging.getLogger(__name__)


async def prune_old_rows(runtime: ServiceRuntime, now: datetime | None = None) -> int:
    """Delete events and settled deliveries older than the retention; how many rows went."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=runtime.settings.notify_retention_days)
    events = await event_log.prune(runtime.pool, cutoff)
    settled = await deliveries.prune_settled(runtime.pool, cutoff)
    if events or settled:
        log.info("pruned %d events and %d deliveries from before %s", events, settled, cutoff)
    return events + settled


async def reseal_secrets(runtime: ServiceRuntime) -> int:
    """Re-store every secret not sealed under the first key; how many were rewritten."""
    box = secrets_box(runtime.settings)
    rewritten = unreadable = 0
    async with runtime.pool.acquire() as conn:
        for table, column in repo.SECRET_COLUMNS:
            for row_id, stored in await repo.stored_secrets(conn, table, column):
                try:
                    sealed = box.resealed(stored)
                except SecretUnreadable:
                    unreadable += 1
                    log.error("%s %s: %s is under none of the keys", table, row_id, column)
                    continue
                if sealed and await repo.replace_stored_secret(
                    conn, table, column, row_id, stored, sealed
                ):
                    rewritten += 1
    if rewritten or unreadable:
        log.info("secrets: %d re-sealed under the first key, %d unreadable", rewritten, unreadable)
    return rewritten
