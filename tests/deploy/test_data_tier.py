"""The data tier as rendered (every overlay) and as the code uses it.

* Pod Security ``restricted`` for every pod a rendered object makes: Deployments and Jobs, and
  the pods the operators make from a ``Cluster``, ``Pooler`` or Redis resource (their
  security contexts as the operator merges them with its defaults).
* PostgreSQL recoverable: WAL archiving and backups to object storage, a nightly backup,
  synchronous replication, and ``deploy/scripts/pitr-restore.sh`` rendering a recovery
  ``Cluster`` that the vendored CRD schema accepts.
* The connection budget of docs/operators.md, computed from the HPAs, the pool sizes and the
  Pooler, fits PgBouncer and ``max_connections``.
* Migrations and the relay's LISTEN go to ``LIAISON_DATABASE_DIRECT_URL``, never through the
  pooled URL (a recording proxy stands in for PgBouncer), and ``plan_with_values`` leaves no
  session state behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
import yaml
from redis.asyncio import Redis

from services import SERVICE_NAMES
from shared.db import create_pool, plan_with_values
from shared.events.relay import RELAY_POOL_SIZE, run_relays
from shared.ids import new_id
from shared.redis_keys import RedisKeys
from shared.runtime import ServiceRuntime
from shared.settings import REPO_ROOT, Settings
from tests.deploy import crds
from tests.deploy.test_manifests import Manifest, _of_kind
from tests.deploy.test_manifests import rendered as rendered  # the overlays, as a fixture
from tests.shared.test_outbox_relay_consumer import eventually
from tests.support import drop_test_state

PITR_SCRIPT = REPO_ROOT / "deploy" / "scripts" / "pitr-restore.sh"
OPERATORS_GUIDE = REPO_ROOT / "docs" / "operators.md"
BARMAN_PLUGIN = "barman-cloud.cloudnative-pg.io"

# -- Pod Security "restricted" ----------------------------------------------------------------


@dataclass(frozen=True)
class Pod:
    """What Pod Security judges of one pod: its security context and its containers'."""

    where: str
    security: dict[str, Any]
    containers: dict[str, dict[str, Any]]


def _pod_of_spec(where: str, spec: dict[str, Any]) -> Pod:
    everything = [
        *spec.get("initContainers", []),
        *spec["containers"],
        *spec.get("ephemeralContainers", []),
    ]
    return Pod(
        where,
        spec.get("securityContext", {}),
        {c["name"]: c.get("securityContext", {}) for c in everything},
    )


# CloudNativePG 1.30 fills what a Cluster leaves out (pkg/specs/pods.go GetPodSecurityContext,
# pkg/specs/containers.go GetSecurityContext) and forces its own on the pooler's pgbouncer and
# bootstrap containers (pkg/specs/pgbouncer/deployments.go).
_BARMAN_SIDECAR = {  # fixed by the plugin 0.14 (internal/cnpgi/operator/lifecycle.go)
    "allowPrivilegeEscalation": False,
    "runAsNonRoot": True,
    "privileged": False,
    "readOnlyRootFilesystem": True,
    "seccompProfile": {"type": "RuntimeDefault"},
    "capabilities": {"drop": ["ALL"]},
}


def _cnpg_container_context(cluster_spec: dict[str, Any]) -> dict[str, Any]:
    seccomp = cluster_spec.get("seccompProfile", {"type": "RuntimeDefault"})
    defaults: dict[str, Any] = {
        "seccompProfile": seccomp,
        "capabilities": {"drop": ["ALL"]},
        "privileged": False,
        "runAsNonRoot": True,
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
    }
    given: dict[str, Any] = cluster_spec.get("securityContext", {})
    return defaults | given


def _cnpg_cluster_pods(where: str, spec: dict[str, Any]) -> list[Pod]:
    seccomp = spec.get("seccompProfile", {"type": "RuntimeDefault"})
    given = spec.get("podSecurityContext")
    # the operator's default pod context says runAsNonRoot; one given in the spec keeps its own
    pod = {"runAsNonRoot": True} if given is None else dict(given)
    pod.setdefault("seccompProfile", seccomp)
    container = _cnpg_container_context(spec)
    containers = {"postgres": container, "bootstrap-controller": container}
    if any(plugin["name"] == BARMAN_PLUGIN for plugin in spec.get("plugins", [])):
        containers["plugin-barman-cloud"] = _BARMAN_SIDECAR
    return [Pod(where, pod, containers)]


def _cnpg_pooler_pods(where: str, spec: dict[str, Any], cluster: dict[str, Any]) -> list[Pod]:
    forced = _cnpg_container_context(cluster)
    template = spec.get("template", {}).get("spec", {"containers": []})
    own = _pod_of_spec(where, template).containers if template["containers"] else {}
    pod = {
        "runAsNonRoot": True,
        "seccompProfile": cluster.get("seccompProfile", {"type": "RuntimeDefault"}),
    }
    return [Pod(where, pod, own | {"pgbouncer": forced, "bootstrap-controller": forced})]


def _opstree_pods(where: str, spec: dict[str, Any]) -> list[Pod]:
    """OpsTree redis-operator 0.26: the spec's contexts go to the pod and the Redis container
    unchanged; the exporter, an init container and sidecars bring their own."""
    containers = {"redis": spec.get("securityContext", {})}
    for part in ("redisExporter", "initContainer"):
        if spec.get(part, {}).get("enabled"):
            containers[part] = spec[part].get("securityContext", {})
    for sidecar in spec.get("sidecars", []):
        containers[sidecar["name"]] = sidecar.get("securityContext", {})
    pods = [Pod(where, spec.get("podSecurityContext", {}), containers)]
    if "sentinel" in spec:  # RedisReplication's own sentinels
        sentinel = spec["sentinel"]
        pods.append(
            Pod(
                f"{where} sentinel",
                sentinel.get("podSecurityContext", {}),
                {"sentinel": sentinel.get("securityContext", {})},
            )
        )
    return pods


_WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}
_OPSTREE = {"Redis", "RedisReplication", "RedisSentinel"}


def _pods(objects: list[Manifest]) -> Iterator[Pod]:
    clusters = {c["metadata"]["name"]: c["spec"] for c in _of_kind(objects, "Cluster").values()}
    for obj in objects:
        kind, spec = obj["kind"], obj.get("spec", {})
        where = f"{kind}/{obj['metadata']['name']}"
        if kind in _WORKLOADS:
            yield _pod_of_spec(where, spec["template"]["spec"])
        elif kind == "CronJob":
            yield _pod_of_spec(where, spec["jobTemplate"]["spec"]["template"]["spec"])
        elif kind == "Cluster" and obj["apiVersion"].startswith("postgresql.cnpg.io/"):
            yield from _cnpg_cluster_pods(where, spec)
        elif kind == "Pooler":
            yield from _cnpg_pooler_pods(where, spec, clusters[spec["cluster"]["name"]])
        elif kind in _OPSTREE:
            yield from _opstree_pods(where, spec)


def restricted_violations(pod: Pod) -> list[str]:
    """What the ``restricted`` Pod Security level refuses in ``pod`` (its four rules on
    privilege: non-root, seccomp, no privilege escalation, capabilities dropped)."""
    found = []
    pod_non_root = pod.security.get("runAsNonRoot") is True
    pod_seccomp = pod.security.get("seccompProfile", {}).get("type")
    for name, context in pod.containers.items():
        if context.get("runAsNonRoot", pod_non_root) is not True:
            found.append(f"{pod.where} {name}: runAsNonRoot is not true")
        if context.get("seccompProfile", {}).get("type", pod_seccomp) not in (
            "RuntimeDefault",
            "Localhost",
        ):
            found.append(f"{pod.where} {name}: no RuntimeDefault seccomp profile")
        if context.get("allowPrivilegeEscalation") is not False:
            found.append(f"{pod.where} {name}: allowPrivilegeEscalation is not false")
        capabilities = context.get("capabilities", {})
        if "ALL" not in capabilities.get("drop", []):
            found.append(f"{pod.where} {name}: capabilities do not drop ALL")
        if set(capabilities.get("add", [])) - {"NET_BIND_SERVICE"}:
            found.append(f"{pod.where} {name}: adds capabilities")
        if context.get("privileged"):
            found.append(f"{pod.where} {name}: privileged")
    return found


def test_every_pod_meets_pod_security_restricted(rendered: dict[str, list[Manifest]]) -> None:
    kinds: set[str] = set()
    refused: list[str] = []
    for region, objects in rendered.items():
        for pod in _pods(objects):
            kinds.add(pod.where.split("/")[0])
            refused += [f"{region} {line}" for line in restricted_violations(pod)]
    assert not refused, "\n".join(refused)
    assert {"Deployment", "Cluster", "Pooler"} <= kinds
    assert kinds & _OPSTREE, "the Redis pods are judged too"


def test_the_restricted_check_refuses_what_the_level_refuses() -> None:
    bare = Pod("Deployment/x", {}, {"app": {}})
    assert len(restricted_violations(bare)) == 4
    redis_as_issue_17_found_it = _opstree_pods(
        "Redis/r", {"securityContext": {"runAsUser": 1000}, "podSecurityContext": {"fsGroup": 1000}}
    )
    assert restricted_violations(redis_as_issue_17_found_it[0])
    # what CloudNativePG fills in by itself passes
    assert not restricted_violations(_cnpg_cluster_pods("Cluster/c", {})[0])


def test_the_crd_schemas_refuse_unknown_fields_and_wrong_types() -> None:
    cluster = {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Cluster",
        "metadata": {"name": "c"},
        "spec": {"instances": 3, "storage": {"size": "1Gi"}},
    }
    assert crds.crd_errors(cluster) == []
    assert crds.crd_errors(cluster | {"spec": {"instances": 3, "storge": {}}})
    assert crds.crd_errors(cluster | {"spec": {"instances": "three"}})
    redis = {
        "apiVersion": "redis.redis.opstreelabs.in/v1beta2",
        "kind": "Redis",
        "metadata": {"name": "r"},
        "spec": {"kubernetesConfig": {"image": "redis"}, "securityContext": {"fsGroup": 1000}},
    }
    assert any("fsGroup" in error for error in crds.crd_errors(redis))
    parameters = {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Pooler",
        "metadata": {"name": "p"},
    }
    free_map = parameters | {
        "spec": {"cluster": {"name": "c"}, "pgbouncer": {"parameters": {"any_name": "1"}}}
    }
    assert crds.crd_errors(free_map) == [], "maps (additionalProperties) stay open"


# -- backups, restore, replication ---------------------------------------------------------


def _hq_postgres(rendered: dict[str, list[Manifest]]) -> tuple[Manifest, Manifest]:
    hq = rendered["hq"]
    return _of_kind(hq, "Cluster")["liaison-pg"], _of_kind(hq, "ObjectStore")["liaison-pg-backups"]


def test_postgres_archives_wal_backs_up_nightly_and_commits_synchronously(
    rendered: dict[str, list[Manifest]],
) -> None:
    cluster, store = _hq_postgres(rendered)
    spec = cluster["spec"]
    [plugin] = spec["plugins"]
    assert plugin == {
        "name": BARMAN_PLUGIN,
        "isWALArchiver": True,
        "parameters": {"barmanObjectName": store["metadata"]["name"]},
    }
    assert "backup" not in spec, "the deprecated in-tree barmanObjectStore is not used"
    configuration = store["spec"]["configuration"]
    assert configuration["destinationPath"].startswith("s3://")
    for key in ("accessKeyId", "secretAccessKey"):  # from a Secret, never inline
        assert set(configuration["s3Credentials"][key]) == {"name", "key"}
    assert re.fullmatch(r"\d+d", store["spec"]["retentionPolicy"])
    [nightly] = _of_kind(rendered["hq"], "ScheduledBackup").values()
    assert nightly["spec"]["cluster"]["name"] == cluster["metadata"]["name"]
    assert nightly["spec"]["method"] == "plugin"
    assert nightly["spec"]["pluginConfiguration"]["name"] == BARMAN_PLUGIN
    assert len(nightly["spec"]["schedule"].split()) == 6, "CNPG's cron has a seconds field"
    synchronous = spec["postgresql"]["synchronous"]
    assert synchronous["method"] == "any"
    assert 1 <= synchronous["number"] < spec["instances"]
    assert synchronous["dataDurability"] == "required"
    for region, objects in rendered.items():  # the data, its backups and pooler: hq only
        kinds = {o["kind"] for o in objects}
        assert ({"ObjectStore", "ScheduledBackup", "Pooler"} <= kinds) == (region == "hq")


def _pitr(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PITR_SCRIPT), *args], capture_output=True, text=True, timeout=30, check=False
    )


def test_pitr_restore_renders_a_recovery_cluster_the_operator_accepts(
    rendered: dict[str, list[Manifest]],
) -> None:
    source, store = _hq_postgres(rendered)
    result = _pitr(
        "--print", "--target-time", "2026-07-01T09:30:00+02:00", "--name", "liaison-pg-r1"
    )
    assert result.returncode == 0, result.stderr
    [restored] = [d for d in yaml.safe_load_all(result.stdout) if d]
    assert crds.crd_errors(restored) == []
    assert restored["metadata"] == restored["metadata"] | {
        "name": "liaison-pg-r1",
        "namespace": "liaison-hq",
    }
    spec = restored["spec"]
    recovery = spec["bootstrap"]["recovery"]
    assert recovery["recoveryTarget"] == {"targetTime": "2026-07-01T09:30:00+02:00"}
    [origin] = [c for c in spec["externalClusters"] if c["name"] == recovery["source"]]
    assert origin["plugin"] == {
        "name": BARMAN_PLUGIN,
        "parameters": {
            "barmanObjectName": store["metadata"]["name"],
            "serverName": source["metadata"]["name"],
        },
    }
    # archives its own WAL (under its own name), and is sized and tuned like the source
    assert spec["plugins"] == source["spec"]["plugins"]
    for field in ("instances", "imageName", "postgresql", "storage", "walStorage", "resources"):
        assert spec[field] == source["spec"][field], field


@pytest.mark.parametrize(
    "args",
    [
        [],  # no target
        ["--target-time", "2026-07-01 09:30:00"],  # no UTC offset: the server's zone would apply
        ["--target-time", "yesterday"],
        ["--target-time", "2026-07-01T09:30:00Z", "--name", "Not_A_Label"],
        ["--target-time", "2026-07-01T09:30:00Z", "--bogus"],
    ],
)
def test_pitr_restore_refuses_what_it_cannot_restore_to(args: list[str]) -> None:
    result = _pitr("--print", *args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("pitr-restore: ")


# -- the connection budget -------------------------------------------------------------------

SUPERUSER_RESERVED = 3
"""PostgreSQL's superuser_reserved_connections default (the Cluster does not change it)."""
OPERATOR_RESERVE = 10
"""The CNPG instance manager's and the exporter's own connections, with room to spare."""
RELAY_PROBE = 1
"""A relay's readiness check connects once per service database."""


@dataclass(frozen=True)
class Budget:
    """The connection budget of the rendered overlays."""

    processes: dict[str, tuple[int, int]]
    """Per service: subgraph and worker processes at the HPA maximums, every region."""
    clients: dict[str, int]
    """Per service: client connections to the pooler at those maximums."""
    server_per_database: int
    starting_at_once: int
    """Direct connections while every migrating process starts together (a cold start)."""
    listen: int


def _max_processes(objects: list[Manifest], name: str) -> int:
    hpas = {
        h["spec"]["scaleTargetRef"]["name"]: h
        for h in _of_kind(objects, "HorizontalPodAutoscaler").values()
    }
    deployment = _of_kind(objects, "Deployment").get(name)
    if deployment is None:
        return 0
    return int(
        hpas[name]["spec"]["maxReplicas"] if name in hpas else deployment["spec"]["replicas"]
    )


def _pool_size(objects: list[Manifest]) -> int:
    config = next(c for n, c in _of_kind(objects, "ConfigMap").items() if "liaison-config" in n)
    return int(config["data"]["LIAISON_DATABASE_POOL_SIZE"])


def budget_of(rendered: dict[str, list[Manifest]], pooler: Manifest) -> Budget:
    """The budget's terms, counted from every overlay."""
    processes = {
        service: (
            sum(_max_processes(o, f"liaison-{service}") for o in rendered.values()),
            sum(_max_processes(o, f"liaison-{service}-worker") for o in rendered.values()),
        )
        for service in SERVICE_NAMES
    }
    relays = sum(_max_processes(o, "liaison-relay") for o in rendered.values())
    [pool] = {_pool_size(o) for o in rendered.values()}  # one pool size everywhere
    clients = {
        service: (sub + worker) * pool + relays * (RELAY_POOL_SIZE + RELAY_PROBE)
        for service, (sub, worker) in processes.items()
    }
    starting = sum(
        int(d["spec"]["replicas"])
        for objects in rendered.values()
        for name, d in _of_kind(objects, "Deployment").items()
        if name != "liaison-gateway" and name != "liaison-relay"
    )
    parameters = pooler["spec"]["pgbouncer"]["parameters"]
    per_database = int(pooler["spec"]["instances"]) * int(parameters["max_db_connections"])
    return Budget(processes, clients, per_database, starting, relays * len(SERVICE_NAMES))


def _pooler_and_limits(rendered: dict[str, list[Manifest]]) -> tuple[Manifest, int]:
    cluster, _ = _hq_postgres(rendered)
    pooler = _of_kind(rendered["hq"], "Pooler")["liaison-pg-pooler-rw"]
    assert pooler["spec"]["cluster"]["name"] == cluster["metadata"]["name"]
    return pooler, int(cluster["spec"]["postgresql"]["parameters"]["max_connections"])


def test_the_connection_budget_fits_pgbouncer_and_max_connections(
    rendered: dict[str, list[Manifest]],
) -> None:
    pooler, max_connections = _pooler_and_limits(rendered)
    pgbouncer = pooler["spec"]["pgbouncer"]
    parameters = {k: int(v) for k, v in pgbouncer["parameters"].items()}
    budget = budget_of(rendered, pooler)
    # one PgBouncer instance alone (the others down) still takes every client
    assert sum(budget.clients.values()) <= parameters["max_client_conn"]
    # a database's connections per instance: its pool and the reserve, capped
    assert (
        parameters["default_pool_size"] + parameters["reserve_pool_size"]
        <= (parameters["max_db_connections"])
    )
    # a process gets its whole pool from one PgBouncer instance
    assert _pool_size(rendered["hq"]) <= parameters["default_pool_size"]
    auth_queries = int(pooler["spec"]["instances"])  # one auth_query connection per instance
    server = (
        SUPERUSER_RESERVED
        + OPERATOR_RESERVE
        + budget.server_per_database * len(SERVICE_NAMES)
        + auth_queries
        + budget.starting_at_once
        + budget.listen
    )
    assert server <= max_connections, server
    # transaction mode, with asyncpg's prepared statements carried across server connections
    assert pgbouncer["poolMode"] == "transaction"
    assert parameters["max_prepared_statements"] > 0


def test_the_guide_writes_the_budget_the_manifests_make(
    rendered: dict[str, list[Manifest]],
) -> None:
    pooler, max_connections = _pooler_and_limits(rendered)
    budget = budget_of(rendered, pooler)
    guide = OPERATORS_GUIDE.read_text(encoding="utf-8")
    for service, (sub, worker) in budget.processes.items():
        row = f"| {service} | {sub} + {worker} = {sub + worker} | {budget.clients[service]:,} |"
        assert f"{row} {budget.server_per_database} |" in guide, row
    total = sum(budget.clients.values())
    assert f"{total:,} client connections" in guide
    assert f"{budget.starting_at_once} processes starting at once" in guide
    assert f"max_connections {max_connections}" in guide


# -- the pooled URL and the direct one ---------------------------------------------------------


def test_processes_pool_through_pgbouncer_and_migrate_direct(
    rendered: dict[str, list[Manifest]],
) -> None:
    for region, objects in rendered.items():
        for name, deployment in _of_kind(objects, "Deployment").items():
            if name == "liaison-gateway":
                continue
            container = deployment["spec"]["template"]["spec"]["containers"][0]
            secrets = {
                var["name"]: var["valueFrom"]["secretKeyRef"]
                for var in container["env"]
                if "secretKeyRef" in var.get("valueFrom", {})
            }
            assert secrets["LIAISON_DATABASE_URL"]["key"] == "database-url", (region, name)
            assert secrets["LIAISON_DATABASE_DIRECT_URL"] == {  # required: no silent fallback
                "name": "liaison-secrets",
                "key": "database-direct-url",
            }, (region, name)
            if name != "liaison-relay":  # those that migrate may take their time starting
                assert (
                    container["startupProbe"]["failureThreshold"]
                    * container["startupProbe"]["periodSeconds"]
                    >= 300
                ), name
    readme = (REPO_ROOT / "deploy" / "README.md").read_text(encoding="utf-8")
    assert re.search(r"database-url=.*@liaison-pg-pooler-rw\.liaison-hq\.svc:5432/", readme)
    assert re.search(r"database-direct-url=.*@liaison-pg-rw\.liaison-hq\.svc:5432/", readme)


class RecordingProxy:
    """A TCP proxy in front of PostgreSQL standing in for the pooler: it forwards both ways and
    keeps every byte the clients sent, to show which statements took the pooled URL."""

    def __init__(self, target: str) -> None:
        parts = urlsplit(target)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 5432
        self.sent = bytearray()
        self._server: asyncio.Server | None = None

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[int]:
        """Listen on a free loopback port (yielded) until the block ends."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        try:
            yield self._server.sockets[0].getsockname()[1]
        finally:
            self._server.close()

    async def _serve(self, client: asyncio.StreamReader, to_client: asyncio.StreamWriter) -> None:
        server, to_server = await asyncio.open_connection(self.host, self.port)
        await asyncio.gather(
            self._pipe(client, to_server, record=True),
            self._pipe(server, to_client, record=False),
            return_exceptions=True,
        )

    async def _pipe(
        self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, *, record: bool
    ) -> None:
        try:
            while chunk := await source.read(65536):
                if record:
                    self.sent += chunk
                sink.write(chunk)
                await sink.drain()
        finally:
            sink.close()


def _through(proxy_port: int, url: str) -> str:
    """``url`` on the proxy's port, in plain text (so the proxy can read it)."""
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{proxy_port}"
    return urlunsplit(
        parts._replace(
            netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host, query="sslmode=disable"
        )
    )


SERVICE = "h6direct"


@pytest.fixture
async def pooled_and_direct(settings: Settings) -> AsyncIterator[tuple[Settings, RecordingProxy]]:
    """Settings whose pooled URL goes through a recording proxy, the direct one straight to
    the server, on a fresh database."""
    assert settings.database_url
    proxy = RecordingProxy(settings.database_url)
    async with proxy.running() as port:
        split = settings.model_copy(
            update={
                "database_url": _through(port, settings.database_url),
                "database_direct_url": settings.database_url,
                "redis_prefix": "liaisonh6direct",
                "relay_poll_seconds": 3600.0,  # only a NOTIFY can wake the relay in time
            }
        )
        await drop_test_state(
            split.model_copy(update={"database_url": settings.database_url}), [SERVICE]
        )
        yield split, proxy


async def _listening(direct_url: str, database: str) -> bool:
    conn = await asyncpg.connect(direct_url)
    try:
        found = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'LISTEN %'",
            database,
        )
    finally:
        await conn.close()
    return bool(found)


async def test_migrations_and_the_relays_listen_go_direct(
    pooled_and_direct: tuple[Settings, RecordingProxy],
) -> None:
    settings, proxy = pooled_and_direct
    runtime = await ServiceRuntime.start(SERVICE, settings, [])
    stop = asyncio.Event()
    relay = asyncio.create_task(run_relays([SERVICE], settings, stop))
    redis = Redis.from_url(str(settings.redis_url))
    try:
        assert await runtime.pool.fetchval("SELECT to_regclass('outbox') IS NOT NULL")
        direct = settings.service_direct_database_url(SERVICE)
        await eventually(lambda: _listening(direct, f"{settings.database_prefix}{SERVICE}"))
        event_id = new_id()
        await runtime.pool.execute(
            "INSERT INTO outbox (event_id, event_type, envelope) VALUES ($1, 'h6.probe', $2)",
            event_id,
            {"id": event_id},
        )
        stream = RedisKeys(settings).event_stream

        async def published() -> bool:
            return any(event_id.encode() in e[1][b"event"] for e in await redis.xrange(stream))

        await eventually(published)  # woken by the NOTIFY its direct LISTEN hears
    finally:
        stop.set()
        await relay
        await redis.aclose()
        await runtime.close()
    sent = bytes(proxy.sent)
    assert b"FOR UPDATE SKIP LOCKED" in sent, "the pools went through the proxy"
    assert b"pg_advisory_lock" not in sent
    assert b"schema_migrations" not in sent
    assert not re.search(rb"(?<!UN)LISTEN ", sent)


CUSTOM_PLANS = "plan_cache_mode = force_custom_plan"


async def test_plan_with_values_leaves_no_session_state(settings: Settings) -> None:
    """One round trip in (BEGIN and SET LOCAL), one out; nothing left on the session after,
    whether the block ends well or with an error, so a pooler may hand its server connection
    to anyone."""
    assert settings.database_url
    pool = await create_pool(settings.database_url, max_size=1)
    show = "SELECT current_setting('plan_cache_mode')"
    try:
        async with pool.acquire() as conn:
            sent: list[str] = []
            conn.add_query_logger(lambda record: sent.append(record.query))
            async with plan_with_values(conn):
                assert await conn.fetchval(show) == "force_custom_plan"
                assert conn.is_in_transaction()
                async with plan_with_values(conn):  # a block inside adds no round trip
                    pass
            assert not conn.is_in_transaction()
            assert await conn.fetchval(show) == "auto"
            # (the logger hears of a statement once it is done: COMMIT is in by now)
            assert sent[:3] == [f"BEGIN; SET LOCAL {CUSTOM_PLANS}", show, "COMMIT"]
            with pytest.raises(asyncpg.DivisionByZeroError):
                async with plan_with_values(conn):
                    await conn.fetchval("SELECT 1 / 0")
            assert not conn.is_in_transaction()
            assert await conn.fetchval(show) == "auto"
            async with conn.transaction():  # in a caller's transaction: until that one ends
                async with plan_with_values(conn):
                    pass
                assert await conn.fetchval(show) == "force_custom_plan"
            assert await conn.fetchval(show) == "auto"
    finally:
        await pool.close()
