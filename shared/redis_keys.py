"""Every Redis key Liaison uses, built in one place so prefixes never drift apart."""

from __future__ import annotations

from shared.settings import Settings


class RedisKeys:
    """Key names under the configured prefix (``LIAISON_REDIS_PREFIX``)."""

    def __init__(self, settings: Settings) -> None:
        self.prefix = settings.redis_prefix

    @property
    def event_stream(self) -> str:
        """The event bus: one stream every service's relay appends to."""
        return f"{self.prefix}:events"

    def stream_marker(self, service: str) -> str:
        """Set by ``service``'s relay once it has published: a Redis that comes back without
        it has lost its data, and the relay publishes the kept outbox rows again."""
        return f"{self.prefix}:relay:{service}:published"

    def consumer_group(self, service: str) -> str:
        """One consumer group per consuming service, so each service sees every event."""
        return f"{self.prefix}:{service}"

    def job_queue(self, service: str, region: str | None = None) -> str:
        """arq queue of a service, optionally region-local."""
        suffix = f":{region}" if region else ""
        return f"{self.prefix}:queue:{service}{suffix}"

    def notifications_channel(self, person_id: str) -> str:
        """Pub/sub channel that wakes a person's ``notifications`` subscriptions."""
        return f"{self.prefix}:notifications:{person_id}"

    @property
    def partner_events_channel(self) -> str:
        """Pub/sub channel that wakes ``events`` subscriptions when notify logs new events."""
        return f"{self.prefix}:partner-events"

    def rate_limit_bucket(self, bucket: str, subject: str) -> str:
        """A caller's token bucket at the gateway, built alike in ``gateway/rate-limit.ts``:
        ``bucket`` is ``operations``, or ``events`` for operations on the partners' event feed
        alone; ``subject`` the token's ``sub``. A hash that expires once the bucket is full
        again, so idle callers leave nothing behind (Redis runs with ``noeviction``)."""
        return f"{self.prefix}:ratelimit:{bucket}:{subject}"
