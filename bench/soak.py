"""The fault suite for longer: more cycles of every fault, under a heavier load.

``python -m bench.soak`` runs ``tests/faults`` (its own embedded PostgreSQL and Redis, the
stack on ports 4300-4304) with the whole fault plan repeated ``--cycles`` times (6; each
cycle kills another subgraph: requests, tasks, issues, notify, requests, ...) and
``--lanes`` rounds of writes at once (4; CI runs 1 cycle with 2). It prints the suite's
table of faults, recovery times and lost / duplicated counts, and exits with pytest's
status: 0 when every fault healed within 10 s and nothing was lost or repeated. Extra
arguments go to pytest::

    .venv/bin/python -m bench.soak                       # 6 cycles, 4 lanes (about 6 min)
    .venv/bin/python -m bench.soak --cycles 20 --lanes 6
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from shared.settings import REPO_ROOT


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cycles", type=int, default=6, help="times the fault plan is run")
    parser.add_argument("--lanes", type=int, default=4, help="rounds of writes at once")
    args, pytest_args = parser.parse_known_args()
    if args.cycles < 1 or args.lanes < 1:
        parser.error("--cycles and --lanes are at least 1")
    print(f"fault soak: {args.cycles} cycles, {args.lanes} lanes", flush=True)
    env = {
        **os.environ,
        "LIAISON_FAULT_CYCLES": str(args.cycles),
        "LIAISON_FAULT_LANES": str(args.lanes),
    }
    command = [sys.executable, "-m", "pytest", "-q", "--timeout=0", "tests/faults", *pytest_args]
    return subprocess.run(command, cwd=REPO_ROOT, env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
