"""Durable timers: the deadline is a row in PostgreSQL, an arq job is only the fast path.

:func:`arm_timer` writes (or moves) the row and bumps its version; the caller enqueues
``fire_timer`` deferred to the deadline after commit. The arq job id carries the version,
because arq keeps a finished job's id taken for as long as it keeps the result. Firing is
in :mod:`shared.timer_firing`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from arq.connections import ArqRedis
from arq.constants import job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from arq.utils import timestamp_ms, to_unix_ms

from shared.db import Connection
from shared.ids import uuid7

log = logging.getLogger(__name__)

FIRE_TIMER_JOB = "fire_timer"


@dataclass(frozen=True)
class TimerRow:
    """A timer as stored."""

    id: uuid.UUID
    kind: str
    subject: str
    due_at: datetime
    version: int
    payload: dict[str, Any]
    region: str | None = None

    @classmethod
    def from_record(cls, record: asyncpg.Record) -> TimerRow:
        return cls(
            id=record["id"],
            kind=record["kind"],
            subject=record["subject"],
            due_at=record["due_at"],
            version=record["version"],
            payload=record["payload"],
            region=record["region"],
        )


COLUMNS = "id, kind, subject, due_at, version, payload, region"


async def arm_timer(
    conn: Connection,
    kind: str,
    subject: str,
    due_at: datetime,
    payload: dict[str, Any],
    region: str | None = None,
) -> TimerRow:
    """Insert the timer, or move an existing one and make it fire again (in ``region``)."""
    record = await conn.fetchrow(
        f"""
        INSERT INTO timers (id, kind, subject, due_at, payload, region)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (kind, subject) DO UPDATE
           SET due_at = EXCLUDED.due_at, payload = EXCLUDED.payload, region = EXCLUDED.region,
               version = timers.version + 1, fired_at = NULL
        RETURNING {COLUMNS}
        """,
        uuid7(),
        kind,
        subject,
        due_at,
        payload,
        region,
    )
    assert record is not None
    return TimerRow.from_record(record)


async def cancel_timers(conn: Connection, kind: str, subjects: Sequence[str]) -> None:
    """Drop the ``kind`` timers of all ``subjects`` in one statement."""
    await conn.execute(
        "DELETE FROM timers WHERE kind = $1 AND subject = ANY($2)", kind, list(subjects)
    )


def timer_job_id(timer_id: uuid.UUID, version: int) -> str:
    return f"timer:{timer_id}:{version}"


# arq's enqueue_job in one round trip instead of three (WATCH, EXISTS, then MULTI with
# PSETEX and ZADD): the same keys, job encoding and expiry, made atomic by running as one
# script. A job id already queued, or whose result arq still keeps, is left alone.
_ENQUEUE_SCRIPT = """
if redis.call('EXISTS', KEYS[1], KEYS[2]) > 0 then return 0 end
redis.call('PSETEX', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
return 1
"""


async def enqueue_timer(redis: ArqRedis, queue_name: str, timer: TimerRow) -> None:
    """Queue the fast-path job; a duplicate job id (already queued) is a no-op, as in arq."""
    job_id = timer_job_id(timer.id, timer.version)
    now_ms = timestamp_ms()
    # A deadline already passed is queued to run at once instead of waiting for the sweep.
    score = max(to_unix_ms(timer.due_at), now_ms)
    args = (str(timer.id), timer.version)
    job = serialize_job(FIRE_TIMER_JOB, args, {}, None, now_ms, serializer=redis.job_serializer)
    await redis.register_script(_ENQUEUE_SCRIPT)(
        keys=[job_key_prefix + job_id, result_key_prefix + job_id, queue_name],
        args=[score - now_ms + redis.expires_extra_ms, job, score, job_id],
    )
