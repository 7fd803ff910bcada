"""Configuration read from ``LIAISON_*`` environment variables.

Every variable is listed in docs/operators.md. ``database_url`` and ``redis_url`` left unset mean
"start the embedded servers" (see :mod:`shared.embedded`); the launcher then fills them in
for the processes it starts.
"""

from __future__ import annotations

import ipaddress
import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import NonNegativeInt, PositiveInt, ValidationInfo, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

REPO_ROOT = Path(__file__).resolve().parent.parent

# DEVELOPMENT ONLY: fixed, public secrets so local stacks and tests work out of the box.
# Anything signed or encrypted with them is readable or forgeable by anyone with this source;
# a process that listens beyond loopback refuses to start with them (see
# :func:`refuse_development_secrets`). The gateway (gateway/gateway.config.ts) has the same two.
DEV_JWT_SECRET = "dev-only-jwt-secret-change-me-in-production"
DEV_GATEWAY_SECRET = "dev-gateway-secret"
# A Fernet key: set LIAISON_SECRETS_KEY to a key of your own (``Fernet.generate_key()``).
DEV_SECRETS_KEY = "3p6FqqcbS55yALXsZLsT9nBJd5VN1sh012HXFpPoRGM="

SECRET_FILE_FIELDS = ("jwt_secret", "jwt_public_key", "gateway_secret", "secrets_key")
"""Settings that may also come from a file: ``LIAISON_<NAME>_FILE`` (a mounted Kubernetes or
compose secret), read at start with its trailing newline stripped."""

_DEV_DEFAULTS = {
    "jwt_secret": DEV_JWT_SECRET,
    "gateway_secret": DEV_GATEWAY_SECRET,
    "secrets_key": DEV_SECRETS_KEY,
}
_HOW_TO_MAKE = {
    "jwt_secret": 'python -c "import secrets; print(secrets.token_urlsafe(48))"',
    "gateway_secret": 'python -c "import secrets; print(secrets.token_urlsafe(48))"',
    "secrets_key": (
        'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
    ),
}


class UnsafeConfiguration(SystemExit):
    """The process refuses to start; the message names the variable and what to do. A
    ``SystemExit``, so that any entry point prints the message and exits with status 1."""

    def __init__(self, message: str) -> None:
        super().__init__(f"Liaison refuses to start: {message}")


def _env_var(field: str) -> str:
    return f"LIAISON_{field.upper()}"


def read_secret_file(field: str, environ: dict[str, str] | None = None) -> str | None:
    """The value of ``LIAISON_<FIELD>_FILE``'s file (trailing newline stripped), None when the
    variable is unset or empty. Setting the variable itself as well is refused."""
    environ = dict(os.environ) if environ is None else environ
    var = _env_var(field)
    path = environ.get(f"{var}_FILE", "")
    if not path:
        return None
    if environ.get(var, ""):
        raise UnsafeConfiguration(
            f"both {var} and {var}_FILE are set; set only one of them ({var}_FILE names a file"
            " holding the value, e.g. a mounted Kubernetes or compose secret)"
        )
    try:
        return Path(path).read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as exc:
        raise UnsafeConfiguration(
            f"{var}_FILE={path} cannot be read ({exc.strerror or exc}); mount the secret there"
            f" or unset {var}_FILE"
        ) from exc


class _SecretFiles(PydanticBaseSettingsSource):
    """``LIAISON_<NAME>_FILE`` for the fields of :data:`SECRET_FILE_FIELDS`."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # everything is read in __call__

    def __call__(self) -> dict[str, Any]:
        values = {}
        for field in SECRET_FILE_FIELDS:
            value = read_secret_file(field)
            if value is not None:
                values[field] = value
        return values


class Settings(BaseSettings):
    """All process configuration; one instance per process (see :func:`get_settings`)."""

    model_config = SettingsConfigDict(env_prefix="LIAISON_", extra="ignore")

    database_url: str | None = None
    """PostgreSQL server URL; each service uses its own database ``<database_prefix><service>``."""
    database_direct_url: str | None = None
    """PostgreSQL server URL for what needs a session of its own: migrations (an advisory
    lock) and the relay's LISTEN. Unset, ``database_url``; set it to the server itself when
    ``database_url`` is a transaction-mode pooler (PgBouncer), which hands consecutive
    statements of one client to different server connections."""
    database_pool_size: PositiveInt = 10
    """Most connections of one process's database pool (each subgraph and worker: their
    consumers, requests and jobs share it); the connection budget (docs/operators.md)
    counts them."""
    database_prefix: str = "liaison_"
    redis_url: str | None = None
    redis_prefix: str = "liaison"
    """Prefix of every Redis key (streams, queues, pub/sub), so several stacks share one Redis."""
    redis_sentinels: Annotated[list[tuple[str, int]], NoDecode] = []
    """Redis Sentinels (``host:port,host:port``): when set, every client asks them for the
    master of ``redis_sentinel_master`` and follows a failover; ``redis_url`` then gives only
    the credentials, the database and TLS (``rediss://``), used for the sentinels too."""
    redis_sentinel_master: str = "mymaster"
    """The name the sentinels monitor the master under (``sentinel monitor <name> ...``)."""
    redis_ca_file: Path | None = None
    """CA bundle the Redis servers' (and sentinels') certificates are checked against with
    ``rediss://``; unset, the system's CA store. Either way the host name is checked."""
    redis_wait_replicas: NonNegativeInt = 0
    """The relay counts events as published only once this many replicas hold them (Redis
    ``WAIT``): a failover then loses none. Set 1 with Sentinel; 0 checks nothing."""
    data_dir: Path = REPO_ROOT / ".liaison-data"

    jwt_secret: str = DEV_JWT_SECRET
    """Key of HS* tokens (``LIAISON_JWT_SECRET`` or ``LIAISON_JWT_SECRET_FILE``); empty means
    the development default, which only a loopback or ``LIAISON_DEV`` process accepts."""
    jwt_algorithm: str = "HS256"
    jwt_public_key: str | None = None
    """PEM public key; when set, tokens are verified with RS256 instead of the shared secret."""
    jwt_issuer: str = "liaison-dev"
    """The ``iss`` every token must carry: the identity provider's issuer URL in production
    (also the base of OIDC discovery when ``jwt_jwks_url`` is unset)."""
    jwt_audience: str = "liaison"
    """The ``aud`` every token must name (the client id Liaison is registered under)."""
    jwt_jwks_url: str | None = None
    """The identity provider's JWKS; keys are picked by ``kid`` and cached."""
    jwt_leeway_seconds: float = 30.0
    """Clock skew tolerated on ``exp``, ``nbf`` and ``iat``."""
    jwt_jwks_cache_seconds: float = 300.0
    """How long fetched signing keys are kept; an unknown ``kid`` refetches sooner."""
    directory_cache_seconds: float = 2.0
    """How long a caller's roles and departments, read from the directory, are reused: a
    role change or a person leaving takes effect within this (plus replication) on every
    service."""
    gateway_secret: str = DEV_GATEWAY_SECRET
    secrets_key: str = DEV_SECRETS_KEY
    """Fernet key(s) encrypting stored secrets (webhook and chat-robot signing secrets); several
    comma-separated keys rotate: the first encrypts, all decrypt (see shared/secrets_box.py)."""
    dev: bool = False
    """``LIAISON_DEV=1``: a development machine; the development secrets are accepted even
    when the process listens beyond loopback."""
    max_body_bytes: int = 1_048_576
    """Largest request body a subgraph (and the gateway) reads; a larger one is answered 413
    with ``PAYLOAD_TOO_LARGE`` and nothing runs."""
    require_gateway: bool = True
    """Refuse subgraph calls that lack the gateway's ``x-liaison-gateway-secret`` header."""

    region: str = "hq"
    graphql_max_page: int = 100
    graphql_max_depth: int = 12
    graphql_max_aliases: int = 30
    graphql_max_tokens: int = 4000
    graphql_compiled: bool = True
    """Answer queries whose every field has SQL with one statement per root field
    (shared/graphql/compiled); off, every operation runs through Strawberry."""
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

    relay_poll_seconds: float = 0.05
    """How long an idle relay waits before looking at an outbox again: an event waits up to
    this long before it is published (0.1 s took two thirds of a 150 ms budget)."""
    relay_batch_size: int = 200
    outbox_retention_days: int = 7
    """Published outbox rows older than this are deleted by the relay."""
    event_catalog_url: str = "http://127.0.0.1:4000/asyncapi.json"
    """Public URL of the event catalog the gateway serves; every event's ``dataschema``
    points into it (docs/event-catalog.md)."""
    public_gateway_url: str | None = None
    """The gateway as clients outside reach it (calendar feed links are built on it); unset,
    the scheme, host and port of ``event_catalog_url``."""
    tasks_url: str = "http://127.0.0.1:4002/graphql"
    """The tasks subgraph, as the gateway calls it; the requests service reads calendar items
    from its ``/internal`` routes (the launcher and the manifests set it for every process)."""
    issues_url: str = "http://127.0.0.1:4003/graphql"
    """The issues subgraph, as ``tasks_url`` (calendar items of the issues it owns)."""
    stream_max_length: int = 1_000_000
    consumer_block_ms: int = 1000
    consumer_claim_idle_ms: int = 30_000
    consumer_concurrency: PositiveInt = 8
    """How many events one consumer handles at once (events of one subject keep stream
    order); each holds a database connection while it runs."""
    timer_sweep_seconds: int = 30
    worker_poll_seconds: float = 0.05
    """How often a worker looks for due jobs in its queue: a timer fires up to this late
    (arq's own default, 0.5 s, made SLA timers half a second late). One ZRANGEBYSCORE a poll."""
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
    home_region: str = "hq"
    """The region next to the databases, whose workers fire every timer not bound to a region
    (SLA clocks, reminders, minutes due) wherever it was armed; with regional queues, a worker
    of any other region is an egress worker (its region's deliveries only, deploy/README.md)."""
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
    gateway_metrics_port: int = 0
    """Port of the gateway's Prometheus ``/metrics`` listener, apart from its public port; 0
    means none (the images use 9464)."""
    persisted_documents_dir: Path = REPO_ROOT / "gateway" / "persisted-documents"
    """Where ``./liaison documents register`` writes client builds' persisted-query manifests
    and the gateway reads them (trusted documents, docs/trusted-documents.md)."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources = (init_settings, _SecretFiles(settings_cls), env_settings, dotenv_settings)
        return (*sources, file_secret_settings)

    @field_validator("jwt_secret", "gateway_secret", "secrets_key", mode="before")
    @classmethod
    def _empty_is_default(cls, value: Any, info: ValidationInfo) -> Any:
        """An empty secret means the development default, as on the gateway."""
        if isinstance(value, str) and not value.strip():
            return _DEV_DEFAULTS[str(info.field_name)]
        return value

    @field_validator("redis_sentinels", mode="before")
    @classmethod
    def _sentinel_list(cls, value: Any) -> Any:
        """``LIAISON_REDIS_SENTINELS`` is a comma-separated list, not JSON."""
        return (
            parse_host_ports(value, "LIAISON_REDIS_SENTINELS") if isinstance(value, str) else value
        )

    @field_validator("redis_sentinel_master")
    @classmethod
    def _master_named(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("LIAISON_REDIS_SENTINEL_MASTER is empty: name the monitored master")
        return value.strip()

    @field_validator("jwt_public_key", "jwt_jwks_url", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    def service_database_url(self, service: str) -> str:
        """URL of ``service``'s own database on the configured server."""
        if self.database_url is None:
            raise RuntimeError("LIAISON_DATABASE_URL is not set and no embedded server was started")
        return self._database_of(self.database_url, service)

    def service_direct_database_url(self, service: str) -> str:
        """URL of ``service``'s own database on the server itself, past any pooler
        (``database_direct_url``, else the same as :meth:`service_database_url`)."""
        if self.database_direct_url is None:
            return self.service_database_url(service)
        return self._database_of(self.database_direct_url, service)

    def _database_of(self, server_url: str, service: str) -> str:
        parts = urlsplit(server_url)
        return urlunsplit(parts._replace(path=f"/{self.database_prefix}{service}"))

    def service_port(self, service: str) -> int:
        """HTTP port of a service's subgraph."""
        port: int = getattr(self, f"{service}_port")
        return port


def parse_host_ports(value: str, variable: str) -> list[tuple[str, int]]:
    """``host:port,host:port`` (an IPv6 host in brackets) as pairs; a bad item names
    ``variable`` and what is expected."""
    pairs = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        host, colon, port = item.rpartition(":")
        host = host.strip("[]")
        if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(
                f"{variable}: {item!r} is not host:port; expected e.g."
                " redis-sentinel-0:26379,redis-sentinel-1:26379"
            )
        pairs.append((host, int(port)))
    return pairs


def is_loopback(host: str) -> bool:
    """``host`` is reachable from this machine only (127.0.0.0/8, ::1, localhost)."""
    host = host.strip().strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def development_secrets(settings: Settings) -> list[str]:
    """The settings of ``settings`` still at their public development default (or empty):
    the JWT secret only while tokens are HS* with it (no public key, no JWKS), the
    secrets key by its first key, the one that encrypts (older ones may stay to decrypt
    while a rotation away from the development key runs)."""
    found = []
    identity_provider = settings.jwt_public_key or settings.jwt_jwks_url
    hs_tokens = not identity_provider and settings.jwt_algorithm.startswith("HS")
    if hs_tokens and settings.jwt_secret == DEV_JWT_SECRET:
        found.append("jwt_secret")
    if settings.gateway_secret == DEV_GATEWAY_SECRET:
        found.append("gateway_secret")
    if settings.secrets_key.split(",")[0].strip() in ("", DEV_SECRETS_KEY):
        found.append("secrets_key")
    return found


def refuse_development_secrets(settings: Settings, host: str, where: str) -> None:
    """Stop the process (:class:`UnsafeConfiguration`) when it listens on ``host`` beyond
    loopback with a development secret, unless ``LIAISON_DEV`` is set. ``where`` names the
    setting ``host`` came from.

    Every Python process binds what it serves to ``LIAISON_HOST``: a subgraph's port (unless
    ``--host`` overrides it, which is checked too) and the metrics and probe listener of
    ``LIAISON_METRICS_PORT``. Workers and the relay serve nothing but that listener, yet they
    hold the same secrets (the notify worker decrypts with ``LIAISON_SECRETS_KEY``), so they
    follow the same rule by ``LIAISON_HOST``, with or without a metrics port: a deployment
    sets one host for all its processes, and they all start or all refuse alike."""
    if settings.dev or is_loopback(host):
        return
    found = development_secrets(settings)
    if not found:
        return
    lines = [
        f"  {_env_var(field)}: set it (or {_env_var(field)}_FILE, a file holding it) to a value"
        f" of your own, e.g. from: {_HOW_TO_MAKE[field]}"
        for field in found
    ]
    raise UnsafeConfiguration(
        f"{', '.join(_env_var(f) for f in found)}"
        f" {'is' if len(found) == 1 else 'are'} empty or still the public development default,"
        f" and this process listens on {host}"
        f" ({where}), beyond loopback.\n"
        + "\n".join(lines)
        + "\n  The gateway and every Python process need the same JWT and gateway secrets."
        " On a development machine, listen on 127.0.0.1 or set LIAISON_DEV=1."
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once. A process that listens beyond loopback with a
    development secret stops here (see :func:`refuse_development_secrets`)."""
    settings = Settings()
    refuse_development_secrets(settings, settings.host, "LIAISON_HOST")
    return settings
