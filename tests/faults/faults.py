"""The faults, and how long the system takes to answer and to flow again after each.

A fault returns once the server or process is back: PostgreSQL or Redis started again on
the same port and data directory, Redis right after its FLUSHALL, a killed process started
again with the same command (the suite plays Kubernetes here, restarting it after
:data:`RESTART_DELAY_SECONDS`; nothing else restarts it, since the suite never runs the
group's supervisor).

Two recovery times are measured from that moment:

* *answers*: the first write sent afterwards that the gateway acknowledged;
* *flows*: the first probe round begun afterwards that got through the load's first four
  steps (a request, its chat group, a task and an issue: every subgraph, the relay and every
  consumer's copy of the request took part). Probe rounds start at once and one after the
  other, without the lanes' pauses.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from redis.asyncio import Redis

from tests.faults.load import Load, Write
from tests.faults.stack import FaultStack

RESTART_DELAY_SECONDS = 0.5
"""How long a killed process stays dead before it is started again."""
RECOVERY_LIMIT_SECONDS = 10.0
"""The requirement: the system answers again within this long of the server coming back."""
RECOVERY_PATIENCE_SECONDS = 30.0
"""How long the runner waits for a recovery before it notes none and moves on."""
STEADY_SECONDS = 2.0
"""Steady load between a recovery and the next fault."""


@dataclass(frozen=True)
class Fault:
    name: str
    inflict: Callable[[FaultStack], Awaitable[None]]
    """Break something and return once it is back."""


async def _restart_postgres(stack: FaultStack) -> None:
    postgres = stack.infra.postgres
    port = postgres.port
    await asyncio.to_thread(postgres.stop)
    await asyncio.to_thread(postgres.start)
    assert postgres.port == port, f"PostgreSQL came back on {postgres.port}, not {port}"


async def _restart_redis(stack: FaultStack) -> None:
    redis = stack.infra.redis
    port = redis.port
    await asyncio.to_thread(redis.stop)
    await asyncio.to_thread(redis.start)  # AOF on: the data survives
    assert redis.port == port, f"Redis came back on {redis.port}, not {port}"


async def _flush_redis(stack: FaultStack) -> None:
    assert stack.settings.redis_url
    client = Redis.from_url(stack.settings.redis_url)
    try:
        await client.flushall()
    finally:
        await client.aclose()


def _kill(name: str) -> Callable[[FaultStack], Awaitable[None]]:
    async def inflict(stack: FaultStack) -> None:
        spec = await asyncio.to_thread(stack.kill, name)
        await asyncio.sleep(RESTART_DELAY_SECONDS)
        await asyncio.to_thread(stack.start_again, spec)

    return inflict


def fault_plan(subgraph: str = "requests") -> list[Fault]:
    """Every fault once: both servers restarted, Redis emptied, each kind of process killed."""
    return [
        Fault("PostgreSQL restart", _restart_postgres),
        Fault("Redis restart", _restart_redis),
        Fault("Redis FLUSHALL", _flush_redis),
        Fault(f"kill -9 {subgraph} (subgraph)", _kill(subgraph)),
        *(
            Fault(f"kill -9 {worker}", _kill(worker))
            for worker in ("requests-worker", "tasks-worker", "issues-worker", "notify-worker")
        ),
        Fault("kill -9 relay", _kill("relay")),
        Fault("kill -9 gateway", _kill("gateway")),
    ]


@dataclass
class FaultRun:
    """One fault as it happened."""

    name: str
    injected: float
    injected_at: datetime
    back: float = 0.0
    answered: float | None = None
    flowed: float | None = None
    ended: float = 0.0
    """When the next fault began (or the load stopped): the end of this fault's period."""
    error: str | None = None
    """The fault itself could not be inflicted or undone."""
    died: str | None = None
    """Processes that exited by themselves during this fault's period."""

    @property
    def down_seconds(self) -> float:
        return self.back - self.injected

    @property
    def answers_seconds(self) -> float | None:
        return None if self.answered is None else max(0.0, self.answered - self.back)

    @property
    def flows_seconds(self) -> float | None:
        return None if self.flowed is None else max(0.0, self.flowed - self.back)

    @property
    def window_end(self) -> float:
        """The fault window: from the fault to the recovery of the flow (or the patience)."""
        return self.flowed if self.flowed is not None else self.back + RECOVERY_PATIENCE_SECONDS

    def overlaps(self, write: Write) -> bool:
        return write.started <= self.window_end and write.ended >= self.injected

    def recovered_in_time(self) -> bool:
        return (
            self.error is None
            and self.flows_seconds is not None
            and self.answers_seconds is not None
            and self.flows_seconds < RECOVERY_LIMIT_SECONDS
            and self.answers_seconds < RECOVERY_LIMIT_SECONDS
        )


async def run_fault(stack: FaultStack, load: Load, fault: Fault) -> FaultRun:
    """Inflict ``fault`` under the running load, wait for the recovery, then a steady spell."""
    run = FaultRun(fault.name, time.monotonic(), datetime.now(UTC))
    try:
        await fault.inflict(stack)
    except Exception as exc:  # reported in the table and failed at the end
        run.error = f"{type(exc).__name__}: {exc}"
    run.back = time.monotonic()
    run.flowed = await load.probe(run.back + RECOVERY_PATIENCE_SECONDS)
    run.answered = load.first_ack_after(run.back)  # the lanes' writes, and the probe's
    await asyncio.sleep(STEADY_SECONDS)
    died = stack.exited_by_themselves()
    if died:
        run.died = ", ".join(f"{name} (exit {code})" for name, code in sorted(died.items()))
    return run


def failures_in(run: FaultRun, writes: list[Write]) -> Counter[str]:
    return Counter(w.failure for w in writes if w.failure and run.overlaps(w))


def unexpected_failures(runs: list[FaultRun], writes: list[Write]) -> list[Write]:
    """Failed writes outside every fault window: errors of a system that was not broken."""
    return [w for w in writes if w.failure and not any(r.overlaps(w) for r in runs)]
