"""SQL of deliveries and their attempts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from services.notify.models import Delivery, DeliveryAttempt, DeliveryStatus, TargetKind
from shared.db import Connection, Pool, delete_in_batches
from shared.ids import new_id

_COLUMNS = """id, event_id, event_type, target_kind, target_id, payload, status, attempts,
    last_status_code, last_error, next_attempt_at, lease_expires_at, claim_id, created_at,
    updated_at, region"""


def _delivery(row: Any) -> Delivery:
    return Delivery(
        **{
            **dict(row),
            "target_kind": TargetKind(row["target_kind"]),
            "status": DeliveryStatus(row["status"]),
        }
    )


async def insert_delivery(
    conn: Connection,
    event_id: str,
    event_type: str,
    target_kind: TargetKind,
    target_id: str,
    payload: dict[str, Any],
    next_attempt_at: datetime,
) -> Delivery | None:
    """A new pending delivery; None if this event already has one for this target."""
    row = await conn.fetchrow(
        f"""
        INSERT INTO deliveries
            (id, event_id, event_type, target_kind, target_id, payload, next_attempt_at, region)
        VALUES ($1, $2, $3, $4, $5, $6, $7, CASE $4
            WHEN 'CHANNEL' THEN (SELECT d.region_id FROM channels c
                                   JOIN department_replicas d ON d.id = c.department_id
                                  WHERE c.id = $5)
            WHEN 'EMAIL' THEN (SELECT region_id FROM person_replicas WHERE id = $5)
        END)
        ON CONFLICT (event_id, target_kind, target_id) DO NOTHING
        RETURNING {_COLUMNS}
        """,
        new_id(),
        event_id,
        event_type,
        target_kind.value,
        target_id,
        payload,
        next_attempt_at,
    )
    return _delivery(row) if row else None


async def get_delivery(
    conn: Connection, delivery_id: str, *, lock: bool = False
) -> Delivery | None:
    suffix = " FOR UPDATE" if lock else ""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM deliveries WHERE id = $1{suffix}", delivery_id
    )
    return _delivery(row) if row else None


async def get_delivery_for(
    conn: Connection, event_id: str, target_kind: TargetKind, target_id: str
) -> Delivery | None:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM deliveries"
        " WHERE event_id = $1 AND target_kind = $2 AND target_id = $3 FOR UPDATE",
        event_id,
        target_kind.value,
        target_id,
    )
    return _delivery(row) if row else None


async def list_deliveries(
    conn: Connection,
    target_kind: TargetKind,
    target_ids: Sequence[str],
    *,
    status: DeliveryStatus | None,
    after_id: str | None,
    limit: int,
) -> list[Delivery]:
    """Deliveries to some targets, newest first."""
    rows = await conn.fetch(
        f"""
        SELECT {_COLUMNS} FROM deliveries
         WHERE target_kind = $1 AND target_id = ANY($2)
           AND ($3::text IS NULL OR status = $3)
           AND ($4::text IS NULL OR id < $4)
         ORDER BY id DESC LIMIT $5
        """,
        target_kind.value,
        list(target_ids),
        status.value if status else None,
        after_id,
        limit,
    )
    return [_delivery(r) for r in rows]


async def count_deliveries(
    conn: Connection,
    target_kind: TargetKind,
    target_ids: Sequence[str],
    status: DeliveryStatus | None,
) -> int:
    count: int = await conn.fetchval(
        "SELECT count(*) FROM deliveries WHERE target_kind = $1 AND target_id = ANY($2)"
        " AND ($3::text IS NULL OR status = $3)",
        target_kind.value,
        list(target_ids),
        status.value if status else None,
    )
    return count


PageKey = tuple[str, DeliveryStatus | None, str | None, int]
"""One target's page of deliveries: target id, status filter, ``after`` id, rows to fetch."""


async def delivery_pages(
    conn: Connection, target_kind: TargetKind, keys: Sequence[PageKey]
) -> dict[PageKey, tuple[list[Delivery], int]]:
    """Pages of deliveries to many targets, newest first, each with how many deliveries to
    its target match the status filter: one statement per distinct (status, after, limit)."""
    groups: dict[tuple[DeliveryStatus | None, str | None, int], list[str]] = {}
    for target_id, status, after_id, limit in keys:
        groups.setdefault((status, after_id, limit), []).append(target_id)
    found: dict[PageKey, tuple[list[Delivery], int]] = {}
    for (status, after_id, limit), target_ids in groups.items():
        rows = await conn.fetch(
            f"""
            SELECT t.page_target, c.page_total, d.* FROM unnest($2::text[]) AS t(page_target)
             CROSS JOIN LATERAL (
                   SELECT count(*) AS page_total FROM deliveries
                    WHERE target_kind = $1 AND target_id = t.page_target
                      AND ($3::text IS NULL OR status = $3)) c
              LEFT JOIN LATERAL (
                   SELECT {_COLUMNS} FROM deliveries
                    WHERE target_kind = $1 AND target_id = t.page_target
                      AND ($3::text IS NULL OR status = $3)
                      AND ($4::text IS NULL OR id < $4)
                    ORDER BY id DESC LIMIT $5) d ON true
             ORDER BY t.page_target, d.id DESC
            """,
            target_kind.value,
            list(dict.fromkeys(target_ids)),
            status.value if status else None,
            after_id,
            limit,
        )
        pages: dict[str, tuple[list[Delivery], int]] = {}
        for row in rows:
            page, _ = pages.setdefault(row["page_target"], ([], row["page_total"]))
            if row["id"] is not None:
                columns = dict(row)
                del columns["page_target"], columns["page_total"]
                page.append(_delivery(columns))
        for target_id in target_ids:
            found[(target_id, status, after_id, limit)] = pages.get(target_id, ([], 0))
    return found


async def claim(conn: Connection, delivery_id: str, lease: timedelta) -> Delivery | None:
    """Take a due, idle delivery for one attempt by starting its lease under a new
    ``claim_id``, the claim's token. The attempt is not counted yet (:func:`start_attempt`
    does that just before sending)."""
    row = await conn.fetchrow(
        f"""
        UPDATE deliveries SET lease_expires_at = now() + $2, claim_id = $3, updated_at = now()
         WHERE id = $1 AND status IN ('PENDING', 'FAILED') AND lease_expires_at IS NULL
           AND next_attempt_at IS NOT NULL AND next_attempt_at <= now()
        RETURNING {_COLUMNS}
        """,
        delivery_id,
        lease,
        new_id(),
    )
    return _delivery(row) if row else None


async def renew_lease(conn: Connection, claimed: Delivery, lease: timedelta) -> datetime | None:
    """Extend a claim that is still held to ``lease`` from now; its new end, or None if the
    lease ran out or the claim was taken over (then the job must not go on)."""
    found: datetime | None = await conn.fetchval(
        """
        UPDATE deliveries SET lease_expires_at = now() + $3
         WHERE id = $1 AND claim_id = $2 AND lease_expires_at > now()
        RETURNING lease_expires_at
        """,
        claimed.id,
        claimed.claim_id,
        lease,
    )
    return found


async def start_attempt(conn: Connection, claimed: Delivery) -> Delivery | None:
    """Count the attempt and open its row: from here on the message may be on the wire.
    Idempotent per claim (an outage may have hidden that it committed). None if the
    claim's lease ran out or was taken over: then nothing may be sent."""
    row = await conn.fetchrow(
        f"""
        UPDATE deliveries d SET attempts = attempts + 1, updated_at = now()
         WHERE id = $1 AND claim_id = $2 AND lease_expires_at > now()
           AND NOT EXISTS (SELECT 1 FROM delivery_attempts a WHERE a.delivery_id = d.id
                              AND a.number = d.attempts AND a.finished_at IS NULL)
        RETURNING {_COLUMNS}
        """,
        claimed.id,
        claimed.claim_id,
    )
    if row is None:  # started already under this claim, or the claim is gone
        row = await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM deliveries"
            " WHERE id = $1 AND claim_id = $2 AND lease_expires_at > now()",
            claimed.id,
            claimed.claim_id,
        )
        return _delivery(row) if row else None
    delivery = _delivery(row)
    await conn.execute(
        "INSERT INTO delivery_attempts (delivery_id, number) VALUES ($1, $2)",
        delivery.id,
        delivery.attempts,
    )
    return delivery


async def has_open_attempt(conn: Connection, delivery: Delivery) -> bool:
    """Whether the delivery's current attempt was started (so may have reached the target)
    and not finished. Every earlier attempt is finished before a new claim can be taken."""
    found: bool = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM delivery_attempts WHERE delivery_id = $1 AND number = $2"
        " AND finished_at IS NULL)",
        delivery.id,
        delivery.attempts,
    )
    return found


async def finish_attempt(
    conn: Connection,
    delivery: Delivery,
    *,
    outcome: str,
    status: DeliveryStatus,
    status_code: int | None,
    error: str | None,
    next_attempt_at: datetime | None,
) -> bool:
    """Record the outcome of attempt ``delivery.attempts``; False if the lease was lost."""
    row = await conn.fetchrow(
        """
        UPDATE deliveries
           SET status = $3, last_status_code = $4, last_error = $5, next_attempt_at = $6,
               lease_expires_at = NULL, claim_id = NULL, updated_at = now()
         WHERE id = $1 AND attempts = $2 AND claim_id = $7 AND lease_expires_at IS NOT NULL
        RETURNING id
        """,
        delivery.id,
        delivery.attempts,
        status.value,
        status_code,
        error,
        next_attempt_at,
        delivery.claim_id,
    )
    if row is None:
        return False
    await conn.execute(
        """
        UPDATE delivery_attempts SET finished_at = now(), outcome = $3, status_code = $4,
               error = $5
         WHERE delivery_id = $1 AND number = $2
        """,
        delivery.id,
        delivery.attempts,
        outcome,
        status_code,
        error,
    )
    return True


async def set_state(
    conn: Connection,
    delivery_id: str,
    *,
    status: DeliveryStatus,
    next_attempt_at: datetime | None,
    error: str | None = None,
) -> Delivery:
    """Move a delivery (not in flight) to ``status``; ``error`` replaces the last error."""
    row = await conn.fetchrow(
        f"""
        UPDATE deliveries
           SET status = $2, next_attempt_at = $3, last_error = coalesce($4, last_error),
               lease_expires_at = NULL, claim_id = NULL, updated_at = now()
         WHERE id = $1
        RETURNING {_COLUMNS}
        """,
        delivery_id,
        status.value,
        next_attempt_at,
        error,
    )
    assert row is not None
    return _delivery(row)


async def close_open_attempt(conn: Connection, delivery: Delivery, error: str) -> None:
    """The attempt whose worker vanished: its outcome is unknown."""
    await conn.execute(
        """
        UPDATE delivery_attempts SET finished_at = now(), outcome = 'UNKNOWN', error = $3
         WHERE delivery_id = $1 AND number = $2 AND finished_at IS NULL
        """,
        delivery.id,
        delivery.attempts,
        error,
    )


async def attempts_of(
    conn: Connection, delivery_ids: Sequence[str]
) -> dict[str, list[DeliveryAttempt]]:
    rows = await conn.fetch(
        "SELECT delivery_id, number, started_at, finished_at, outcome, status_code, error"
        " FROM delivery_attempts WHERE delivery_id = ANY($1) ORDER BY delivery_id, number",
        list(delivery_ids),
    )
    found: dict[str, list[DeliveryAttempt]] = {i: [] for i in delivery_ids}
    for row in rows:
        found[row["delivery_id"]].append(DeliveryAttempt(**dict(row)))
    return found


async def stop_pending_for_target(
    conn: Connection, target_kind: TargetKind, target_id: str, error: str
) -> list[str]:
    """Stop every delivery to a target that waits for an attempt; returns their ids."""
    rows = await conn.fetch(
        """
        UPDATE deliveries SET status = 'FAILED', next_attempt_at = NULL, last_error = $3,
               updated_at = now()
         WHERE target_kind = $1 AND target_id = $2 AND lease_expires_at IS NULL
           AND status IN ('PENDING', 'FAILED') AND next_attempt_at IS NOT NULL
        RETURNING id
        """,
        target_kind.value,
        target_id,
        error,
    )
    return [r["id"] for r in rows]


async def prune_settled(pool: Pool, before: datetime) -> int:
    """Delete deliveries (and their attempts) settled before ``before``: succeeded,
    exhausted or failed for good, so nothing will send them again unless retried by hand.
    One waiting for an attempt or being sent is never touched."""
    return await delete_in_batches(
        pool,
        """
        DELETE FROM deliveries WHERE id IN (
            SELECT id FROM deliveries
             WHERE next_attempt_at IS NULL AND lease_expires_at IS NULL AND updated_at < $1
             LIMIT $2)
        """,
        before,
    )
