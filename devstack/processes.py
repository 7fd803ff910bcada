"""A group of child processes that start together, log to files and stop together."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

STOP_MARGIN_SECONDS = 5.0
"""Time a process gets beyond its own grace period (closing pools, the last log lines)
before SIGKILL."""


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
    """

    def __init__(
        self, env: Mapping[str, str], log_dir: Path, cwd: Path, *, grace_seconds: float
    ) -> None:
        self.env = {**os.environ, **env}
        self.log_dir = log_dir
        self.cwd = cwd
        self.kill_after = grace_seconds + STOP_MARGIN_SECONDS
        self.running: dict[str, tuple[ProcessSpec, subprocess.Popen[bytes]]] = {}
        log_dir.mkdir(parents=True, exist_ok=True)

    def start(self, spec: ProcessSpec) -> None:
        log = (self.log_dir / f"{spec.name}.log").open("ab")
        process = subprocess.Popen(
            list(spec.argv),
            cwd=self.cwd,
            env=self.env,
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
                log = self.log_dir / f"{name}.log"
                raise RuntimeError(
                    f"{name} exited with {process.returncode}; see {log}\n{_tail(log)}"
                )

    def restart(self, name: str) -> None:
        """Stop one process (SIGTERM) and start it again with the same command."""
        spec = self.running[name][0]
        self.stop([name])
        self.start(spec)

    def stop(self, names: Sequence[str] | None = None) -> None:
        """SIGTERM, then SIGKILL whatever has not exited after the grace period and margin."""
        chosen = [n for n in (names or list(self.running)) if n in self.running]
        for name in chosen:
            _signal(self.running[name][1], signal.SIGTERM)
        deadline = time.monotonic() + self.kill_after
        for name in chosen:
            process = self.running.pop(name)[1]
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal(process, signal.SIGKILL)
                process.wait()


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
