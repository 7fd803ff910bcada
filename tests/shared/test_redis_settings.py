"""How ``LIAISON_REDIS_*`` become a Redis connection: a plain server from the URL, or the
master a set of sentinels names (a real failover: tests/faults/test_redis_sentinel.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from redis.exceptions import RedisError

from devstack.stack import settings_env
from shared.runtime import connect_redis, redis_settings
from shared.settings import Settings


def test_sentinels_are_read_as_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIAISON_REDIS_SENTINELS", " s-0:26379, s-1.svc:26380,[::1]:26381,")
    monkeypatch.setenv("LIAISON_REDIS_SENTINEL_MASTER", "myMaster")
    settings = Settings()
    assert settings.redis_sentinels == [("s-0", 26379), ("s-1.svc", 26380), ("::1", 26381)]
    assert settings.redis_sentinel_master == "myMaster"  # case kept: OpsTree's is myMaster


def test_no_sentinels_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LIAISON_REDIS_SENTINELS", raising=False)
    assert Settings().redis_sentinels == []
    monkeypatch.setenv("LIAISON_REDIS_SENTINELS", "")
    assert Settings().redis_sentinels == []


@pytest.mark.parametrize("sentinels", [[], [("s-0", 26379), ("::1", 26381)]])
def test_the_launcher_hands_sentinels_on_as_it_reads_them(
    monkeypatch: pytest.MonkeyPatch, sentinels: list[tuple[str, int]]
) -> None:
    """``./liaison run`` and the test stack pass every setting to their processes as
    variables (devstack.stack.settings_env): the child reads the same list back."""
    env = settings_env(Settings(redis_sentinels=sentinels, redis_url="redis://r:6379/0"))
    monkeypatch.setenv("LIAISON_REDIS_SENTINELS", env["LIAISON_REDIS_SENTINELS"])
    assert Settings().redis_sentinels == sentinels


@pytest.mark.parametrize(
    "value", ["sentinel", "sentinel:", ":26379", "sentinel:port", "sentinel:0", "s:70000"]
)
def test_a_bad_sentinel_is_refused_with_the_variable_named(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("LIAISON_REDIS_SENTINELS", f"good:26379,{value}")
    with pytest.raises(ValidationError) as error:
        Settings()
    assert "LIAISON_REDIS_SENTINELS" in str(error.value)
    assert repr(value) in str(error.value)
    assert "host:port" in str(error.value)


def test_an_empty_master_name_and_negative_replicas_are_refused() -> None:
    with pytest.raises(ValidationError, match="LIAISON_REDIS_SENTINEL_MASTER"):
        Settings(redis_sentinel_master="  ")
    with pytest.raises(ValidationError, match="redis_wait_replicas"):
        Settings(redis_wait_replicas=-1)


def test_without_sentinels_the_url_names_the_server() -> None:
    config = redis_settings(Settings(redis_url="rediss://app:s3cret@redis.example:6380/2"))
    assert (config.host, config.port, config.database) == ("redis.example", 6380, 2)
    assert (config.username, config.password, config.ssl) == ("app", "s3cret", True)
    assert config.sentinel is False


def test_with_sentinels_the_url_gives_credentials_database_and_tls() -> None:
    settings = Settings(
        redis_url="rediss://:s3cret@liaison-redis-master:6379/3",
        redis_sentinels="a:26379,b:26379",  # as from the environment
        redis_sentinel_master="myMaster",
    )
    config = redis_settings(settings)
    assert config.sentinel is True
    assert config.host == [("a", 26379), ("b", 26379)]
    assert config.sentinel_master == "myMaster"
    assert (config.password, config.database, config.ssl) == ("s3cret", 3, True)


def test_tls_checks_the_certificate_against_the_ca_file_and_the_host_name(
    tmp_path: Path,
) -> None:
    ca = tmp_path / "redis-ca.pem"
    tls = redis_settings(Settings(redis_url="rediss://r:6379/0", redis_ca_file=ca))
    assert (tls.ssl, tls.ssl_ca_certs, tls.ssl_check_hostname) == (True, str(ca), True)
    system_store = redis_settings(Settings(redis_url="rediss://r:6379/0"))
    assert (system_store.ssl_ca_certs, system_store.ssl_check_hostname) == (None, True)
    plain = redis_settings(Settings(redis_url="redis://r:6379/0", redis_ca_file=ca))
    assert plain.ssl is False


async def test_tls_is_spoken_to_the_server(settings: Settings, tmp_path: Path) -> None:
    """``rediss://`` to this machine's plain Redis fails in the handshake (a client that
    silently fell back to plain text would connect); ``redis://`` to it connects."""
    assert settings.redis_url is not None
    assert settings.redis_url.startswith("redis://")
    url = settings.redis_url.replace("redis://", "rediss://", 1)
    with pytest.raises((ConnectionError, OSError, RedisError)):
        await connect_redis(settings.model_copy(update={"redis_url": url}))
    client = await connect_redis(settings)
    try:
        assert await client.ping()
    finally:
        await client.aclose()


def test_redis_settings_need_a_url() -> None:
    with pytest.raises(RuntimeError, match="LIAISON_REDIS_URL"):
        redis_settings(Settings(redis_url=None, redis_sentinels=[("a", 26379)]))
