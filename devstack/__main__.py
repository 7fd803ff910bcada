"""`./liaison run | test | token`: the two commands of the README, and a token minter.

* ``run`` starts PostgreSQL and Redis (embedded unless ``LIAISON_DATABASE_URL`` and
  ``LIAISON_REDIS_URL`` are set), loads the demo data, starts every process and prints where
  to point a GraphQL client, with a development token. A process that dies is restarted
  with backoff; one that keeps crashing stops everything (exit status 1). Ctrl-C stops
  everything it started.
* ``test`` checks lint, types and committed schemas, then runs pytest (extra arguments go to
  pytest). It uses the configured servers, or starts embedded ones for the session.
* ``token`` prints a development token for a person of the demo directory.
* ``documents register|remove`` registers or retires a client build's persisted-query
  manifest (:mod:`devstack.documents`).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from devstack import documents
from devstack.demo_gateway import load_gateway_demo
from devstack.node import compose_argv, ensure_gateway_packages
from devstack.processes import supervise_until_stopped
from devstack.stack import build_supergraph, gateway_url, start_stack
from services.requests import demo
from services.requests.app import MIGRATIONS
from shared.auth import issue_token
from shared.embedded import EmbeddedInfra
from shared.runtime import ServiceRuntime
from shared.settings import REPO_ROOT, Settings, get_settings


@contextmanager
def infrastructure(settings: Settings) -> Iterator[Settings]:
    """The settings with server URLs: the configured ones, or embedded servers started here."""
    if settings.database_url and settings.redis_url:
        yield settings
        return
    print(f"starting embedded PostgreSQL and Redis under {settings.data_dir} ...", flush=True)
    with EmbeddedInfra(settings.data_dir) as infra:
        yield settings.model_copy(
            update={
                "database_url": settings.database_url or infra.database_url,
                "redis_url": settings.redis_url or infra.redis_url,
            }
        )


async def _load_demo(settings: Settings) -> None:
    runtime = await ServiceRuntime.start("requests", settings, MIGRATIONS)
    try:
        await demo.load_demo(runtime)
    finally:
        await runtime.close()


def demo_token(settings: Settings, person_id: str) -> str:
    person = next((p for p in demo.PEOPLE if p[0] == person_id), None)
    if person is None:
        raise SystemExit(
            f"unknown demo person {person_id!r}; one of: {[p[0] for p in demo.PEOPLE]}"
        )
    return issue_token(settings, person_id)


def _stop_on_signals() -> None:
    """SIGTERM and Ctrl-C (SIGINT) both stop the stack. SIGINT gets a handler of its own
    too: a process started in the background of a script inherits SIGINT ignored, and
    Python then leaves it ignored."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt  # unwinds through the same clean-up as Ctrl-C

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handler)


def run() -> int:
    _stop_on_signals()
    try:
        with infrastructure(get_settings()) as settings:
            build_supergraph()
            asyncio.run(_load_demo(settings))
            log_dir = settings.data_dir / "logs"
            print("starting subgraphs, workers, relay and gateway ...", flush=True)
            group = start_stack(settings, log_dir)
            try:
                load_gateway_demo(settings, gateway_url(settings))
                _print_banner(settings, log_dir)
                # Restarts a process that dies; a crash loop stops everything and returns 1.
                return supervise_until_stopped(group)
            finally:
                group.stop()
    except KeyboardInterrupt:  # Ctrl-C at any point, also while installing or starting
        print("\nstopped", flush=True)
        return 0


def _print_banner(settings: Settings, log_dir: Path) -> None:
    token = demo_token(settings, demo.DEMO_PERSON)
    print(
        f"""
Liaison is running.
  GraphQL endpoint : {gateway_url(settings)}   (WebSocket subscriptions on the same URL)
  Logs             : {log_dir}/<process>.log
  Token (PMO {demo.DEMO_PERSON}, 12 h):
{token}

  Try (with TOKEN set to the token above):
    curl -s {gateway_url(settings)} -H 'content-type: application/json' \\
      -H "authorization: Bearer $TOKEN" \\
      -d '{{"query":"{{ requests {{ edges {{ node {{ code title }} }} }} }}"}}'
Press Ctrl-C to stop.""",
        flush=True,
    )


def test(pytest_args: list[str]) -> int:
    ensure_gateway_packages()
    python = sys.executable
    checks = [
        [python, "-m", "ruff", "check", "."],
        [python, "-m", "ruff", "format", "--check", "."],
        [python, "-m", "mypy", "."],
        [python, "-m", "services.sdl", "--check"],
        [python, "-m", "shared.events.catalog", "--check"],
        compose_argv("--check"),
    ]
    for command in checks:
        print("$", " ".join(command[-3:]), flush=True)
        if subprocess.run(command, cwd=REPO_ROOT).returncode != 0:
            return 1
    return subprocess.run([python, "-m", "pytest", *pytest_args], cwd=REPO_ROOT).returncode


def main() -> int:
    parser = argparse.ArgumentParser(prog="liaison", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="run the whole system with demo data")
    commands.add_parser("test", help="lint, type-check and run the test suite")
    token = commands.add_parser("token", help="print a development token")
    token.add_argument("person", nargs="?", default=demo.DEMO_PERSON)
    documents.add_commands(commands)
    args, rest = parser.parse_known_args()
    if args.command == "run":
        return run()
    if args.command == "test":
        return test(rest)
    if args.command == "documents":
        return documents.run(args)
    print(demo_token(get_settings(), args.person))
    return 0


if __name__ == "__main__":
    sys.exit(main())
