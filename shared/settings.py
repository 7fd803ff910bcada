"""Configuration read from ``LIAISON_*`` environment variables.

Every variable is listed in README.md. ``database_url`` and ``redis_url`` left unset mean
"start the embedded servers" (see :mod:`shared.embedded`); the launcher then fills them in
for the processes it starts.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent

# DEVELOPMENT ONLY: a fixed, public Fernet key so local stacks and tests work out of the box.
# Anything encrypted with it is readable by anyone with this source; set LIAISON_SECRETS_KEY
# to a key of your own (``Fernet.generate_key()``) everywhere else.
DEV_SECRETS_KEY = "3p6FqqcbS55yALXsZLsT9nBJd5VN1sh012HXFpPoRGM="


class Settings(BaseSettings):
    """All process configuration; one instance per process (see :func:`get_settings`)."""

    model_config = SettingsConfigDict(env_prefix="LIAISON_", extra="ignore")

    database_url: str | None = None
    """PostgreSQL server URL; each service uses its own database ``<database_prefix><service>``."""
    database_prefix: str = "liaison_"
    redis_url: str | None = None
    redis_prefix: str = "liaison"
    """Prefix of every Redis key (streams, queues, pub/sub), so several stacks share one Redis."""
    data_dir: Path = REPO_ROOT / ".liaison-data"

    jwt_secret: str = "dev-only-jwt-secret-change-me-in-production"
    jwt_algorithm: str = "HS256"
    jwt_public_key: str | None = None
    """PEM public key; when set, tokens are verified with RS256 instead of the shared secret."""
    gateway_secret: str = "dev-gateway-secret"
    secrets_key: str = DEV_SECRETS_KEY
    """Fernet key(s) encrypting stored secrets (webhook and chat-robot signing secrets); several
    comma-separated keys rotate: the first encrypts, all decrypt (see shared/secrets_box.py)."""
    require_gateway: bool = True
    """Refuse subgraph calls that lack the gateway's ``x-liaison-gateway-secret`` header."""

    region: str = "hq"
    graphql_max_page: int = 100
    graphql_max_depth: int = 12
    graphql_max_aliases: int = 30
    graphql_max_tokens: int = 4000
    graphiql: bool = False
    """Turns on GraphiQL and introspection on the subgraphs (off in production)."""

    tasks_reminder_offsets_minutes: list[int] = [1440, 120]
    """Default task reminders: working minutes before due, in the R's region calendar."""
    tasks_overdue_digest_hour: int = 9
    """Local hour (the A's time zone) of the daily digest of overdue tasks."""
    tasks_report_reminder_minutes: int = 240
    """How long before a progress report deadline the reminder goes out."""
    tasks_recurring_horizon_days: int = 45
    """Recurring operations get their instances this many days ahead."""

    relay_poll_seconds: float = 0.1
    relay_batch_size: int = 200
    outbox_retention_days: int = 7
    """Published outbox rows older than this are deleted by the relay."""
    stream_max_length: int = 1_000_000
    consumer_block_ms: int = 1000
    consumer_claim_idle_ms: int = 30_000
    timer_sweep_seconds: int = 30
    housekeeping_seconds: float = 3600
    """How often a worker runs its service's housekeeping (pruning old rows)."""

    issues_sla_response_minutes: int = 120
    """Time the lead department has to acknowledge an issue (handbook: 2 hours)."""
    issues_sla_plan_minutes: int = 1440
    """Time to propose a plan for an issue (handbook: 24 hours)."""
    issues_sla_urgent_plan_minutes: int = 120
    """Time to propose a plan for an urgent ("green channel") issue (handbook: 2 hours)."""
    issues_sla_business_hours: bool = True
    """Count issue SLA clocks in the responsible region's working hours (else 24x7)."""
    issues_sla_urgent_business_hours: bool = False
    """Count urgent issues' clocks in working hours too (default: 24x7)."""
    issues_sla_warn_percents: list[int] = [50, 75]
    """Percentages of an SLA target at which a warning is emitted (the breach is at 100)."""
    issues_escalation_step_minutes: list[int] = [120, 240]
    """Clock minutes from escalation level 1 to 2 and from 2 to 3 (PMO) while still late."""

    regional_queues: bool = False
    """Queue timer and delivery jobs on ``<prefix>:queue:<service>:<region>``, so only this
    region's workers take them (deployments set it; one queue per service when off)."""
    shutdown_grace_seconds: float = 20.0
    """On SIGTERM: how long a subgraph finishes requests and a worker finishes jobs."""

    metrics_port: int = 0
    """Port of a Prometheus ``/metrics`` (and ``/healthz``) listener; 0 means none. Subgraphs
    also serve ``/metrics`` on their own port."""
    log_format: str = "json"
    """``json`` (one object a line: time, level, service, region, request_id, trace_id) or
    ``text``."""
    log_level: str = "INFO"
    traces_exporter: str = "none"
    """OpenTelemetry span exporter: ``none`` (off), ``otlp`` (HTTP; endpoint from the standard
    ``OTEL_EXPORTER_OTLP_*`` variables) or ``console``."""

    notify_retry_schedule: list[float] = [5, 300, 1800, 7200, 18000, 36000, 36000]
    """Seconds before each retry of a failed delivery (webhooks, chat robots, e-mail)."""
    notify_webhook_timeout_seconds: float = 15.0
    notify_webhook_disable_after_seconds: float = 5 * 24 * 3600
    """An endpoint whose deliveries have failed for this long is disabled."""
    notify_secret_overlap_seconds: float = 24 * 3600
    """After a rotation, the old webhook secret keeps signing for this long."""
    notify_allow_private_urls: bool = False
    """Allow webhook and chat URLs on private or loopback addresses (tests, development)."""
    notify_delivery_lease_seconds: float = 75.0
    """A delivery claimed longer than this is taken to have lost its worker."""
    notify_digest_hour: int = 9
    """Local hour (in each person's time zone) at which the daily digest goes out."""
    notify_web_base_url: str = "http://127.0.0.1:4000"
    """Links in e-mails and chat messages point here."""
    notify_retention_days: int = 90
    """The partner event log (the replay window) and settled deliveries are kept this long."""
    smtp_host: str | None = None
    """SMTP server for e-mail; unset means no e-mail is sent (in-app and chat only)."""
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_start_tls: bool = False
    smtp_sender: str = "Liaison <liaison@localhost>"

    requests_minutes_due_hours: float = 24.0
    """Minutes of a meeting are due this many hours after it ends (the handbook's 24 h)."""
    requests_secondment_reminder_days: int = 14
    """An event goes out this many days before a secondment ends."""
    requests_slot_step_minutes: int = 30
    """Meeting slot suggestions start on multiples of this many minutes (UTC)."""
    requests_slot_max_days: int = 31
    """The longest range ``suggestMeetingSlots`` searches."""

    host: str = "127.0.0.1"
    requests_port: int = 4001
    tasks_port: int = 4002
    issues_port: int = 4003
    notify_port: int = 4004
    gateway_port: int = 4000

    def service_database_url(self, service: str) -> str:
        """URL of ``service``'s own database on the configured server."""
        if self.database_url is None:
            raise RuntimeError("LIAISON_DATABASE_URL is not set and no embedded server was started")
        parts = urlsplit(self.database_url)
        return urlunsplit(parts._replace(path=f"/{self.database_prefix}{service}"))

    def service_port(self, service: str) -> int:
        """HTTP port of a service's subgraph."""
        port: int = getattr(self, f"{service}_port")
        return port


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
