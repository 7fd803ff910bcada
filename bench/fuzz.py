"""The GraphQL fuzz for longer than CI runs it, with a new seed each time.

``python -m bench.fuzz`` runs the subgraph fuzz (``tests/fuzz``, in process) and the gateway
fuzz (``tests/e2e/test_fuzz_gateway.py``, the whole stack on ports 4100-4104) with ten times
CI's operations and a random seed, which it prints first: ``--seed N`` replays a run. The
database and Redis settings are the tests' (``LIAISON_DATABASE_URL``, ``LIAISON_REDIS_URL``,
``LIAISON_TEST_DATABASE_PREFIX``); extra arguments go to pytest.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys

from shared.settings import REPO_ROOT

TARGETS = {
    "subgraphs": ["tests/fuzz"],
    "gateway": ["tests/e2e/test_fuzz_gateway.py"],
    "all": ["tests/fuzz", "tests/e2e/test_fuzz_gateway.py"],
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=10.0, help="times CI's operation counts")
    parser.add_argument("--seed", type=int, default=None, help="replay this seed (default: new)")
    parser.add_argument("--target", choices=sorted(TARGETS), default="all")
    args, pytest_args = parser.parse_known_args()
    chosen = args.seed if args.seed is not None else random.getrandbits(32)
    print(f"fuzz seed {chosen} (replay: python -m bench.fuzz --seed {chosen})", flush=True)
    env = {**os.environ, "LIAISON_FUZZ_SCALE": str(args.scale), "LIAISON_FUZZ_SEED": str(chosen)}
    command = [sys.executable, "-m", "pytest", "-q", "--timeout=0", *TARGETS[args.target]]
    return subprocess.run([*command, *pytest_args], cwd=REPO_ROOT, env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
