"""The regions' topology as rendered (deploy/README.md, "Regions"): everything next to the
data in hq; in every other region only the gateway, calling hq's subgraphs, and the notify
worker as an egress worker. A region is added by copying an overlay, and nothing else."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from services import SERVICE_NAMES
from shared.settings import Settings
from shared.worker import is_egress_worker
from tests.deploy import test_manifests
from tests.deploy.test_manifests import BIN, DEPLOY, REGIONS, Manifest, _containers, _of_kind, _run

rendered = test_manifests.rendered
"""Every overlay rendered by ``kubectl kustomize`` (the manifests tests' fixture)."""

HOME = "hq"
REMOTE = tuple(region for region in REGIONS if region != HOME)
DATA_GROUPS = {"postgresql.cnpg.io", "barmancloud.cnpg.io", "redis.redis.opstreelabs.in"}
EVERY_PROCESS = {
    "liaison-gateway",
    "liaison-relay",
    *(f"liaison-{service}" for service in SERVICE_NAMES),
    *(f"liaison-{service}-worker" for service in SERVICE_NAMES),
}
EDGE_AND_EGRESS = {"liaison-gateway", "liaison-notify-worker"}


def _config(objects: list[Manifest], name: str) -> dict[str, str]:
    """The data of the generated ConfigMap ``name`` (its hash suffix aside)."""
    maps = _of_kind(objects, "ConfigMap")
    [found] = [c for n, c in maps.items() if re.fullmatch(rf"{name}-[a-z0-9]{{10}}", n)]
    data: dict[str, str] = found["data"]
    return data


def _settings(config: dict[str, str]) -> Settings:
    """The Python settings a pod with ``config`` in its environment reads."""
    with pytest.MonkeyPatch.context() as environment:
        for name, value in config.items():
            environment.setenv(name, value)
        return Settings()


@pytest.mark.parametrize("region", REGIONS)
def test_each_region_runs_its_share_of_the_processes(
    rendered: dict[str, list[Manifest]], region: str
) -> None:
    objects = rendered[region]
    deployments = set(_of_kind(objects, "Deployment"))
    data = {o["kind"] for o in objects if o["apiVersion"].split("/")[0] in DATA_GROUPS}
    scaled = {
        *_of_kind(objects, "HorizontalPodAutoscaler"),
        *_of_kind(objects, "PodDisruptionBudget"),
    }
    if region == HOME:
        assert deployments == EVERY_PROCESS
        assert {"Cluster", "Database"} <= data
    else:
        assert deployments == EDGE_AND_EGRESS
        assert data == set(), f"{region} carries data objects"
        assert set(_of_kind(objects, "Service")) == {"liaison-gateway"}
    assert scaled <= deployments, f"an HPA or PDB of no Deployment in {region}"


@pytest.mark.parametrize("region", REGIONS)
def test_every_gateway_calls_hqs_subgraphs(
    rendered: dict[str, list[Manifest]], region: str
) -> None:
    urls = _config(rendered[region], "liaison-gateway-config")
    for service in SERVICE_NAMES:
        url = urlsplit(urls[f"LIAISON_{service.upper()}_URL"])
        assert (url.port, url.path) == (8000, "/graphql"), url
        host = url.hostname or ""
        if region == HOME:  # its own namespace: the subgraphs are beside it
            assert host == f"liaison-{service}", url
        else:
            assert host.startswith(f"liaison-{service}.liaison-{HOME}."), url


@pytest.mark.parametrize("region", REGIONS)
def test_only_hqs_workers_own_the_timers_and_events(
    rendered: dict[str, list[Manifest]], region: str
) -> None:
    """hq's workers fire every timer not bound to a region and consume the events; another
    region's notify worker is an egress worker (its region's deliveries only)."""
    settings = _settings(_config(rendered[region], "liaison-config"))
    assert (settings.region, settings.home_region, settings.regional_queues) == (
        region,
        HOME,
        True,
    )
    assert is_egress_worker(settings) is (region != HOME)


@pytest.mark.parametrize("region", REGIONS)
def test_mail_links_and_the_event_catalog_are_set_per_region(
    rendered: dict[str, list[Manifest]], region: str
) -> None:
    objects = rendered[region]
    settings = _settings(_config(objects, "liaison-config"))
    assert settings.smtp_host  # unset, no e-mail would be written at all
    assert settings.smtp_sender != Settings.model_fields["smtp_sender"].default
    for url in (settings.notify_web_base_url, settings.event_catalog_url):
        assert urlsplit(url).scheme == "https", url
    assert settings.event_catalog_url.endswith("/asyncapi.json")
    worker = _containers(_of_kind(objects, "Deployment")["liaison-notify-worker"])[0]
    secrets = {v["name"]: v["valueFrom"].get("secretKeyRef") for v in worker["env"]
               if "valueFrom" in v}  # fmt: skip
    for var, key in {"USERNAME": "smtp-username", "PASSWORD": "smtp-password"}.items():
        optional = {"name": "liaison-secrets", "key": key, "optional": True}
        assert secrets[f"LIAISON_SMTP_{var}"] == optional, "the SMTP login is a secret"


def _normalised(text: str) -> str:
    """A rendering with the generated ConfigMaps' hash suffixes taken out."""
    return re.sub(r"\b(liaison-(?:gateway-)?config)-[a-z0-9]{10}\b", r"\1", text)


def add_region(k8s: Path, source: str, region: str) -> Path:
    """deploy/README.md's "Add a region", step 2: copy an overlay, rename its region."""
    overlay = k8s / "overlays" / region
    shutil.copytree(k8s / "overlays" / source, overlay)
    for name in ("kustomization.yaml", "namespace.yaml"):
        path = overlay / name
        path.write_text(re.sub(rf"\b{source}\b", region, path.read_text()))
    return overlay


def _render(overlay: Path) -> str:
    result = _run([str(BIN / "kubectl"), "kustomize", str(overlay)])
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_a_region_copied_from_eu_renders_with_nothing_else_changed(tmp_path: Path) -> None:
    k8s = tmp_path / "k8s"
    shutil.copytree(DEPLOY / "k8s", k8s)
    overlay = add_region(k8s, "eu", "apac")
    apac = _render(overlay)
    eu = _render(k8s / "overlays" / "eu")
    assert _normalised(apac) == _normalised(re.sub(r"\beu\b", "apac", eu))
    objects = [o for o in yaml.safe_load_all(apac) if o]
    assert set(_of_kind(objects, "Deployment")) == EDGE_AND_EGRESS
    assert _config(objects, "liaison-config")["LIAISON_REGION"] == "apac"
    assert {o["metadata"].get("namespace", "liaison-apac") for o in objects} == {"liaison-apac"}
