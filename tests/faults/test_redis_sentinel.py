"""Redis through Sentinel: a failover loses no event (issue 17, "highly available Redis").

A real set (tests/faults/sentinel.py: a master, a replica, three sentinels with quorum 2) is
started by each test. The event path runs against it through ``LIAISON_REDIS_SENTINELS`` only
(the URL's host is a name that does not resolve): commits write outbox rows, the relay
(``run_relays``, as ``python -m shared.events.relay`` runs it) publishes them, a consumer
handles each once. Events are committed before, during and after the failover: a planned one
(``SENTINEL FAILOVER``) and a crash (the master killed, then started again as Kubernetes
would). Afterwards every event committed was handled exactly once, the new master's stream
holds them all, and the clients talk to the new master; the relay and the consumer rode the
failover out and never stopped. The gateway's rate limits follow the master too.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import orjson
import pytest

from shared.events.consumer import Consumer
from shared.events.relay import run_relays
from shared.redis_keys import RedisKeys
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from tests.faults.load import eventually
from tests.faults.sentinel import MASTER_NAME, Node, SentinelSet, sentinel_set, wait_until
from tests.gateway.conftest import Gateways, gateway_packages, gateways
from tests.gateway.test_gateway_rate_limit import RUNS, TINY, assert_limited, executed, token
from tests.shared.conftest import WIDGET_MIGRATION, widget_event
from tests.shared.test_outbox_relay_consumer import (
    drained,
    effect_counts,
    emit_widgets,
    recording_handler,
)
from tests.support import reset_service, server_directory

# Fixtures of tests/shared and tests/gateway, used here.
__all__ = ["gateway_packages", "gateways", "widget_event"]

SERVICE = "sentineltest"
"""A throwaway service with the widgets of tests/shared (its own database and migrations)."""

AFTER_SWITCH = 50
"""Events committed once the new master has a replica again, before the producer stops."""
PRODUCER_PAUSE_SECONDS = 0.01
"""Between two commits of the producer: a steady stream of about a hundred events a second."""


@pytest.fixture
def sentinels() -> Iterator[SentinelSet]:
    with server_directory() as directory, sentinel_set(directory) as nodes:
        yield nodes


@pytest.fixture(scope="module")
def migrations(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # A fixed folder name: migrations are recorded by it, and the database outlives the run.
    directory = tmp_path_factory.mktemp(SERVICE, numbered=False) / "migrations"
    directory.mkdir()
    (directory / "0001_widgets.sql").write_text(WIDGET_MIGRATION, encoding="utf-8")
    return directory


@pytest.fixture
async def runtime(
    settings: Settings, sentinels: SentinelSet, migrations: Path
) -> AsyncIterator[ServiceRuntime]:
    """The throwaway service, its Redis reached only through the sentinels."""
    through_sentinels = settings.model_copy(
        update={
            # Through Sentinel the URL gives the database and credentials, never the host.
            "redis_url": "redis://no-such-host.invalid:6379/0",
            "redis_sentinels": sentinels.addresses,
            "redis_sentinel_master": MASTER_NAME,
            "redis_wait_replicas": 1,
        }
    )
    runtime = await ServiceRuntime.start(SERVICE, through_sentinels, migrations)
    await reset_service(runtime)
    yield runtime
    await runtime.close()


class EventPath:
    """The relay and a consumer running in this loop, and a producer committing events."""

    def __init__(self, runtime: ServiceRuntime, event: str) -> None:
        self.runtime, self.event = runtime, event
        self.produced: list[str] = []
        self.stop = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> EventPath:
        handlers = {self.event: recording_handler("sentinel")}
        self.tasks = [
            asyncio.create_task(run_relays([SERVICE], self.runtime.settings, self.stop)),
            asyncio.create_task(Consumer(self.runtime, handlers).run(self.stop)),
        ]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.stop.set()
        await asyncio.wait_for(asyncio.gather(*self.tasks), 15)

    async def produce(self, count: int) -> None:
        for _ in range(count):
            self.produced += await emit_widgets(self.runtime, self.event, 1, len(self.produced))

    async def produce_until(self, done: asyncio.Event) -> None:
        """Commit events, paced, until ``done``. Stopped between commits, never cancelled: a
        cancel landing after a COMMIT but before its id is noted would leave a delivered event
        the test does not know it produced."""
        while not done.is_set():
            await self.produce(1)
            await asyncio.sleep(PRODUCER_PAUSE_SECONDS)

    def assert_running(self) -> None:
        """The relay and the consumer are still at it: no failover error ended them."""
        for task in self.tasks:
            assert not task.done(), task

    async def all_handled(self) -> bool:
        self.assert_running()
        return set(self.produced) <= set(await effect_counts(self.runtime))


async def _stream_ids(node: Node, stream: str) -> set[str]:
    """The event ids in ``stream`` on ``node`` itself (no Sentinel in between)."""
    with node.client() as client:
        entries = client.xrange(stream)
    return {orjson.loads(fields["event"])["id"] for _id, fields in entries}


async def _fail_over(sentinels: SentinelSet, fault: str) -> tuple[Node, Node]:
    """Inflict ``fault`` on the master; return (old, new) once the new master has the old one
    as its replica again, in sync (until then, with one replica, no write is confirmed)."""
    old = sentinels.master()
    if fault == "SENTINEL FAILOVER":
        sentinels.failover()
    else:
        old.kill()

    async def switched() -> bool:
        return sentinels.switched_from(old)

    await eventually(switched, 30, "the sentinels promoting the replica", every=0.05)
    new = sentinels.master()
    if fault == "master killed":
        old.start()  # restarted with its own config, as a master: the sentinels demote it

    async def replica_again() -> bool:
        return sentinels.in_sync(old)

    await eventually(replica_again, 40, "the old master replicating the new one", every=0.1)
    return old, new


@pytest.mark.timeout(150)
@pytest.mark.parametrize("fault", ["SENTINEL FAILOVER", "master killed"])
async def test_a_failover_loses_no_event(
    runtime: ServiceRuntime, sentinels: SentinelSet, widget_event: str, fault: str
) -> None:
    async with EventPath(runtime, widget_event) as path:
        await path.produce(20)
        await eventually(path.all_handled, 20, "the first events handled")
        done = asyncio.Event()
        producer = asyncio.create_task(path.produce_until(done))
        try:
            before = len(path.produced)
            old, new = await _fail_over(sentinels, fault)
            during = len(path.produced) - before
            mark = len(path.produced)

            async def produced_after() -> bool:
                return len(path.produced) >= mark + AFTER_SWITCH

            await eventually(produced_after, 30, "events committed after the failover")
        finally:
            done.set()
            await producer
        await eventually(path.all_handled, 60, "every event handled after the failover")

        assert during > 0, "events were committed while the master changed"
        counts = await effect_counts(runtime)
        assert set(counts) == set(path.produced)
        assert set(counts.values()) == {1}, "every event handled exactly once"
        unsent = await runtime.pool.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL")
        assert unsent == 0
        assert set(path.produced) <= await _stream_ids(new, runtime.keys.event_stream)
        # The service's client (and so the consumer's) reads from the new master...
        assert int((await runtime.redis.info("server"))["tcp_port"]) == new.port
        assert sentinels.role(new) == "master"
        assert sentinels.role(old) == "slave"
        # ...and the group there has every entry delivered and acknowledged.
        await eventually(lambda: drained(runtime), 10, "the group drained on the new master")
        path.assert_running()


def test_the_gateway_follows_the_master(gateways: Gateways, sentinels: SentinelSet) -> None:
    """The gateway's rate-limit buckets live on whichever server the sentinels name."""
    gateway = gateways.start(
        "gateway",
        {
            "LIAISON_REDIS_URL": "redis://no-such-host.invalid:6379/0",
            "LIAISON_REDIS_SENTINELS": ",".join(f"{h}:{p}" for h, p in sentinels.addresses),
            "LIAISON_REDIS_SENTINEL_MASTER": MASTER_NAME,
            **TINY,
        },
    )
    gateways.wait_ready()
    li = token("li-mkt")
    assert executed(gateway.post(RUNS, li))
    assert executed(gateway.post(RUNS, li))
    assert_limited(gateway.post(RUNS, li))
    old = sentinels.master()
    sentinels.failover()
    wait_until(lambda: sentinels.switched_from(old), 30, "the sentinels promoting the replica")
    new = sentinels.master()
    keys = RedisKeys(Settings(redis_prefix=gateways.group.env["LIAISON_REDIS_PREFIX"]))

    def bucket_on_new_master() -> bool:
        gateway.post(RUNS, token("wang-rd"))  # fails open until the gateway has reconnected
        with new.client() as client:
            return bool(client.exists(keys.rate_limit_bucket("operations", "wang-rd")))

    wait_until(bucket_on_new_master, 30, "the gateway writing its buckets on the new master")
    assert_limited(gateway.post(RUNS, li))  # li's bucket came across with the replication
