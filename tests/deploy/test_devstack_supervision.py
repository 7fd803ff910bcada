"""``./liaison run`` supervises like an orchestrator: a process that dies is restarted after a
backoff that grows with each crash in a row, and one that keeps crashing stops everything.

Real child processes throughout; the policy's delays are shrunk so the suite stays fast.
"""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devstack.processes import CrashLoopError, ProcessGroup, ProcessSpec, RestartPolicy
from shared.settings import REPO_ROOT

SLEEPER = """
import os, time
print(f"ready {os.getpid()}", flush=True)
time.sleep(600)
"""
"""Serves until killed; its log names its pid."""
CRASHER = """
import time
time.sleep(0.05)
print("cannot start: configuration is broken", flush=True)
raise SystemExit(3)
"""
"""Dies a moment after every start, as a process with a bad configuration does."""

FAST = RestartPolicy(
    initial_backoff_seconds=0.05,
    max_backoff_seconds=0.4,
    stable_after_seconds=60.0,
    crash_budget=20,
    crash_window_seconds=60.0,
    jitter=0.2,
)
DELAY = re.compile(r"restarting in ([0-9.]+) s")


class Console(io.StringIO):
    def delays(self) -> list[float]:
        return [float(d) for d in DELAY.findall(self.getvalue())]


@pytest.fixture
def console() -> Console:
    return Console()


@pytest.fixture
def make_group(
    tmp_path: Path, console: Console
) -> Iterator[Callable[[RestartPolicy], ProcessGroup]]:
    groups: list[ProcessGroup] = []

    def make(policy: RestartPolicy) -> ProcessGroup:
        group = ProcessGroup(
            {}, tmp_path, REPO_ROOT, grace_seconds=0.5, restart_policy=policy, console=console
        )
        groups.append(group)
        return group

    yield make
    for group in groups:
        group.stop()


def _supervise_until(group: ProcessGroup, done: Callable[[], bool], timeout: float = 10) -> None:
    """Tick the supervisor, as ``./liaison run`` does, until ``done()`` or the deadline."""
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "the condition did not come true in time"
        group.supervise()
        time.sleep(0.02)


def _pid(group: ProcessGroup, name: str) -> int:
    return group.running[name][1].pid


def _ready(log: Path, pid: int) -> Callable[[], bool]:
    return lambda: f"ready {pid}" in (log.read_text() if log.exists() else "")


def _alive(pid: int, marker: str) -> bool:
    """``pid`` is still a process running ``marker`` (not a zombie, not a reused pid)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return marker.encode() in cmdline and state != "Z"


def test_a_killed_process_is_restarted_and_the_console_says_which_and_why(
    make_group: Callable[[RestartPolicy], ProcessGroup], console: Console, tmp_path: Path
) -> None:
    group = make_group(FAST)
    group.start(ProcessSpec("relay", [sys.executable, "-c", SLEEPER]))
    group.start(ProcessSpec("bystander", [sys.executable, "-c", SLEEPER]))
    log = tmp_path / "relay.log"
    first, bystander = _pid(group, "relay"), _pid(group, "bystander")
    _supervise_until(group, _ready(log, first))

    os.kill(first, signal.SIGKILL)
    _supervise_until(group, lambda: _pid(group, "relay") != first)
    second = _pid(group, "relay")
    _supervise_until(group, _ready(log, second))

    notice = next(line for line in console.getvalue().splitlines() if "SIGKILL" in line)
    assert notice.startswith(f"[supervisor] relay (pid {first}) was killed by SIGKILL")
    assert f"log: {log}" in notice
    assert f"    | ready {first}" in console.getvalue(), "the last lines of its log"
    assert f"[supervisor] relay restarted (pid {second})" in console.getvalue()
    assert "restarting relay, which was killed by SIGKILL" in log.read_text()
    assert _pid(group, "bystander") == bystander, "the others were left alone"
    group.raise_if_exited()  # everything is running again


def test_the_backoff_doubles_with_each_crash_in_a_row_up_to_its_cap(
    make_group: Callable[[RestartPolicy], ProcessGroup], console: Console
) -> None:
    group = make_group(FAST)
    group.start(ProcessSpec("notify-worker", [sys.executable, "-c", CRASHER]))
    restarted_at: list[float] = []
    noticed_at: list[float] = []

    def tick() -> bool:
        before = (len(console.delays()), _pid(group, "notify-worker"))
        group.supervise()
        if len(console.delays()) > before[0]:
            noticed_at.append(time.monotonic())
        if _pid(group, "notify-worker") != before[1]:
            restarted_at.append(time.monotonic())
        return len(restarted_at) >= 5

    _supervise_until(group, tick)

    delays = console.delays()[:5]
    assert "[supervisor] notify-worker (pid" in console.getvalue()
    assert "exited with code 3" in console.getvalue()
    for crash, delay in enumerate(delays[:4]):
        expected = FAST.initial_backoff_seconds * 2**crash
        low, high = expected * (1 - FAST.jitter), expected * (1 + FAST.jitter)
        rounding = 0.005  # the notice prints two decimals
        assert low - rounding <= delay <= min(high, FAST.max_backoff_seconds) + rounding, delays
    assert delays[:4] == sorted(set(delays[:4])), "each delay longer than the one before"
    assert delays[4] == FAST.max_backoff_seconds, "the doubling stops at the cap"
    for noticed, restarted, delay in zip(noticed_at, restarted_at, delays, strict=False):
        assert restarted - noticed >= delay - 0.02, "a restart came before its backoff"


def test_the_backoff_starts_over_once_a_process_has_stayed_up(
    make_group: Callable[[RestartPolicy], ProcessGroup], console: Console, tmp_path: Path
) -> None:
    policy = RestartPolicy(
        initial_backoff_seconds=0.1, max_backoff_seconds=5, stable_after_seconds=1.0, jitter=0
    )
    group = make_group(policy)
    group.start(ProcessSpec("tasks-worker", [sys.executable, "-c", SLEEPER]))
    log = tmp_path / "tasks-worker.log"

    def kill_and_wait_for_restart() -> None:
        pid = _pid(group, "tasks-worker")
        _supervise_until(group, _ready(log, pid))
        os.kill(pid, signal.SIGKILL)
        _supervise_until(group, lambda: _pid(group, "tasks-worker") != pid)

    kill_and_wait_for_restart()
    kill_and_wait_for_restart()
    assert console.delays() == [0.1, 0.2]
    up_since = time.monotonic()
    _supervise_until(group, lambda: time.monotonic() - up_since > policy.stable_after_seconds)
    kill_and_wait_for_restart()
    assert console.delays() == [0.1, 0.2, 0.1]


def test_a_crash_loop_stops_the_group_naming_the_process_and_its_log(
    make_group: Callable[[RestartPolicy], ProcessGroup], console: Console, tmp_path: Path
) -> None:
    policy = RestartPolicy(
        initial_backoff_seconds=0.05, max_backoff_seconds=0.2, crash_budget=3, jitter=0
    )
    group = make_group(policy)
    group.start(ProcessSpec("bystander", [sys.executable, "-c", SLEEPER]))
    group.start(ProcessSpec("issues", [sys.executable, "-c", CRASHER]))
    bystander = group.running["bystander"][1]
    log = tmp_path / "issues.log"

    with pytest.raises(CrashLoopError) as raised:
        _supervise_until(group, lambda: False)

    assert raised.value.name == "issues"
    assert raised.value.log == log
    message = str(raised.value)
    assert message.startswith("issues exited with code 3: 4 crashes within 60 s")
    assert "more than the 3 that are restarted" in message
    assert str(log) in message
    assert console.delays() == [0.05, 0.1, 0.2], "three restarts, then it gave up"
    assert "    | cannot start: configuration is broken" in console.getvalue()
    assert group.running == {}, "everything was stopped"
    assert bystander.returncode == -signal.SIGTERM


SUPERVISED = """
import sys
from pathlib import Path
from devstack.processes import ProcessGroup, ProcessSpec, RestartPolicy, supervise_until_stopped

log_dir, backoff, *children = sys.argv[1:]
policy = RestartPolicy(initial_backoff_seconds=float(backoff), crash_budget=2, jitter=0)
group = ProcessGroup({}, Path(log_dir), Path.cwd(), grace_seconds=0.5, restart_policy=policy)
for name, code in zip(children[::2], children[1::2]):
    group.start(ProcessSpec(name, [sys.executable, "-c", code]))
sys.exit(supervise_until_stopped(group, tick=0.05))
"""
"""``./liaison run`` after its banner: the supervision loop over a group of children."""


def _supervised(tmp_path: Path, backoff: float, **children: str) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-c", SUPERVISED, str(tmp_path), str(backoff)]
    for name, code in children.items():
        argv += [name, code]
    with (tmp_path / "out").open("wb") as out, (tmp_path / "err").open("wb") as err:
        return subprocess.Popen(argv, cwd=REPO_ROOT, stdout=out, stderr=err)


def _wait_for(path: Path, pattern: str) -> re.Match[str]:
    deadline = time.monotonic() + 10
    while not (found := re.search(pattern, path.read_text() if path.exists() else "")):
        assert time.monotonic() < deadline, f"no {pattern!r} in {path.name}"
        time.sleep(0.02)
    return found


def _wait_for_pid(log: Path) -> int:
    return int(_wait_for(log, r"ready (\d+)").group(1))


def test_the_run_loop_exits_1_when_a_process_keeps_crashing(tmp_path: Path) -> None:
    loop = _supervised(tmp_path, 0.05, gateway=SLEEPER, relay=CRASHER)
    gateway = _wait_for_pid(tmp_path / "gateway.log")

    loop.wait(timeout=20)

    err = (tmp_path / "err").read_text()
    assert loop.returncode == 1, err
    assert f"stopped: relay kept crashing; see {tmp_path / 'relay.log'}" in err
    assert "giving up and stopping everything" in err
    assert not _alive(gateway, "ready"), "the other processes were stopped"


def test_sigterm_stops_everything_promptly_and_cancels_a_pending_restart(
    tmp_path: Path,
) -> None:
    loop = _supervised(tmp_path, 30.0, relay=SLEEPER, gateway=SLEEPER)
    relay = _wait_for_pid(tmp_path / "relay.log")
    gateway = _wait_for_pid(tmp_path / "gateway.log")
    os.kill(relay, signal.SIGKILL)  # its restart is due in 10 s (capped)
    _wait_for(tmp_path / "err", rf"relay \(pid {relay}\) was killed by SIGKILL.*restarting in 10")

    stop_asked = time.monotonic()
    loop.send_signal(signal.SIGTERM)
    loop.wait(timeout=10)

    assert loop.returncode == 0, (tmp_path / "err").read_text()
    assert time.monotonic() - stop_asked < 3, "the stop waited for the pending restart"
    assert "stopping ..." in (tmp_path / "out").read_text()
    assert "restarted" not in (tmp_path / "err").read_text()
    assert not _alive(gateway, "ready")
