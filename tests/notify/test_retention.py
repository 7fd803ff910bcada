"""Retention: notify forgets events and settled deliveries older than
LIAISON_NOTIFY_RETENTION_DAYS, and its worker does so by itself."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from services.notify import worker as notify_worker
from services.notify.delivery import repository as deliveries
from services.notify.models import TargetKind
from services.notify.scheduled import prune_old_rows
from shared.events.envelope import EventEnvelope
from tests.notify.conftest import Events, issue_reported
from tests.support import Caller, GraphQLFailure, SubgraphClient, in_process_worker

PMO = Caller("zhou-pmo", roles=("PMO",))
REPLAY = """
query($after: String) {
  events(after: $after, types: ["issues.*"], first: 10) { edges { node { id } } }
}
"""


def happened(envelope: EventEnvelope, days_ago: float) -> EventEnvelope:
    return envelope.model_copy(update={"time": datetime.now(UTC) - timedelta(days=days_ago)})


async def replayed(api: SubgraphClient, after: str | None = None) -> list[str]:
    data = await api.execute(REPLAY, {"after": after}, caller=PMO)
    return [edge["node"]["id"] for edge in data["events"]["edges"]]


async def test_events_older_than_the_retention_are_forgotten(
    notify_api: SubgraphClient, events: Events
) -> None:
    notify_api.runtime.settings.notify_retention_days = 30
    old = happened(issue_reported("i-old"), days_ago=31)
    recent = happened(issue_reported("i-recent"), days_ago=29)
    for envelope in (old, recent):
        assert await events.handle(envelope)
    assert await replayed(notify_api) == [old.id, recent.id]

    assert await prune_old_rows(notify_api.runtime) >= 1
    assert await replayed(notify_api) == [recent.id]
    # A partner resuming after a forgotten event is told why, not silently sent everything.
    with pytest.raises(GraphQLFailure, match="older than the 30-day retention"):
        await replayed(notify_api, after=old.id)


async def settle(api: SubgraphClient, delivery_id: str, state: str, days_ago: float) -> None:
    """Put a delivery in ``state`` (SQL below), last changed ``days_ago``."""
    states = {
        "succeeded": "status = 'SUCCEEDED', next_attempt_at = NULL",
        "exhausted": "status = 'EXHAUSTED', next_attempt_at = NULL",
        "failed for good": "status = 'FAILED', next_attempt_at = NULL",
        "waiting for a retry": "status = 'FAILED', next_attempt_at = now()",
        "being sent": "next_attempt_at = NULL, lease_expires_at = now() + interval '1 minute'",
    }
    await api.runtime.pool.execute(
        f"UPDATE deliveries SET {states[state]}, updated_at = now() - $2::interval WHERE id = $1",
        delivery_id,
        timedelta(days=days_ago),
    )
    await api.runtime.pool.execute(
        "INSERT INTO delivery_attempts (delivery_id, number, outcome) VALUES ($1, 1, 'FAILED')",
        delivery_id,
    )


async def test_only_deliveries_settled_before_the_retention_are_deleted(
    notify_api: SubgraphClient,
) -> None:
    notify_api.runtime.settings.notify_retention_days = 30
    cases = {
        ("succeeded", 31): False,
        ("exhausted", 40): False,
        ("failed for good", 31): False,
        ("succeeded", 29): True,
        ("waiting for a retry", 31): True,
        ("being sent", 31): True,
    }
    ids: dict[tuple[str, int], str] = {}
    async with notify_api.runtime.pool.acquire() as conn:
        for number, case in enumerate(cases):
            delivery = await deliveries.insert_delivery(
                conn,
                f"e{number}",
                "issues.issue.reported",
                TargetKind.WEBHOOK,
                "w1",
                {},
                datetime.now(UTC),
            )
            assert delivery is not None
            ids[case] = delivery.id
    for (state, days_ago), delivery_id in ids.items():
        await settle(notify_api, delivery_id, state, days_ago)

    assert await prune_old_rows(notify_api.runtime) == 3
    pool = notify_api.runtime.pool
    left = {r["id"] for r in await pool.fetch("SELECT id FROM deliveries")}
    assert {case for case, delivery_id in ids.items() if delivery_id in left} == {
        case for case, kept in cases.items() if kept
    }
    attempts = {r["delivery_id"] for r in await pool.fetch("SELECT * FROM delivery_attempts")}
    assert attempts == left


async def test_the_worker_prunes_at_start_up_and_then_periodically(
    notify_api: SubgraphClient, events: Events
) -> None:
    settings = notify_api.runtime.settings
    settings.notify_retention_days = 30
    settings.housekeeping_seconds = 0.2
    assert await events.handle(happened(issue_reported("i1"), days_ago=31))
    config = notify_worker.settings(settings)
    async with in_process_worker(config):
        await wait_until_forgotten(notify_api)
        assert await events.handle(happened(issue_reported("i2"), days_ago=31))
        await wait_until_forgotten(notify_api)


async def wait_until_forgotten(api: SubgraphClient) -> None:
    for _ in range(100):
        if not await replayed(api):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the worker did not prune the old event")
