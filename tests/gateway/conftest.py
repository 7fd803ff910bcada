"""Real Hive Gateway processes (the committed config and supergraph) on free ports.

No subgraph runs behind them: what is tested here (token checks, introspection, GraphiQL,
logs) is the gateway's own work, and ``{ __typename }`` is answered by the gateway itself.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from devstack.node import ensure_gateway_packages, gateway_argv
from devstack.processes import ProcessGroup, ProcessSpec
from services import SERVICE_NAMES
from shared.settings import REPO_ROOT, Settings

START_TIMEOUT_SECONDS = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Gateway:
    url: str
    log: Path

    def post(
        self, query: str, token: str | None, variables: Mapping[str, object] | None = None
    ) -> httpx.Response:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        body = {"query": query, "variables": variables}
        return httpx.post(f"{self.url}/graphql", json=body, headers=headers)

    def log_lines(self) -> list[str]:
        return [line for line in self.log.read_text().splitlines() if line.strip()]


class Gateways:
    """Starts gateways with extra environment; all of them stop at the end of the test."""

    def __init__(self, log_dir: Path) -> None:
        unreachable = f"http://127.0.0.1:{free_port()}/graphql"
        env = {f"LIAISON_{name.upper()}_URL": unreachable for name in SERVICE_NAMES}
        # Rate-limit buckets of this test's own: its gateways share them, no other test's do.
        env["LIAISON_REDIS_PREFIX"] = f"liaisontest-gateway-{uuid.uuid4().hex[:12]}"
        grace = Settings().shutdown_grace_seconds
        self.group = ProcessGroup(env, log_dir, REPO_ROOT, grace_seconds=grace)
        self.log_dir = log_dir

    def start(self, name: str, env: Mapping[str, str], host: str = "127.0.0.1") -> Gateway:
        """A gateway whose environment is this process's plus ``env`` (empty values unset),
        listening on ``host`` (probed on 127.0.0.1, which 0.0.0.0 includes)."""
        port = free_port()
        base = dict(self.group.env)
        self.group.env.update(env)
        for key in [k for k, v in self.group.env.items() if not v]:
            del self.group.env[key]
        self.group.start(
            ProcessSpec(
                name,
                gateway_argv(host, port),
                ready_url=f"http://127.0.0.1:{port}/healthcheck",
            )
        )
        self.group.env = base
        return Gateway(f"http://127.0.0.1:{port}", self.log_dir / f"{name}.log")

    def wait_ready(self) -> None:
        self.group.wait_ready(START_TIMEOUT_SECONDS)


@pytest.fixture(scope="session")
def gateway_packages() -> None:
    ensure_gateway_packages()


@pytest.fixture
def gateways(gateway_packages: None, tmp_path: Path) -> Iterator[Gateways]:
    started = Gateways(tmp_path)
    yield started
    started.group.stop()


@pytest.fixture(scope="module")
def plain_gateway(
    gateway_packages: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    """One gateway with the default settings for a module whose tests need no fresh one."""
    started = Gateways(tmp_path_factory.mktemp("plain-gateway"))
    try:
        served = started.start("gateway", {})
        started.wait_ready()
        yield served
    finally:
        started.group.stop()
