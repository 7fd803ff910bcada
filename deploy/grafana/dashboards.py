"""Liaison's Grafana dashboards, written as JSON for the Grafana Helm chart's sidecar.

    .venv/bin/python deploy/grafana/dashboards.py          # rewrite the JSON files
    .venv/bin/python deploy/grafana/dashboards.py --check  # exit 1 if they are stale

The JSON goes to ``deploy/k8s/components/monitoring/dashboards/``, whence kustomize makes one
ConfigMap per dashboard (labelled ``grafana_dashboard: "1"``). The dashboards are built here
rather than edited in Grafana so that panel ids, layout, the ``datasource`` and ``region``
variables and the ``region`` filter of every query stay uniform; tests/deploy/test_monitoring.py
checks the files against this script and every metric they name against the code.

Every Liaison series gets ``region`` from its pod's ``liaison.io/region`` label (the PodMonitor
in that component); ``$__rate_interval`` is Grafana's own.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

OUT: Final = (
    Path(__file__).resolve().parents[1] / "k8s" / "components" / "monitoring" / "dashboards"
)
DATASOURCE: Final = {"type": "prometheus", "uid": "${datasource}"}
REGION: Final = 'region=~"$region"'
RATE: Final = "[$__rate_interval]"
WIDTH: Final = 24
"""Grafana's grid is 24 columns wide."""
HEIGHT: Final = 8

Json = dict[str, Any]


def sel(metric: str, matchers: str = "") -> str:
    """A selector of ``metric`` in the chosen regions, plus ``matchers``."""
    return f"{metric}{{{REGION}{', ' + matchers if matchers else ''}}}"


def rate(metric: str, by: str, matchers: str = "") -> str:
    """Per-second rate of a counter (or a histogram's ``_count``), summed ``by`` labels."""
    return f"sum by ({by}) (rate({sel(metric, matchers)}{RATE}))"


def quantile(q: float, histogram: str, by: str, matchers: str = "") -> str:
    """The ``q`` quantile of a histogram's ``_bucket`` series, per ``by`` labels."""
    inner = rate(f"{histogram}_bucket", f"le, {by}", matchers)
    return f"histogram_quantile({q}, {inner})"


def ratio(numerator: str, denominator: str) -> str:
    return f"({numerator}) / ({denominator})"


@dataclass(frozen=True)
class Panel:
    """One panel; ``queries`` are (PromQL, legend) pairs."""

    title: str
    queries: list[tuple[str, str]]
    unit: str = "short"
    kind: str = "timeseries"
    width: int = 12
    description: str = ""


@dataclass
class Dashboard:
    uid: str
    title: str
    description: str
    rows: list[tuple[str, list[Panel]]] = field(default_factory=list)

    def row(self, title: str, *panels: Panel) -> Dashboard:
        self.rows.append((title, list(panels)))
        return self


def _targets(panel: Panel) -> list[Json]:
    return [
        {"refId": chr(ord("A") + i), "datasource": DATASOURCE, "expr": expr, "legendFormat": legend}
        for i, (expr, legend) in enumerate(panel.queries)
    ]


def _panel_json(panel: Panel, panel_id: int, x: int, y: int) -> Json:
    options: Json = {"legend": {"displayMode": "table", "placement": "bottom", "calcs": ["max"]}}
    if panel.kind == "stat":
        options = {"reduceOptions": {"calcs": ["lastNotNull"]}, "colorMode": "value"}
    return {
        "id": panel_id,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": DATASOURCE,
        "gridPos": {"h": HEIGHT, "w": panel.width, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
        "options": options,
        "targets": _targets(panel),
    }


def _layout(dashboard: Dashboard) -> list[Json]:
    """Rows of panels left to right, wrapping at the grid's width; ids numbered from 1."""
    panels: list[Json] = []
    y = 0
    for title, row_panels in dashboard.rows:
        panels.append(
            {
                "id": len(panels) + 1,
                "type": "row",
                "title": title,
                "collapsed": False,
                "gridPos": {"h": 1, "w": WIDTH, "x": 0, "y": y},
                "panels": [],
            }
        )
        y, x = y + 1, 0
        for panel in row_panels:
            if x + panel.width > WIDTH:
                y, x = y + HEIGHT, 0
            panels.append(_panel_json(panel, len(panels) + 1, x, y))
            x += panel.width
        y += HEIGHT
    return panels


def _variables() -> list[Json]:
    datasource = {
        "name": "datasource",
        "label": "Prometheus",
        "type": "datasource",
        "query": "prometheus",
        "current": {},
        "hide": 0,
    }
    region = {
        "name": "region",
        "label": "Region",
        "type": "query",
        "datasource": DATASOURCE,
        # every scraped Liaison pod has `up`, with the region the PodMonitor gives it
        "query": {"query": 'label_values(up{namespace=~"liaison-.+"}, region)', "refId": "regions"},
        "definition": 'label_values(up{namespace=~"liaison-.+"}, region)',
        "refresh": 2,
        "multi": True,
        "includeAll": True,
        # All also matches series without the label (a Prometheus that scrapes annotations)
        "allValue": ".*",
        "current": {"text": "All", "value": "$__all"},
        "sort": 1,
        "hide": 0,
    }
    return [datasource, region]


def render(dashboard: Dashboard) -> Json:
    """The dashboard's JSON model, as Grafana's file provisioning reads it."""
    return {
        "uid": dashboard.uid,
        "title": dashboard.title,
        "description": dashboard.description,
        "tags": ["liaison"],
        "editable": False,
        "graphTooltip": 1,
        "refresh": "30s",
        "schemaVersion": 39,
        "version": 1,
        "time": {"from": "now-6h", "to": "now"},
        "timezone": "browser",
        "links": [
            {
                "type": "dashboards",
                "title": "Liaison",
                "tags": ["liaison"],
                "asDropdown": True,
                "includeVars": True,
                "keepTime": True,
            }
        ],
        "annotations": {"list": []},
        "templating": {"list": _variables()},
        "panels": _layout(dashboard),
    }


# -- the dashboards ---------------------------------------------------------------------------

HTTP: Final = "graphql_yoga_http_duration"
"""The gateway's histogram of whole HTTP requests (Hive Gateway's Prometheus plugin)."""
NOT_SUBSCRIPTION: Final = 'operationType!="subscription"'
"""A subscription's HTTP request lasts as long as the subscription: not a latency."""
SUBGRAPH_CALL: Final = "graphql_gateway_subgraph_execute_duration"
SUBGRAPH_OP: Final = "liaison_graphql_request_duration_seconds"
OPERATIONS: Final = "liaison_graphql_requests_total"
DELIVERIES: Final = "liaison_deliveries_total"
DISABLED: Final = "liaison_webhook_endpoints_disabled_total"


def _legend(by: str) -> str:
    return " ".join(f"{{{{{label.strip()}}}}}" for label in by.split(","))


def per_second(title: str, metric: str, by: str, matchers: str = "", **kw: Any) -> Panel:
    """A counter's rate, one line per ``by`` group."""
    kw.setdefault("unit", "ops")
    return Panel(title, [(rate(metric, by, matchers), _legend(by))], **kw)


def increases(title: str, metric: str, by: str, matchers: str = "", **kw: Any) -> Panel:
    """How much a counter of rare events grew per interval, one line per ``by`` group."""
    expr = f"sum by ({by}) (increase({sel(metric, matchers)}{RATE}))"
    return Panel(title, [(expr, _legend(by))], **kw)


def level(title: str, gauge: str, by: str = "service", **kw: Any) -> Panel:
    """A gauge; ``max`` since every replica of a service reports the same backlog."""
    return Panel(title, [(f"max by ({by}) ({sel(gauge)})", _legend(by))], **kw)


def share(title: str, metric: str, part: str, by: str, **kw: Any) -> Panel:
    """The fraction of a counter's rate that matches ``part``."""
    expr = ratio(rate(metric, by, part), rate(metric, by))
    return Panel(title, [(expr, _legend(by))], unit="percentunit", **kw)


def latency(title: str, histogram: str, by: str, matchers: str = "", **kw: Any) -> Panel:
    """p50 and p99 of a histogram in seconds, per ``by`` group."""
    legend = _legend(by)
    queries = [
        (quantile(q, histogram, by, matchers), f"p{q * 100:g} {legend}") for q in (0.5, 0.99)
    ]
    return Panel(title, queries, unit="s", **kw)


def in_range(title: str, metric: str, matchers: str = "") -> Panel:
    """One number: how much a counter grew over the dashboard's time range."""
    return Panel(
        title, [(f"sum(increase({sel(metric, matchers)}[$__range]))", "")], kind="stat", width=8
    )


def overview() -> Dashboard:
    return (
        Dashboard(
            "liaison-overview",
            "Liaison / Overview",
            "Traffic, errors and latency at the gateway, per operation and per subgraph.",
        )
        .row(
            "Gateway",
            per_second("Operations / s", f"{HTTP}_count", "region", kind="stat", width=8),
            share(
                "5xx ratio",
                f"{HTTP}_count",
                'statusCode=~"5.."',
                "region",
                kind="stat",
                width=8,
                description="Its error budget is 0.1 % (alerts LiaisonGatewayErrorBudget*).",
            ),
            Panel(
                "p99 latency",
                [(quantile(0.99, HTTP, "region", NOT_SUBSCRIPTION), "{{region}}")],
                unit="s",
                kind="stat",
                width=8,
            ),
            per_second(
                "Operations / s by operation", f"{HTTP}_count", "operationType, operationName"
            ),
            per_second("HTTP responses / s by status", f"{HTTP}_count", "statusCode"),
            per_second("GraphQL errors / s by phase", "graphql_envelop_error_result", "phase"),
            latency("Latency by operation", HTTP, "operationName", NOT_SUBSCRIPTION),
        )
        .row(
            "Subgraphs, as the gateway calls them",
            per_second("Calls / s by subgraph", f"{SUBGRAPH_CALL}_count", "subgraphName"),
            per_second(
                "Errors / s by subgraph", "graphql_gateway_subgraph_execute_errors", "subgraphName"
            ),
            latency("Latency by subgraph", SUBGRAPH_CALL, "subgraphName", NOT_SUBSCRIPTION),
            per_second(
                "Passthrough / s by subgraph",
                "liaison_gateway_passthrough_total",
                "subgraph",
                description="Queries one subgraph answered whole, without the query planner.",
            ),
        )
        .row(
            "Subgraphs, inside",
            per_second("Operations / s by subgraph and outcome", OPERATIONS, "service, outcome"),
            share("Error ratio by subgraph", OPERATIONS, 'outcome="error"', "service"),
            latency("Latency by subgraph", SUBGRAPH_OP, "service"),
            Panel(
                "p99 by operation",
                [(quantile(0.99, SUBGRAPH_OP, "service, operation"), "{{service}} {{operation}}")],
                unit="s",
            ),
            per_second("Compiled reads / s", "liaison_graphql_compiled_total", "service"),
            Panel(
                "Requests in flight",
                [(f"sum by (service) ({sel('liaison_http_requests_in_flight')})", "{{service}}")],
            ),
            Panel(
                "Database pool use",
                [
                    (
                        ratio(
                            f"sum by (service) ({sel('liaison_db_pool_in_use')})",
                            f"sum by (service) ({sel('liaison_db_pool_max')})",
                        ),
                        "{{service}}",
                    )
                ],
                unit="percentunit",
                description="Near 100 %: requests wait for a connection.",
            ),
            increases(
                "PostgreSQL and Redis outages",
                "liaison_dependency_outages_total",
                "process, dependency",
            ),
        )
    )


def events() -> Dashboard:
    return (
        Dashboard(
            "liaison-events",
            "Liaison / Events pipeline",
            "Outbox, relay, stream, and each service's consumer group.",
        )
        .row(
            "Outbox and relay (hq)",
            level("Outbox backlog (rows not yet published)", "liaison_outbox_backlog"),
            level(
                "Oldest unpublished row",
                "liaison_outbox_oldest_unsent_seconds",
                unit="s",
                description="Alerted on above 60 s (LiaisonOutboxBacklogOld).",
            ),
            per_second("Published / s", "liaison_relay_published_total", "service"),
            latency("Relay lag, commit to stream", "liaison_relay_lag_seconds", "service"),
        )
        .row(
            "Consumers",
            level(
                "Consumer lag (entries not yet delivered)",
                "liaison_stream_consumer_lag",
                description="Alerted on above 1000 for 10 min (LiaisonConsumerLagging).",
            ),
            level("Pending (delivered, not acknowledged)", "liaison_stream_consumer_pending"),
            per_second(
                "Events handled / s by outcome", "liaison_events_handled_total", "service, outcome"
            ),
            latency("Event age when handled", "liaison_event_age_seconds", "service"),
        )
    )


def timers() -> Dashboard:
    late = rate("liaison_timers_fired_late_total", "service")
    fired = rate("liaison_timers_fired_total", "service")
    return Dashboard(
        "liaison-timers",
        "Liaison / Timers",
        "SLA clocks, reminders and watchdogs: armed, fired (by their job or the sweep), late.",
    ).row(
        "Timers",
        per_second("Armed / s by kind", "liaison_timers_armed_total", "service, kind"),
        per_second(
            "Fired / s by path",
            "liaison_timers_fired_total",
            "service, path",
            description="path=sweep: the queued job was lost and the sweep fired the timer.",
        ),
        per_second(
            "Fired late / s by kind",
            "liaison_timers_fired_late_total",
            "service, kind",
            description="More than 5 s after the deadline.",
        ),
        Panel(
            "Late ratio",
            [(ratio(late, fired), "{{service}}")],
            unit="percentunit",
            description="Alerted on above 1 % (LiaisonTimersFiringLate).",
        ),
        Panel(
            "p99 lateness by kind",
            [
                (
                    quantile(0.99, "liaison_timer_lateness_seconds", "service, kind"),
                    "{{service}} {{kind}}",
                )
            ],
            unit="s",
        ),
    )


def deliveries() -> Dashboard:
    return Dashboard(
        "liaison-deliveries",
        "Liaison / Deliveries",
        "Webhooks, chat robots and e-mail: attempts by outcome, exhausted, endpoints disabled.",
    ).row(
        "Deliveries",
        in_range("Exhausted in the time range", DELIVERIES, 'outcome="exhausted"'),
        in_range("Webhook endpoints disabled in the time range", DISABLED),
        share(
            "Failed attempts", DELIVERIES, 'outcome!="succeeded"', "region", kind="stat", width=8
        ),
        per_second("Attempts / s by channel and outcome", DELIVERIES, "channel, outcome"),
        increases("Exhausted by channel", DELIVERIES, "channel", 'outcome="exhausted"'),
        increases(
            "Webhook endpoints disabled",
            DISABLED,
            "region",
            description="Disabled after failing for the whole disable window; the owner is told.",
        ),
    )


DASHBOARDS: Final = (overview, events, timers, deliveries)


def files() -> dict[Path, str]:
    """Each dashboard's file and its text."""
    out = {}
    for build in DASHBOARDS:
        model = render(build())
        out[OUT / f"{model['uid']}.json"] = json.dumps(model, indent=2, ensure_ascii=False) + "\n"
    return out


def main(argv: list[str]) -> int:
    wanted = files()
    if "--check" in argv:
        stale = [p.name for p, text in wanted.items() if not p.exists() or p.read_text() != text]
        extra = sorted({p.name for p in OUT.glob("*.json")} - {p.name for p in wanted})
        if stale or extra:
            print(f"stale: {stale}, not generated: {extra}; run {Path(__file__).name}")
            return 1
        return 0
    OUT.mkdir(parents=True, exist_ok=True)
    for path, text in wanted.items():
        path.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
