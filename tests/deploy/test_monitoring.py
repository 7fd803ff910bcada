"""deploy/k8s/components/monitoring validated offline: the alert rules, the dashboards, the
PodMonitor, and every metric they name against what the code really exports.

* PromQL is parsed (and type-checked: ``rate`` of a vector, unknown functions...) with
  ``promql-parser``, the Rust parser of the Prometheus grammar, from PyPI.
* The metrics that exist are read from exposition text: the Python registry after importing
  every module of ``shared`` and ``services`` (in a fresh interpreter), and the ``/metrics`` of
  a real Hive Gateway started with the committed configuration. Only ``up`` (Prometheus) and
  a few kube-state-metrics series come from elsewhere (:data:`EXTERNAL`).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import promql_parser
import pytest
import yaml

from devstack.node import ensure_gateway_packages
from shared.settings import REPO_ROOT
from tests.deploy import test_manifests
from tests.deploy.test_manifests import REGIONS, Manifest, _of_kind, _selects
from tests.gateway.conftest import Gateways, free_port

DEPLOY = REPO_ROOT / "deploy"
COMPONENT = DEPLOY / "k8s" / "components" / "monitoring"
DASHBOARDS = sorted((COMPONENT / "dashboards").glob("*.json"))
RULES = COMPONENT / "prometheusrule.yaml"
README = DEPLOY / "README.md"
RUNBOOKS = "https://github.com/liaison/liaison/blob/main/deploy/README.md#"
EXTERNAL = {
    "up": "Prometheus itself, one per target",
    "kube_pod_status_ready": "kube-state-metrics",
    "kube_deployment_status_replicas_available": "kube-state-metrics",
    "kube_deployment_spec_replicas": "kube-state-metrics",
}
"""Series no Liaison process exports, which kube-prometheus-stack brings."""
GRAFANA_INTERVALS = ("$__rate_interval", "$__interval", "$__range")
"""Grafana's own variables that stand for a duration in a query."""
LAST_APPLIED_LIMIT = 262_144
"""Bytes of an object ``kubectl apply`` can record in its last-applied annotation."""

_IMPORT_EVERYTHING = """
import importlib, pkgutil
from prometheus_client import REGISTRY, generate_latest
for package in ("shared", "services"):
    for module in pkgutil.walk_packages([package], prefix=f"{package}."):
        importlib.import_module(module.name)
print(generate_latest(REGISTRY).decode())
"""


def exposed_series(exposition: str) -> set[str]:
    """The series names a scrape of ``exposition`` can hold, from its ``# TYPE`` lines, so
    that a metric with no sample yet (no label values seen) counts too: a histogram's
    ``_bucket``, ``_sum`` and ``_count``, a summary's quantiles, ``_sum`` and ``_count``, a
    counter's name as exposed (``..._total`` from prometheus_client, bare from prom-client)."""
    names: set[str] = set()
    for line in exposition.splitlines():
        if not line.startswith("# TYPE "):
            continue
        _, _, name, kind = line.split()
        if kind == "histogram":
            names |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
        elif kind == "summary":
            names |= {name, f"{name}_sum", f"{name}_count"}
        else:
            names.add(name)
    return names


def _python_exposition() -> str:
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_EVERYTHING],
        capture_output=True,
        text=True,
        timeout=90,
        cwd=REPO_ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def _gateway_exposition(log_dir: Path) -> str:
    ensure_gateway_packages()
    gateways = Gateways(log_dir)
    port = free_port()
    try:
        gateways.start("metrics", {"LIAISON_GATEWAY_METRICS_PORT": str(port)})
        gateways.wait_ready()
        return httpx.get(f"http://127.0.0.1:{port}/metrics").raise_for_status().text
    finally:
        gateways.group.stop()


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """Every series name the code's registries expose: the Python processes' and the gateway's."""
    gateway = _gateway_exposition(tmp_path_factory.mktemp("gateway"))
    return exposed_series(_python_exposition()) | exposed_series(gateway)


rendered = test_manifests.rendered
"""Every overlay rendered by ``kubectl kustomize`` (the manifests tests' fixture)."""


def _rule_file() -> Manifest:
    loaded: Manifest = yaml.safe_load(RULES.read_text())
    return loaded


def _alerts() -> list[Manifest]:
    return [rule for group in _rule_file()["spec"]["groups"] for rule in group["rules"]]


def _dashboard(path: Path) -> Manifest:
    loaded: Manifest = json.loads(path.read_text())
    return loaded


def _panels(dashboard: Manifest) -> Iterator[Manifest]:
    """Every panel, those inside collapsed rows too."""
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])


def _queries(dashboard: Manifest) -> Iterator[str]:
    for panel in _panels(dashboard):
        for target in panel.get("targets", []):
            yield target["expr"]


def _as_promql(query: str) -> str:
    """A dashboard query as Prometheus receives it: Grafana's durations filled in."""
    for variable in GRAFANA_INTERVALS:
        query = query.replace(variable, "5m")
    return query


def _selectors(expr: str) -> list[promql_parser.VectorSelector]:
    """The vector selectors of a PromQL expression (parsing it, so it must be valid)."""
    found: list[promql_parser.VectorSelector] = []

    def visit(node: promql_parser.Expr) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            found.append(node)

    promql_parser.walk(promql_parser.parse(expr), visit)
    return found


def _metric_names(expr: str) -> set[str]:
    names = {selector.name for selector in _selectors(expr)}
    assert None not in names, f"a selector without a metric name: {expr}"
    return {name for name in names if name}


OPERATORS = (
    (promql_parser.MatchOp.Equal, "="),
    (promql_parser.MatchOp.NotEqual, "!="),
    (promql_parser.MatchOp.Re, "=~"),
    (promql_parser.MatchOp.NotRe, "!~"),
)
"""PromQL's spelling of each matcher operator (the parser's enum is not hashable)."""


def _matchers(selector: promql_parser.VectorSelector) -> set[tuple[str, str, str]]:
    def spelled(op: promql_parser.MatchOp) -> str:
        return next(text for member, text in OPERATORS if member == op)

    return {(m.name, spelled(m.op), m.value) for m in selector.matchers.matchers}


# -- the registry ----------------------------------------------------------------------------


def test_series_names_are_expanded_by_type(exported: set[str]) -> None:
    """Suffixes belong to the type: a histogram has ``_bucket`` but no bare name, a
    prometheus_client counter ends in ``_total``, a prom-client (gateway) counter need not."""
    assert "liaison_graphql_request_duration_seconds_bucket" in exported
    assert "liaison_graphql_request_duration_seconds" not in exported
    assert "liaison_deliveries_total" in exported
    assert "liaison_deliveries" not in exported
    assert {"graphql_yoga_http_duration_count", "graphql_envelop_request"} <= exported
    assert "graphql_envelop_request_total" not in exported
    assert "liaison_gateway_passthrough_total" in exported
    assert "liaison_webhook_endpoints_disabled_total" in exported
    assert not set(EXTERNAL) & exported, "an external series is the code's after all"


# -- alert rules -------------------------------------------------------------------------------


def test_the_rules_are_a_prometheus_rule_of_valid_promql() -> None:
    rule_file = _rule_file()
    assert (rule_file["apiVersion"], rule_file["kind"]) == (
        "monitoring.coreos.com/v1",
        "PrometheusRule",
    )
    groups = rule_file["spec"]["groups"]
    assert len({g["name"] for g in groups}) == len(groups)
    alerts = _alerts()
    assert len({a["alert"] for a in alerts}) == len(alerts), "alert names are unique"
    for alert in alerts:
        assert re.fullmatch(r"Liaison[A-Z][A-Za-z]+", alert["alert"]), alert["alert"]
        assert set(alert) <= {"alert", "expr", "for", "labels", "annotations"}, alert["alert"]
        promql_parser.parse(alert["expr"])  # raises on a syntax or type error
        if "for" in alert:
            promql_parser.parse_duration(alert["for"])
        assert alert["labels"]["severity"] in {"critical", "warning"}, alert["alert"]
        assert {"summary", "description", "runbook_url"} <= set(alert["annotations"])


def test_every_alert_names_only_metrics_that_exist(exported: set[str]) -> None:
    for alert in _alerts():
        unknown = _metric_names(alert["expr"]) - exported - set(EXTERNAL)
        assert not unknown, f"{alert['alert']} names {unknown}, which nothing exports"


def test_the_alerts_cover_what_operators_must_hear_of() -> None:
    """Gateway 5xx and p99, outbox age, consumer lag, late timers, exhausted deliveries,
    disabled endpoints, unready pods: each watched by some alert, on the right series."""
    selectors = [s for alert in _alerts() for s in _selectors(alert["expr"])]

    def watched(metric: str, matcher: tuple[str, str, str] | None = None) -> bool:
        return any(
            s.name == metric and (matcher is None or matcher in _matchers(s)) for s in selectors
        )

    assert watched("graphql_yoga_http_duration_count", ("statusCode", "=~", "5.."))
    assert watched("graphql_yoga_http_duration_bucket")
    assert any("histogram_quantile(0.99" in a["expr"].replace(" ", "") for a in _alerts())
    assert watched("liaison_outbox_oldest_unsent_seconds")
    assert watched("liaison_stream_consumer_lag")
    assert watched("liaison_timers_fired_late_total")
    assert watched("liaison_deliveries_total", ("outcome", "=", "exhausted"))
    assert watched("liaison_webhook_endpoints_disabled_total")
    assert watched("kube_pod_status_ready", ("condition", "=", "false"))
    assert watched("kube_deployment_status_replicas_available")


def _alerts_section() -> str:
    text = README.read_text()
    start = text.index("\n## Alerts\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else len(text)]


def test_every_alert_has_a_runbook_in_deploy_readme() -> None:
    """``runbook_url`` points at the alert's own heading of deploy/README.md's "Alerts"
    (GitHub's anchor of ``### Name`` is ``#name``), which says what it means, what to check
    and what to do; no runbook is left for an alert that is gone."""
    section = _alerts_section()
    entries = dict(re.findall(r"\n### (\w+)\n(.*?)(?=\n### |\Z)", section, re.DOTALL))
    alerts = {a["alert"]: a for a in _alerts()}
    assert set(entries) == set(alerts)
    for name, alert in alerts.items():
        assert alert["annotations"]["runbook_url"] == RUNBOOKS + name.lower()
        for part in ("*Means:*", "*Check:*", "*Do:*"):
            assert part in entries[name], f"the runbook of {name} lacks {part}"
        assert f"`{name}`" in section.split("\n### ")[0], f"{name} is in no objective"


# -- dashboards --------------------------------------------------------------------------------


def test_the_dashboards_are_generated_from_their_script() -> None:
    script = DEPLOY / "grafana" / "dashboards.py"
    result = subprocess.run(
        [sys.executable, str(script), "--check"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert [p.stem for p in DASHBOARDS] == sorted(
        ["liaison-overview", "liaison-events", "liaison-timers", "liaison-deliveries"]
    )


def _overlapping(panels: list[Manifest]) -> list[tuple[str, str]]:
    def cells(panel: Manifest) -> set[tuple[int, int]]:
        g = panel["gridPos"]
        return {
            (x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])
        }

    taken: dict[tuple[int, int], str] = {}
    clashes = []
    for panel in panels:
        for cell in cells(panel):
            if cell in taken:
                clashes.append((taken[cell], panel["title"]))
            taken[cell] = panel["title"]
    return clashes


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_dashboard_is_valid_with_unique_panels_and_a_region_variable(path: Path) -> None:
    dashboard = _dashboard(path)
    assert dashboard["uid"] == path.stem
    panels = list(_panels(dashboard))
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), f"duplicate panel ids in {path.name}"
    assert all(
        p["gridPos"]["x"] >= 0 and p["gridPos"]["x"] + p["gridPos"]["w"] <= 24 for p in panels
    )
    assert not _overlapping(panels)
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    region = variables["region"]
    assert (region["type"], region["multi"], region["includeAll"]) == ("query", True, True)
    for panel in panels:
        if panel["type"] != "row":
            assert panel["targets"], f"{panel['title']} queries nothing"
            assert panel["datasource"]["uid"] == "${datasource}", panel["title"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_every_dashboard_query_is_promql_on_metrics_that_exist_in_the_chosen_regions(
    path: Path, exported: set[str]
) -> None:
    dashboard = _dashboard(path)
    for query in _queries(dashboard):
        for selector in _selectors(_as_promql(query)):
            assert selector.name in exported, f"{path.name}: {selector.name} is not exported"
            assert ("region", "=~", "$region") in _matchers(selector), f"{path.name}: {query}"
    region_query = dashboard["templating"]["list"][1]["definition"]
    inner = re.fullmatch(r"label_values\((.+), region\)", region_query)
    assert inner, region_query
    assert _metric_names(inner[1]) <= exported | set(EXTERNAL)


def _uses(dashboard: Manifest) -> set[str]:
    return {name for q in _queries(dashboard) for name in _metric_names(_as_promql(q))}


def test_the_dashboards_show_what_the_issue_asks_for() -> None:
    """Overview: traffic, errors, p50 and p99 per operation and per subgraph; a dashboard per
    pipeline with its quantities."""
    overview = _dashboard(COMPONENT / "dashboards" / "liaison-overview.json")
    queries = [q.replace(" ", "") for q in _queries(overview)]
    for by in ("operationName", "subgraphName", "service"):
        for q in ("0.5", "0.99"):
            assert any(f"histogram_quantile({q},sumby(le,{by})" in x for x in queries), (q, by)
    assert any('statusCode=~"5.."' in x for x in queries)
    assert any('outcome="error"' in x for x in queries)
    wanted = {
        "liaison-overview": {"graphql_yoga_http_duration_count", "liaison_graphql_requests_total"},
        "liaison-events": {
            "liaison_outbox_backlog",
            "liaison_outbox_oldest_unsent_seconds",
            "liaison_relay_lag_seconds_bucket",
            "liaison_stream_consumer_lag",
            "liaison_event_age_seconds_bucket",
        },
        "liaison-timers": {
            "liaison_timers_armed_total",
            "liaison_timers_fired_total",
            "liaison_timers_fired_late_total",
        },
        "liaison-deliveries": {
            "liaison_deliveries_total",
            "liaison_webhook_endpoints_disabled_total",
        },
    }
    for uid, metrics in wanted.items():
        missing = metrics - _uses(_dashboard(COMPONENT / "dashboards" / f"{uid}.json"))
        assert not missing, (uid, missing)


# -- what every overlay deploys ----------------------------------------------------------------


@pytest.mark.parametrize("region", REGIONS)
def test_every_overlay_ships_dashboards_rules_and_scraping(
    rendered: dict[str, list[Manifest]], region: str
) -> None:
    objects = rendered[region]
    maps = {
        n: c
        for n, c in _of_kind(objects, "ConfigMap").items()
        if n.startswith("liaison-dashboard-")
    }
    shipped: dict[str, str] = {}
    for name, config_map in maps.items():
        assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1", name
        assert len(json.dumps(config_map)) < LAST_APPLIED_LIMIT, f"{name} too big to apply"
        shipped |= config_map["data"]
    assert shipped == {p.name: p.read_text() for p in DASHBOARDS}
    assert _of_kind(objects, "PrometheusRule")["liaison"]["spec"] == _rule_file()["spec"]
    assert "liaison" in _of_kind(objects, "PodMonitor")


@pytest.mark.parametrize("region", REGIONS)
def test_the_pod_monitor_scrapes_every_process_with_its_region(
    rendered: dict[str, list[Manifest]], region: str
) -> None:
    """Every Deployment's pods are selected and have the port it scrapes; their region label
    becomes the series' ``region``, which the dashboards filter on."""
    objects = rendered[region]
    monitor = _of_kind(objects, "PodMonitor")["liaison"]["spec"]
    [endpoint] = monitor["podMetricsEndpoints"]
    assert endpoint["path"] == "/metrics"
    assert {
        "sourceLabels": ["__meta_kubernetes_pod_label_liaison_io_region"],
        "targetLabel": "region",
    } in endpoint["relabelings"]
    deployments = _of_kind(objects, "Deployment")
    assert deployments
    for name, deployment in deployments.items():
        template = deployment["spec"]["template"]
        assert _selects(monitor["selector"], template["metadata"]["labels"]), name
        assert template["metadata"]["labels"]["liaison.io/region"] == region
        ports = {p["name"] for c in template["spec"]["containers"] for p in c.get("ports", [])}
        assert endpoint["port"] in ports, name
