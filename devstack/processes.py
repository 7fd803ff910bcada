"""A group of child processes that start together, log to files and stop together, and a
supervisor that restarts the ones that die (``./liaison run``)."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TextIO

import httpx

STOP_MARGIN_SECONDS = 5.0
"""Time a process gets beyond its own grace period (closing pools, the last log lines)
before SIGKILL."""

SUPERVISE_TICK_SECONDS = 0.25
"""How often :func:`supervise_until_stopped` looks at the processes: the delay before a
death is noticed, before a due restart happens and before Ctrl-C takes effect."""

LOG_TAIL_LINES = 5
"""Lines of a dead process's log printed with the notice of its death."""


@dataclass(frozen=True)
class RestartPolicy:
    """When a process that died is started again, and when the supervisor gives up.

    Kubernetes' ``restartPolicy: Always`` with its CrashLoopBackOff is the model: restart
    whatever exits, after a delay that doubles with each crash in a row, up to a cap, and
    forget the crashes once the process has stayed up for a while. Kubernetes' numbers
    (10 s doubling to 5 min, reset after 10 min up) suit a cluster; a developer's machine
    needs a process back before anyone notices it was gone, so the first restart comes after
    ``initial_backoff_seconds`` (0.5 s) and the delay never grows beyond
    ``max_backoff_seconds`` (10 s). A process up for ``stable_after_seconds`` (60 s) has
    served: its next crash starts the backoff from the beginning again.

    Unlike Kubernetes, the supervisor gives up: a process that crashes more than
    ``crash_budget`` times (5) within ``crash_window_seconds`` (60 s) has a bug or a broken
    configuration that a restart will not fix, and the developer is better served by the
    stack stopping with its log than by a console scrolling restart notices. With the
    default delays (0.5 + 1 + 2 + 4 + 8 s) a process that dies at once on every start is
    given up after about 16 s; one killed now and then, or a dependency away for a few
    seconds, stays within the budget.

    ``jitter`` (0.2) moves each delay by up to 20 % either way, so processes that died
    together (Redis restarted under every worker) do not all restart in the same instant.
    It is small enough that each delay stays longer than the one before it.
    """

    initial_backoff_seconds: float = 0.5
    max_backoff_seconds: float = 10.0
    stable_after_seconds: float = 60.0
    crash_budget: int = 5
    crash_window_seconds: float = 60.0
    jitter: float = 0.2

    def backoff(self, crashes_in_a_row: int) -> float:
        """The delay before restarting a process after its ``crashes_in_a_row``-th crash."""
        doublings = min(max(0, crashes_in_a_row - 1), 60)  # far past any cap; no overflow
        base = self.initial_backoff_seconds * 2.0**doublings
        spread = random.uniform(1 - self.jitter, 1 + self.jitter)
        return min(self.max_backoff_seconds, base * spread)


class CrashLoopError(RuntimeError):
    """A process crashed more often than its :class:`RestartPolicy` allows; the group has
    been stopped."""

    def __init__(self, name: str, log: Path, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.log = log


@dataclass
class _Health:
    """What the supervisor knows of one process."""

    started_at: float
    env: Mapping[str, str]
    crashes_in_a_row: int = 0
    crash_times: deque[float] = field(default_factory=deque)
    restart_at: float | None = None
    """When the process, found dead, is due to start again."""
    reason: str = ""
    """How it died, for the restart notice."""


@dataclass(frozen=True)
class ProcessSpec:
    """One process to run; ``ready_url`` answers 200 once it serves."""

    name: str
    argv: Sequence[str]
    ready_url: str | None = None


class ProcessGroup:
    """Starts processes with a shared environment; each one's output goes to ``<name>.log``.

    ``grace_seconds`` is the processes' own shutdown grace (``LIAISON_SHUTDOWN_GRACE_SECONDS``:
    a subgraph finishing requests, a worker finishing jobs); :meth:`stop` waits that long plus
    :data:`STOP_MARGIN_SECONDS` before it kills, so a graceful shutdown is never cut short.

    :meth:`supervise` restarts a process that died, as ``restart_policy`` says; its notices
    go to ``console`` (standard error unless given).
    """

    def __init__(
        self,
        env: Mapping[str, str],
        log_dir: Path,
        cwd: Path,
        *,
        grace_seconds: float,
        restart_policy: RestartPolicy | None = None,
        console: TextIO | None = None,
    ) -> None:
        self.env = {**os.environ, **env}
        self.log_dir = log_dir
        self.cwd = cwd
        self.kill_after = grace_seconds + STOP_MARGIN_SECONDS
        self.restart_policy = restart_policy or RestartPolicy()
        self.console = console
        self.running: dict[str, tuple[ProcessSpec, subprocess.Popen[bytes]]] = {}
        self._health: dict[str, _Health] = {}
        log_dir.mkdir(parents=True, exist_ok=True)

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def start(self, spec: ProcessSpec) -> None:
        env = dict(self.env)  # a restart runs with the environment of this start
        self._spawn(spec, env)
        self._health[spec.name] = _Health(started_at=time.monotonic(), env=env)

    def _spawn(self, spec: ProcessSpec, env: Mapping[str, str]) -> None:
        log = self.log_path(spec.name).open("ab")
        process = subprocess.Popen(
            list(spec.argv),
            cwd=self.cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches us only; we stop children in order
        )
        log.close()
        self.running[spec.name] = (spec, process)

    def wait_ready(self, timeout: float) -> None:
        """Block until every process with a ``ready_url`` answers 200; raise if one dies."""
        deadline = time.monotonic() + timeout
        pending = {name for name, (spec, _) in self.running.items() if spec.ready_url}
        while pending:
            self.raise_if_exited()
            for name in sorted(pending):
                if _answers(self.running[name][0].ready_url):
                    pending.discard(name)
            if time.monotonic() > deadline:
                raise TimeoutError(f"not ready after {timeout:.0f}s: {', '.join(sorted(pending))}")
            time.sleep(0.2)

    def raise_if_exited(self) -> None:
        for name, (_, process) in self.running.items():
            if process.poll() is not None:
                log = self.log_path(name)
                raise RuntimeError(
                    f"{name} exited with {process.returncode}; see {log}\n{_tail(log)}"
                )

    def supervise(self) -> None:
        """One look at every process, without waiting: a process found dead is announced
        and its restart scheduled after the policy's backoff; a restart that is due
        happens. A process that crashed more often than the crash budget allows stops the
        whole group and raises :class:`CrashLoopError`."""
        now = time.monotonic()
        for name, (spec, process) in list(self.running.items()):
            health = self._health.get(name)
            if health is None:  # not started through this group's start()
                continue
            if health.restart_at is None and process.poll() is not None:
                self._crashed(name, process, health, now)
            if health.restart_at is not None and now >= health.restart_at:
                self._restart_after_crash(spec, health)

    def _crashed(
        self, name: str, process: subprocess.Popen[bytes], health: _Health, now: float
    ) -> None:
        with contextlib.suppress(OSError):  # what the dead leader left in its session, if any
            os.killpg(process.pid, signal.SIGKILL)
        policy = self.restart_policy
        uptime = now - health.started_at
        if uptime >= policy.stable_after_seconds:
            health.crashes_in_a_row = 0
        health.crashes_in_a_row += 1
        health.crash_times.append(now)
        while health.crash_times and now - health.crash_times[0] > policy.crash_window_seconds:
            health.crash_times.popleft()
        health.reason = _exit_reason(process.returncode)
        log = self.log_path(name)
        tail = _tail(log, LOG_TAIL_LINES)
        if len(health.crash_times) > policy.crash_budget:
            message = (
                f"{name} {health.reason}: {len(health.crash_times)} crashes within "
                f"{policy.crash_window_seconds:g} s, more than the {policy.crash_budget} "
                f"that are restarted; giving up and stopping everything. Its log: {log}"
            )
            self._say(message, tail)
            self.stop()
            raise CrashLoopError(name, log, message)
        delay = policy.backoff(health.crashes_in_a_row)
        health.restart_at = now + delay
        self._say(
            f"{name} (pid {process.pid}) {health.reason} after {uptime:.1f} s up; "
            f"restarting in {delay:.2f} s (crash {len(health.crash_times)} of "
            f"{policy.crash_budget} allowed within {policy.crash_window_seconds:g} s); "
            f"log: {log}",
            tail,
        )

    def _restart_after_crash(self, spec: ProcessSpec, health: _Health) -> None:
        with self.log_path(spec.name).open("a") as log:
            log.write(f"--- ./liaison run: restarting {spec.name}, which {health.reason} ---\n")
        self._spawn(spec, health.env)
        health.restart_at = None
        health.started_at = time.monotonic()
        self._say(f"{spec.name} restarted (pid {self.running[spec.name][1].pid})")

    def _say(self, line: str, tail: str = "") -> None:
        console = self.console or sys.stderr
        text = f"[supervisor] {line}\n"
        text += "".join(f"    | {tail_line}\n" for tail_line in tail.splitlines() if tail_line)
        console.write(text)
        console.flush()

    def restart(self, name: str) -> None:
        """Stop one process (SIGTERM) and start it again with the same command."""
        spec = self.running[name][0]
        self.stop([name])
        self.start(spec)

    def stop(self, names: Sequence[str] | None = None) -> None:
        """SIGTERM, then SIGKILL whatever has not exited after the grace period and margin.
        A stopped process is no longer supervised (a restart it was due is cancelled)."""
        chosen = [n for n in (names or list(self.running)) if n in self.running]
        for name in chosen:
            self._health.pop(name, None)
            _signal(self.running[name][1], signal.SIGTERM)
        deadline = time.monotonic() + self.kill_after
        for name in chosen:
            process = self.running.pop(name)[1]
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal(process, signal.SIGKILL)
                process.wait()


def supervise_until_stopped(group: ProcessGroup, tick: float = SUPERVISE_TICK_SECONDS) -> int:
    """Supervise ``group`` until SIGINT (Ctrl-C) or SIGTERM, then stop it; 0 then, 1 when
    a crash loop made the supervisor give up.

    While this runs, the two signals only ask for the stop: the loop is never interrupted
    half-way through starting a process (which would leave that one running), and no restart
    happens once a stop was asked for. A second Ctrl-C does not cut the stop short."""
    stop_requested: list[int] = []

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop_requested.append(signum)

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop_requested:
            try:
                group.supervise()
            except CrashLoopError as error:
                print(
                    f"\nstopped: {error.name} kept crashing; see {error.log}",
                    file=sys.stderr,
                    flush=True,
                )
                return 1
            time.sleep(tick)  # a signal runs its handler, then the sleep ends on time
        print("\nstopping ...", flush=True)
        return 0
    finally:
        group.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _exit_reason(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with code {returncode}"


def _signal(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)


def _answers(url: str | None) -> bool:
    if url is None:
        return True
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
