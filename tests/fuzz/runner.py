"""Runs a fuzz: hypothesis draws the operations, the test's event loop sends them.

Hypothesis calls its test synchronously, while the clients live on the session's event loop,
so the hypothesis test runs in a worker thread and hands each operation to the loop
(``run_coroutine_threadsafe``), drawing the next operation while the loop sends the one
before. Nothing raises inside it: every answer is tallied, and the test fails afterwards on
the whole tally, so one run reports every distinct failure (and needs no shrinking, which
would send many more operations).

Budget: each target's count of operations is multiplied by ``LIAISON_FUZZ_SCALE`` (default
1). The seed is fixed (``derandomize``) unless ``LIAISON_FUZZ_SEED`` gives one (a number).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import Future

import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from tests.fuzz.checks import Answer, Tally
from tests.fuzz.strategies import Operation

Send = Callable[[Operation], Awaitable[Answer]]


def budget(operations: int) -> int:
    """The CI count of operations for a target, scaled by ``LIAISON_FUZZ_SCALE``."""
    return max(1, round(operations * float(os.environ.get("LIAISON_FUZZ_SCALE", "1"))))


async def fuzz(
    target: str,
    operations: st.SearchStrategy[Operation],
    tokens: Mapping[str, Send],
    count: int,
    *,
    in_flight: int = 1,
) -> Tally:
    """Send ``count`` operations, each with one of ``tokens`` (kind -> sender) in turn, at
    most ``in_flight`` at a time (more than one helps where answers come over the network)."""
    loop = asyncio.get_running_loop()
    tally = Tally(target, seed=os.environ.get("LIAISON_FUZZ_SEED", "fixed"))
    names = sorted(tokens)
    sent: list[Future[None]] = []

    @settings(
        max_examples=count,
        derandomize=tally.seed == "fixed",
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def explore(data: st.DataObject) -> None:
        operation = data.draw(operations)
        token = names[len(sent) % len(names)]
        if len(sent) >= in_flight:
            sent[-in_flight].result()

        async def send() -> None:
            tally.record(operation, token, await tokens[token](operation))

        sent.append(asyncio.run_coroutine_threadsafe(send(), loop))

    if tally.seed != "fixed":
        explore = seed(int(tally.seed))(explore)
    await asyncio.to_thread(explore)
    for future in sent[-in_flight:]:
        await asyncio.wrap_future(future)
    return tally


class _Summary:
    """Prints the fuzz lines at the end of the run (with or without ``-s``)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        terminalreporter.section("fuzz")
        for line in self.lines:
            terminalreporter.write_line(line)


def conclude(config: pytest.Config, tally: Tally) -> None:
    """Show the tally's counts in the run's summary, and fail on any failure."""
    summary = config.pluginmanager.get_plugin("liaison-fuzz-summary")
    if summary is None:
        summary = _Summary()
        config.pluginmanager.register(summary, "liaison-fuzz-summary")
    summary.lines.append(tally.summary())
    print(tally.summary())
    assert not tally.findings, tally.report()
    # The error contract: every GraphQL error carries a code from docs/errors.md.
    assert tally.errors_without_code == 0, tally.summary()
