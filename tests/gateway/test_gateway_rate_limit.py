"""Per-principal rate limits at the gateway (gateway/rate-limit.ts): a token bucket per token
`sub` in Redis, shared by every gateway on that Redis; over it, HTTP 429 with Retry-After and
RATE_LIMITED, and nothing runs. Without Redis the gateway serves on, unlimited.

No subgraph runs behind these gateways: an operation that got as far as executing reaches for
one and answers DOWNSTREAM_SERVICE_ERROR, so an answer with RATE_LIMITED alone shows that
nothing ran.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import cast

import httpx
import pytest
import redis

from shared.auth import issue_token
from shared.embedded import redis_server_binary
from shared.graphql.error_codes import GATEWAY_ONLY_CODES
from shared.redis_keys import RedisKeys
from shared.settings import REPO_ROOT, Settings
from tests.gateway.conftest import Gateway, Gateways, free_port

RUNS = "{ regions { id } }"
"""Would go to the requests subgraph, which is not there."""
EVENTS = "{ events(first: 1) { edges { cursor } } }"
"""The partners' event feed."""

TINY = {"LIAISON_GATEWAY_RATE_LIMIT_PER_MINUTE": "1", "LIAISON_GATEWAY_RATE_LIMIT_BURST": "2"}
"""Two operations, then one a minute."""


def token(sub: str) -> str:
    return issue_token(Settings(), sub, ttl=timedelta(minutes=10))


def codes(response: httpx.Response) -> list[str]:
    return [error["extensions"]["code"] for error in response.json().get("errors", [])]


def executed(response: httpx.Response) -> bool:
    """The operation ran: it reached for its subgraph."""
    return codes(response) == ["DOWNSTREAM_SERVICE_ERROR"]


def assert_limited(response: httpx.Response) -> int:
    """The refusal: 429, Retry-After in whole seconds, RATE_LIMITED only. Its Retry-After."""
    assert response.status_code == 429, response.text
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "RATE_LIMITED", error
    assert "http" not in error["extensions"], error
    retry_after = response.headers["retry-after"]
    assert re.fullmatch(r"[1-9][0-9]*", retry_after), retry_after
    assert error["extensions"]["retryAfter"] == int(retry_after)
    return int(retry_after)


def wait_for(condition: Callable[[], bool], seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the condition did not come true in time"
        time.sleep(0.05)


@pytest.fixture
def redis_env(settings: Settings) -> dict[str, str]:
    assert settings.redis_url
    return {"LIAISON_REDIS_URL": settings.redis_url}


def test_over_the_limit_429_with_retry_after_and_nothing_runs(
    gateways: Gateways, redis_env: dict[str, str]
) -> None:
    gateway = gateways.start("gateway", {**redis_env, **TINY})
    gateways.wait_ready()
    li = token("li-mkt")
    assert executed(gateway.post(RUNS, li))
    assert executed(gateway.post(RUNS, li))
    assert assert_limited(gateway.post(RUNS, li)) >= 30  # one a minute: the next in ~60 s
    assert_limited(gateway.post("{ __typename }", li))  # even what the gateway answers itself
    # the bucket is the caller's: someone else's operations still run
    assert executed(gateway.post(RUNS, token("wang-rd")))


def test_two_gateways_share_one_bucket(gateways: Gateways, redis_env: dict[str, str]) -> None:
    first = gateways.start("first", {**redis_env, **TINY})
    second = gateways.start("second", {**redis_env, **TINY})
    gateways.wait_ready()
    li = token("li-mkt")
    assert executed(first.post(RUNS, li))
    assert executed(second.post(RUNS, li))
    assert_limited(first.post(RUNS, li))
    assert_limited(second.post(RUNS, li))


def test_the_bucket_refills_at_the_rate(gateways: Gateways, redis_env: dict[str, str]) -> None:
    gateway = gateways.start(
        "gateway",
        {
            **redis_env,
            "LIAISON_GATEWAY_RATE_LIMIT_PER_MINUTE": "120",  # one every half second
            "LIAISON_GATEWAY_RATE_LIMIT_BURST": "1",
        },
    )
    gateways.wait_ready()
    li = token("li-mkt")
    assert executed(gateway.post(RUNS, li))
    assert assert_limited(gateway.post(RUNS, li)) == 1  # rounded up to a whole second
    wait_for(lambda: executed(gateway.post(RUNS, li)), seconds=5)


def test_operations_on_the_event_feed_have_their_own_higher_limit(
    gateways: Gateways, redis_env: dict[str, str]
) -> None:
    gateway = gateways.start(
        "gateway",
        {
            **redis_env,
            **TINY,
            "LIAISON_GATEWAY_EVENTS_RATE_LIMIT_PER_MINUTE": "1",
            "LIAISON_GATEWAY_EVENTS_RATE_LIMIT_BURST": "4",
        },
    )
    gateways.wait_ready()
    partner = token("partner-crm")
    assert executed(gateway.post(RUNS, partner))
    assert executed(gateway.post(RUNS, partner))
    assert_limited(gateway.post(RUNS, partner))
    # events alone draw from the other bucket; with anything else beside them, from the first
    assert_limited(gateway.post("{ __typename " + EVENTS[1:-1] + " regions { id } }", partner))
    for query in (EVENTS, "{ __typename ...F } fragment F on Query " + EVENTS, EVENTS, EVENTS):
        assert executed(gateway.post(query, partner)), query
    assert_limited(gateway.post(EVENTS, partner))


def test_the_buckets_are_the_keys_of_the_catalogue(
    gateways: Gateways, redis_env: dict[str, str]
) -> None:
    gateway = gateways.start("gateway", {**redis_env, **TINY})
    gateways.wait_ready()
    assert executed(gateway.post(RUNS, token("li-mkt")))
    assert executed(gateway.post(EVENTS, token("li-mkt")))
    prefix = gateways.group.env["LIAISON_REDIS_PREFIX"]
    keys = RedisKeys(Settings(redis_prefix=prefix))
    operations = keys.rate_limit_bucket("operations", "li-mkt")
    client = redis.Redis.from_url(redis_env["LIAISON_REDIS_URL"])
    try:
        found = {key.decode() for key in client.scan_iter(f"{prefix}:*")}
        assert found == {operations, keys.rate_limit_bucket("events", "li-mkt")}
        ttl = cast(int, client.pttl(operations))  # the sync client: an int, not an awaitable
        assert 0 < ttl <= 2 * 60_000 + 1000  # gone once full again: two tokens at one a minute
    finally:
        client.close()


# -- leases ----------------------------------------------------------------------------------


def script_calls(client: redis.Redis) -> int:
    """How many scripts the server ran (the gateway's take is one EVALSHA or EVAL)."""
    stats = cast(dict[str, dict[str, int]], client.info("commandstats"))
    return sum(stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in ("evalsha", "eval"))


def test_a_busy_caller_takes_its_tokens_a_few_at_a_time(gateways: Gateways, tmp_path: Path) -> None:
    port = free_port()  # a Redis of its own: its command counts are this test's alone
    server = start_redis(port, str(tmp_path))
    try:
        gateway = gateways.start(
            "gateway",
            {
                "LIAISON_REDIS_URL": f"redis://127.0.0.1:{port}/0",
                "LIAISON_GATEWAY_RATE_LIMIT_PER_MINUTE": "600",
                "LIAISON_GATEWAY_RATE_LIMIT_BURST": "200",
            },
        )
        gateways.wait_ready()
        client = redis.Redis(port=port)
        li = token("li-mkt")
        before = script_calls(client)
        for _ in range(100):
            assert executed(gateway.post(RUNS, li))
        calls = script_calls(client) - before
        # leases of 1, 2, 4, 8, 16, then 20 (a tenth of the burst): 10 calls, a few more if
        # a lease expired on a slow machine; one per operation without leases
        assert 5 <= calls <= 30, calls
        client.close()
    finally:
        server.terminate()
        server.wait(10)


def test_leases_never_let_a_caller_past_the_burst(
    gateways: Gateways, redis_env: dict[str, str]
) -> None:
    limits = {
        "LIAISON_GATEWAY_RATE_LIMIT_PER_MINUTE": "1",
        "LIAISON_GATEWAY_RATE_LIMIT_BURST": "30",
    }
    first = gateways.start("first", {**redis_env, **limits})
    second = gateways.start("second", {**redis_env, **limits})
    gateways.wait_ready()
    li = token("li-mkt")
    started = time.monotonic()
    ran, refused = 0, {"first": False, "second": False}
    while not all(refused.values()):  # until each replica has spent its leases and is told no
        for name, gateway in (("first", first), ("second", second)):
            response = gateway.post(RUNS, li)
            if executed(response):
                ran += 1
            else:
                assert_limited(response)
                refused[name] = True
        assert ran <= 40, "the burst did not hold"
    refilled = int((time.monotonic() - started) // 60)  # one a minute
    assert 30 <= ran <= 30 + refilled


# -- Redis away ------------------------------------------------------------------------------


def start_redis(port: int, directory: str) -> subprocess.Popen[bytes]:
    command = [str(redis_server_binary()), "--port", str(port), "--bind", "127.0.0.1"]
    command += ["--save", "", "--appendonly", "no", "--dir", directory]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def warnings_about_redis(gateway: Gateway) -> list[str]:
    return [line for line in gateway.log_lines() if "rate limits off" in line]


def test_without_redis_the_gateway_serves_unlimited_and_logs_the_outage_once(
    gateways: Gateways, tmp_path: Path
) -> None:
    redis_port = free_port()  # no Redis there, until the test starts one
    gateway = gateways.start(
        "gateway", {"LIAISON_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0", **TINY}
    )
    gateways.wait_ready()
    li = token("li-mkt")
    for _ in range(5):  # over the burst of 2
        assert executed(gateway.post(RUNS, li))
    [warning] = warnings_about_redis(gateway)
    assert "Redis is not answering" in warning
    # Redis comes up: the limits apply again (and that is logged once too)
    server = start_redis(redis_port, str(tmp_path))
    try:
        wait_for(lambda: gateway.post(RUNS, li).status_code == 429)
        assert any("rate limits on again" in line for line in gateway.log_lines())
        assert len(warnings_about_redis(gateway)) == 1
    finally:
        server.terminate()
        server.wait(10)


def test_without_a_redis_url_there_are_no_limits(gateways: Gateways) -> None:
    gateway = gateways.start("gateway", {"LIAISON_REDIS_URL": "", **TINY})
    gateways.wait_ready()
    li = token("li-mkt")
    for _ in range(3):
        assert executed(gateway.post(RUNS, li))
    assert any("LIAISON_REDIS_URL is not set" in line for line in gateway.log_lines())


def test_the_code_is_in_the_catalogue() -> None:
    source = (REPO_ROOT / "gateway" / "rate-limit.ts").read_text()
    assert set(re.findall(r"code: '([A-Z_]+)'", source)) == {"RATE_LIMITED"}
    assert "RATE_LIMITED" in GATEWAY_ONLY_CODES
