"""The connections one service process holds: its database pool and its Redis/arq client."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

import asyncpg
from arq.connections import ArqRedis, RedisSettings, create_pool
from redis.asyncio.sentinel import Sentinel

from shared.authority import Directory
from shared.db import SHARED_MIGRATIONS, prepare_database
from shared.redis_keys import RedisKeys
from shared.resilience import DATABASE_OUTAGES, REDIS_OUTAGES, Outage, patiently
from shared.settings import Settings
from shared.tokens import TokenVerifier

log = logging.getLogger(__name__)


SENTINEL_TIMEOUT_SECONDS = 2.0
"""How long a question to one sentinel may take before the client asks the next one."""


def redis_settings(settings: Settings) -> RedisSettings:
    """arq connection settings for the configured Redis: the server of ``LIAISON_REDIS_URL``,
    or with ``LIAISON_REDIS_SENTINELS`` the master the sentinels name (the URL's credentials,
    database and TLS still apply)."""
    if settings.redis_url is None:
        raise RuntimeError("LIAISON_REDIS_URL is not set and no embedded server was started")
    plain = RedisSettings.from_dsn(settings.redis_url)
    if plain.ssl:  # as verify-full: the chain (to the CA file, if any) and the host name
        ca_file = None if settings.redis_ca_file is None else str(settings.redis_ca_file)
        plain = replace(plain, ssl_check_hostname=True, ssl_ca_certs=ca_file)
    if not settings.redis_sentinels:
        return plain
    return replace(
        plain,
        host=list(settings.redis_sentinels),
        port=0,  # each sentinel has its own; the master's comes from them
        sentinel=True,
        sentinel_master=settings.redis_sentinel_master,
    )


def job_queue_name(settings: Settings, service: str, region: str | None = None) -> str:
    """``service``'s arq queue: region-local when ``LIAISON_REGIONAL_QUEUES`` is on, so only
    the workers of that region (``region``, else ``LIAISON_REGION``) take its jobs."""
    if not settings.regional_queues:
        return RedisKeys(settings).job_queue(service)
    return RedisKeys(settings).job_queue(service, region or settings.region)


async def connect_redis(settings: Settings | RedisSettings, **arq_options: Any) -> ArqRedis:
    """The one way a Liaison process connects to Redis: a client that serves plain Redis
    calls (streams, pub/sub) and arq enqueues, checked with a PING. ``arq_options`` are
    :func:`arq.connections.create_pool`'s (``job_serializer``, ``default_queue_name``...)."""
    config = settings if isinstance(settings, RedisSettings) else redis_settings(settings)
    if not config.sentinel:
        return await create_pool(config, **arq_options)
    client = _sentinel_master(config)
    for name, value in arq_options.items():
        setattr(client, name, value)  # what arq's create_pool does with them too
    try:
        await client.ping()
    except BaseException:
        await client.aclose()
        raise
    return client


def _sentinel_master(config: RedisSettings) -> ArqRedis:
    """A client of the master the sentinels name. Its pool asks them again whenever it opens
    a connection, and a READONLY answer (the server it had was demoted) drops the connection
    as a ConnectionError, so after a failover the next attempt reaches the new master.

    arq's own sentinel support is not used: it sets no timeouts, so a sentinel or a master
    whose host vanished would hang a client for the length of a TCP timeout."""
    timeouts = {
        "socket_connect_timeout": SENTINEL_TIMEOUT_SECONDS,
        "socket_timeout": SENTINEL_TIMEOUT_SECONDS,
    }
    credentials = {"username": config.username, "password": config.password}
    tls: dict[str, Any] = {"ssl": config.ssl}
    if config.ssl:
        tls |= {"ssl_ca_certs": config.ssl_ca_certs, "ssl_check_hostname": True}
    sentinel = Sentinel(  # type: ignore[no-untyped-call]
        cast(list[tuple[str, int]], config.host),
        sentinel_kwargs={**timeouts, **credentials, **tls},
    )
    master = sentinel.master_for(
        config.sentinel_master,
        redis_class=ArqRedis,
        db=config.database,
        **tls,
        # No socket_timeout on the master: XREADGROUP blocks for consumer_block_ms.
        socket_connect_timeout=config.conn_timeout,
        max_connections=config.max_connections,
        username=config.username,
        password=config.password,
    )
    return cast(ArqRedis, master)


@dataclass
class ServiceRuntime:
    """Everything a request handler, a job or a consumer of one service needs."""

    service: str
    settings: Settings
    pool: asyncpg.Pool
    redis: ArqRedis
    tokens: TokenVerifier = field(init=False)
    """Checks callers' tokens (:mod:`shared.tokens`); a bad key configuration stops start-up."""
    directory: Directory = field(init=False)
    """Who callers are and what they may do (:mod:`shared.authority`)."""

    def __post_init__(self) -> None:
        self.tokens = TokenVerifier(self.settings)
        self.directory = Directory(self.pool, self.settings.directory_cache_seconds)

    @property
    def keys(self) -> RedisKeys:
        return RedisKeys(self.settings)

    @property
    def queue_name(self) -> str:
        """This service's arq queue (region-local when ``regional_queues`` is on)."""
        return job_queue_name(self.settings, self.service)

    @classmethod
    async def start(
        cls, service: str, settings: Settings, migrations: Path | Sequence[Path]
    ) -> ServiceRuntime:
        """Create and migrate the service's database, then connect to Redis.

        ``migrations`` are the service's directories (e.g. replicas, then its own), applied
        in order after the shared set; a single directory is accepted too.
        """
        url = settings.service_database_url(service)
        direct_url = settings.service_direct_database_url(service)  # past the pooler
        own = [migrations] if isinstance(migrations, Path) else list(migrations)
        # A server that is not up yet (or restarting) is waited for, not a reason to exit.
        pool = await patiently(
            lambda: prepare_database(
                url,
                [SHARED_MIGRATIONS, *own],
                direct_url=direct_url,
                max_size=settings.database_pool_size,
            ),
            Outage(service, "PostgreSQL"),
            DATABASE_OUTAGES,
        )
        try:
            redis = await patiently(
                lambda: connect_redis(settings), Outage(service, "Redis"), REDIS_OUTAGES
            )
        except BaseException:
            await pool.close()
            raise
        return cls(service=service, settings=settings, pool=pool, redis=redis)

    async def close(self) -> None:
        await self.redis.aclose()
        await self.pool.close()
