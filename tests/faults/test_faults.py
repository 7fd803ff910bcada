"""Self-healing under a steady load through the gateway: PostgreSQL restarted, Redis
restarted and emptied, and each kind of process killed with SIGKILL, in turn.

For each fault the system must answer again, and flow again, within 10 s of the server or
process coming back, without anyone doing anything; afterwards every acknowledged write is
stored once, every event had its effects once in every consumer, every due timer fired
once and no chat message or e-mail was sent twice (:mod:`tests.faults.checks`). The table
of faults, recovery times and lost / duplicated counts is printed in the run's summary.

``LIAISON_FAULT_CYCLES`` (1) repeats the whole plan, with a different subgraph killed each
time; ``LIAISON_FAULT_LANES`` (2) sets how many rounds of writes run at once
(``python -m bench.soak`` runs it longer).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from services import SERVICE_NAMES
from tests.faults.checks import SLACK, Databases, collect, last_deadline_armed_before, settle
from tests.faults.faults import FaultRun, fault_plan, run_fault, unexpected_failures
from tests.faults.load import Load, Write, eventually
from tests.faults.report import render, show
from tests.faults.stack import FaultStack

CYCLES = int(os.environ.get("LIAISON_FAULT_CYCLES", "1"))
LANES = int(os.environ.get("LIAISON_FAULT_LANES", "2"))
SETTLE_SECONDS = 60.0
"""How long the checks may wait for the last events, timers and deliveries."""


@pytest.mark.timeout(230 if CYCLES == 1 else 0)
async def test_every_fault_heals_without_losing_or_repeating_anything(
    fault_stack: FaultStack, request: pytest.FixtureRequest
) -> None:
    stack = fault_stack
    started = time.monotonic()
    load = Load(stack.gateway_url, stack.settings, stack.chat.url, lanes=LANES)
    await load.seed_directory()
    stop = asyncio.Event()
    running = asyncio.create_task(load.run(stop))
    runs: list[FaultRun] = []
    try:

        async def steady() -> bool:
            assert not running.done(), running
            return sum(1 for r in load.rounds if r.core_done) >= LANES

        await eventually(steady, 60, "the load getting through its first rounds")
        for cycle in range(CYCLES):
            for fault in fault_plan(subgraph=SERVICE_NAMES[cycle % len(SERVICE_NAMES)]):
                run = await run_fault(stack, load, fault)
                if runs:
                    runs[-1].ended = run.injected
                runs.append(run)
    finally:
        stop.set()
        await running
    if runs:
        runs[-1].ended = time.monotonic()
    flushes = [r for r in runs if r.name == "Redis FLUSHALL"]
    if flushes:
        # The SLA breaches and minutes deadlines armed before the last flush lost their
        # queued jobs with it: wait until they are due, so the checks see them fire.
        horizon = await last_deadline_armed_before(stack, flushes[-1].injected_at)
        if horizon is not None:
            due = horizon + SLACK + timedelta(seconds=stack.settings.timer_sweep_seconds)

            async def passed() -> bool:
                return datetime.now(UTC) > due

            await eventually(passed, 120, "the deadlines armed before the flush", every=0.5)
    verdict = await settle(stack, load, SETTLE_SECONDS)
    table = render(
        runs,
        load,
        verdict,
        time.monotonic() - started,
        (sum(stack.chat.received().values()), sum(stack.mail.received().values())),
    )
    show(request.config, table)
    (stack.log_dir / "faults.txt").write_text("\n".join(table) + "\n")
    report = "\n".join(table)

    assert not stack.exited_by_themselves(), report
    assert all(run.died is None for run in runs), report
    assert all(run.recovered_in_time() for run in runs), report
    assert not unexpected_failures(runs, load.writes), report
    assert verdict.drain.done, report
    assert not verdict.failing, report


async def test_the_checks_see_a_lost_event_a_repeated_notice_and_a_lost_write(
    fault_stack: FaultStack,
) -> None:
    """The checks are not empty: after the faults (or on a fresh stack, after one round),
    an inbox row taken away, a notification and a chat message repeated and an
    acknowledged write that was never stored are each reported, and nothing else is."""
    stack = fault_stack
    load = Load(stack.gateway_url, stack.settings, stack.chat.url, lanes=1)
    await load.seed_directory()
    assert await load.probe(time.monotonic() + 60) is not None
    before = await settle(stack, load, SETTLE_SECONDS)
    assert not before.failing, before.failing
    known = {(f.kind, f.check, f.detail) for f in before.findings}  # messages cut off
    request_id = next(r.request_id for r in load.rounds if r.core_done)

    dbs = await Databases.open(stack)
    try:
        row = await dbs.connections["requests"].fetchrow(
            "SELECT event_id, created_at FROM outbox"
            " WHERE event_type = 'requests.request.created' AND envelope->>'subject' = $1",
            request_id,
        )
        assert row is not None
        event_id: str = row["event_id"]
        created_at: datetime = row["created_at"]

        async def judged() -> bool:  # the checks leave events younger than SLACK alone
            return datetime.now(UTC) > created_at + SLACK

        await eventually(judged, 10, "the event being old enough to be judged")
        await dbs.connections["tasks"].execute("DELETE FROM inbox WHERE event_id = $1", event_id)
        notification = await dbs.connections["notify"].fetchval(
            "INSERT INTO notifications (id, recipient_id, type, title, body, link,"
            " source_event_id) SELECT id || '-again', recipient_id, type, title, body, link,"
            " source_event_id || '-again' FROM notifications ORDER BY id DESC LIMIT 1"
            " RETURNING title"
        )
        stack.chat.repeat_last()
        load.writes.append(
            Write(
                "scheduleMeeting",
                load.rounds[-1].id,
                "never stored",
                0.0,
                datetime.now(UTC) - timedelta(minutes=1),
                acked=True,
            )
        )
        seen: Counter[str] = Counter()
        findings = await collect(dbs, stack, load, seen)
    finally:
        await dbs.close()
    new = [f for f in findings if (f.kind, f.check, f.detail) not in known]
    assert sorted((f.kind, f.check) for f in new) == [
        ("duplicated", "message sent once"),
        ("duplicated", "notification once"),
        ("lost", "acknowledged write stored once"),
        ("lost", "event handled by tasks"),
    ], new
    assert any(event_id in f.detail for f in new)
    assert any(notification in f.detail for f in new)
