"""``./liaison run`` stops its processes as production does: each gets
``LIAISON_SHUTDOWN_GRACE_SECONDS`` (plus a margin) before it is killed."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

from devstack.processes import STOP_MARGIN_SECONDS, ProcessSpec
from devstack.stack import process_group, process_specs
from services import SERVICE_NAMES
from shared.settings import Settings

GRACE_SECONDS = 1.0
SLOW_EXIT = f"""
import signal, sys, time
signal.signal(signal.SIGTERM, lambda *_: (time.sleep({GRACE_SECONDS + 1}), sys.exit(0)))
print("ready", flush=True)
time.sleep(600)
"""
"""Needs a second more than the grace period to finish, well within the margin."""
DEAF = """
import signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("ready", flush=True)
time.sleep(600)
"""
"""Never stops on SIGTERM."""


def _wait_for_ready(log: Path) -> None:
    deadline = time.monotonic() + 10
    while "ready" not in (log.read_text() if log.exists() else ""):
        assert time.monotonic() < deadline, "the child did not start"
        time.sleep(0.05)


def test_processes_get_the_grace_period_and_a_margin_before_they_are_killed(
    settings: Settings, tmp_path: Path
) -> None:
    group = process_group(settings.model_copy(update={"shutdown_grace_seconds": 1.0}), tmp_path)
    group.start(ProcessSpec("slow", [sys.executable, "-c", SLOW_EXIT]))
    group.start(ProcessSpec("deaf", [sys.executable, "-c", DEAF]))
    slow, deaf = group.running["slow"][1], group.running["deaf"][1]
    _wait_for_ready(tmp_path / "slow.log")
    _wait_for_ready(tmp_path / "deaf.log")

    started = time.monotonic()
    group.stop()
    took = time.monotonic() - started

    assert slow.returncode == 0, "a shutdown longer than the grace period was not cut short"
    assert deaf.returncode == -signal.SIGKILL
    assert GRACE_SECONDS + STOP_MARGIN_SECONDS <= took < GRACE_SECONDS + STOP_MARGIN_SECONDS + 2


def test_subgraphs_run_as_the_image_runs_them() -> None:
    """``shared.serve`` gives uvicorn ``LIAISON_SHUTDOWN_GRACE_SECONDS`` to drain requests."""
    specs = {spec.name: spec for spec in process_specs(Settings())}
    for service in SERVICE_NAMES:
        argv = list(specs[service].argv)
        assert argv[1:5] == ["-m", "shared.serve", "service", service]
