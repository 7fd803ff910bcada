"""The table the fault suite prints: each fault, its recovery times, the writes during it,
and what was lost or duplicated in its period."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import pytest

from tests.faults.checks import Finding, Verdict
from tests.faults.faults import FaultRun, failures_in, unexpected_failures
from tests.faults.load import Load

STEADY = "steady load, before the faults"


def period_of(at: datetime, runs: list[FaultRun]) -> int:
    """The index of the fault during whose period (from it to the next one) ``at``
    happened; -1 before the first."""
    index = -1
    for number, run in enumerate(runs):
        if at >= run.injected_at:
            index = number
    return index


LEGEND = (
    "back s: from the fault to the server or process being back; answers s / flows s: from"
    " then to the first acknowledged write / the first request that reached every service;"
    " acked / failed: writes during the fault; lost / dup: in the fault's period (to the next"
    " fault); cut off: messages whose sending worker was killed mid-attempt and that notify"
    " does not resend (at most once: retryDelivery); msg delay s: slowest chat message or"
    " e-mail created in the period"
)


def _seconds(value: float | None) -> str:
    return "none" if value is None else f"{value:.1f}"


def render(
    runs: list[FaultRun], load: Load, verdict: Verdict, elapsed: float, messages: tuple[int, int]
) -> list[str]:
    """The table; ``messages``: how many chat messages and e-mails arrived."""
    counts: dict[int, Counter[str]] = {}
    for finding in verdict.findings:
        counts.setdefault(period_of(finding.at, runs), Counter())[finding.kind] += 1
    delay: dict[int, float] = {}
    for created, seconds in verdict.delays:
        period = period_of(created, runs)
        delay[period] = max(delay.get(period, 0.0), seconds)
    header = (
        f"{'fault':<34} {'back s':>6} {'answers s':>9} {'flows s':>7} "
        f"{'acked':>5} {'failed':>6} {'lost':>4} {'dup':>4} {'cut off':>7} {'msg delay s':>11}"
    )
    lines = [LEGEND, header, "-" * len(header)]
    before = [w for w in load.writes if not runs or w.ended < runs[0].injected]
    steady = counts.get(-1, Counter())
    lines.append(
        f"{STEADY:<34} {'-':>6} {'-':>9} {'-':>7} {sum(w.acked for w in before):>5} "
        f"{sum(bool(w.failure) for w in before):>6} {steady['lost']:>4} "
        f"{steady['duplicated']:>4} {steady['cut off']:>7} {_seconds(delay.get(-1)):>11}"
    )
    for number, run in enumerate(runs):
        during = [w for w in load.writes if run.overlaps(w)]
        found = counts.get(number, Counter())
        mark = "" if run.recovered_in_time() else "  <- not recovered within 10 s"
        lines.append(
            f"{run.name:<34} {run.down_seconds:>6.1f} {_seconds(run.answers_seconds):>9} "
            f"{_seconds(run.flows_seconds):>7} {sum(w.acked for w in during):>5} "
            f"{sum(bool(w.failure) for w in during):>6} {found['lost']:>4} "
            f"{found['duplicated']:>4} {found['cut off']:>7} "
            f"{_seconds(delay.get(number)):>11}{mark}"
        )
    total = Counter(f.kind for f in verdict.findings)
    lines.append("-" * len(header))
    lines.append(
        f"{'all':<34} {'':>6} {'':>9} {'':>7} {load.acked_count():>5} "
        f"{sum(bool(w.failure) for w in load.writes):>6} {total['lost']:>4} "
        f"{total['duplicated']:>4} {total['cut off']:>7}"
    )
    lines.append(
        f"{len(load.rounds)} rounds, {len(load.writes)} writes "
        f"({len(load.writes) / max(elapsed, 1):.1f}/s), "
        f"{sum(w.lagging_retries for w in load.writes)} retries of not-yet-known refusals; "
        f"{messages[0]} chat messages, {messages[1]} e-mails; "
        f"settled after {verdict.waited:.1f} s; {elapsed:.0f} s in all"
    )
    lines.append("checked: " + ", ".join(f"{n} {what}" for what, n in sorted(verdict.seen.items())))
    for run in runs:
        failures = failures_in(run, load.writes)
        notes = [f"{code} x{n}" for code, n in failures.most_common()]
        if run.error:
            notes.append(f"fault failed: {run.error}")
        if run.died:
            notes.append(f"exited by themselves: {run.died}")
        if notes:
            lines.append(f"  {run.name}: {'; '.join(notes)}")
    for write in unexpected_failures(runs, load.writes):
        lines.append(
            f"  failed outside every fault window: {write.kind} at "
            f"{write.started_at:%H:%M:%S.%f}: {write.failure}"
        )
    if not verdict.drain.done:
        lines.append(f"  not drained: {verdict.drain}")
    lines.extend(f"  {finding}" for finding in _first(verdict.findings, 40))
    return lines


def _first(findings: list[Finding], limit: int) -> list[Finding | str]:
    shown: list[Finding | str] = list(findings[:limit])
    if len(findings) > limit:
        shown.append(f"... and {len(findings) - limit} more")
    return shown


@dataclass
class _Summary:
    """Prints the fault table in the run's summary (with or without ``-s``)."""

    lines: list[str] = field(default_factory=list)

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        terminalreporter.section("faults")
        for line in self.lines:
            terminalreporter.write_line(line)


def show(config: pytest.Config, lines: list[str]) -> None:
    summary = config.pluginmanager.get_plugin("liaison-fault-summary")
    if summary is None:
        summary = _Summary()
        config.pluginmanager.register(summary, "liaison-fault-summary")
    summary.lines.extend(lines)
