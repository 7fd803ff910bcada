"""The connections one service process holds: its database pool and its Redis/arq client."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
from arq.connections import ArqRedis, RedisSettings, create_pool

from shared.authority import Directory
from shared.db import SHARED_MIGRATIONS, prepare_database
from shared.redis_keys import RedisKeys
from shared.resilience import DATABASE_OUTAGES, REDIS_OUTAGES, Outage, patiently
from shared.settings import Settings
from shared.tokens import TokenVerifier

log = logging.getLogger(__name__)


def redis_settings(settings: Settings) -> RedisSettings:
    """arq connection settings for the configured Redis."""
    if settings.redis_url is None:
        raise RuntimeError("LIAISON_REDIS_URL is not set and no embedded server was started")
    return RedisSettings.from_dsn(settings.redis_url)


def job_queue_name(settings: Settings, service: str, region: str | None = None) -> str:
    """``service``'s arq queue: region-local when ``LIAISON_REGIONAL_QUEUES`` is on, so only
    the workers of that region (``region``, else ``LIAISON_REGION``) take its jobs."""
    if not settings.regional_queues:
        return RedisKeys(settings).job_queue(service)
    return RedisKeys(settings).job_queue(service, region or settings.region)


async def connect_redis(settings: Settings) -> ArqRedis:
    """One client serves plain Redis calls (streams, pub/sub) and arq enqueues."""
    return await create_pool(redis_settings(settings))


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
        own = [migrations] if isinstance(migrations, Path) else list(migrations)
        # A server that is not up yet (or restarting) is waited for, not a reason to exit.
        pool = await patiently(
            lambda: prepare_database(url, [SHARED_MIGRATIONS, *own]),
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
