"""The whole system as processes: four subgraphs, their workers, the relay and the gateway."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from devstack.node import compose_argv, ensure_gateway_packages, gateway_argv
from devstack.processes import ProcessGroup, ProcessSpec
from services import SERVICE_NAMES
from shared.settings import REPO_ROOT, SECRET_FILE_FIELDS, Settings

READY_TIMEOUT_SECONDS = 90.0
RELAY = "relay"


def settings_env(settings: Settings) -> dict[str, str]:
    """The settings as ``LIAISON_*`` variables, for child processes."""
    env = {
        f"LIAISON_{name.upper()}": _env_value(value)
        for name, value in settings.model_dump().items()
        if value is not None
    }
    for service in SERVICE_NAMES:  # where the gateway finds each subgraph
        env[f"LIAISON_{service.upper()}_URL"] = subgraph_url(settings, service)
    for name in SECRET_FILE_FIELDS:  # passed as values: a _FILE inherited too would clash
        env[f"LIAISON_{name.upper()}_FILE"] = ""
    env["NO_COLOR"] = "1"
    if settings.log_format == "json":  # the gateway CLI's lines before its config loads
        env["LOG_JSON"] = "1"
    return env


def _env_value(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"  # what both pydantic and the gateway config read
    if isinstance(value, list) and all(isinstance(item, tuple) for item in value):
        # host:port pairs (LIAISON_REDIS_SENTINELS) are read as a comma list, not JSON
        return ",".join(f"[{h}]:{p}" if ":" in h else f"{h}:{p}" for h, p in value)
    return str(value)


def subgraph_url(settings: Settings, service: str) -> str:
    return f"http://{settings.host}:{settings.service_port(service)}/graphql"


def gateway_url(settings: Settings) -> str:
    return f"http://{settings.host}:{settings.gateway_port}/graphql"


def process_specs(settings: Settings) -> list[ProcessSpec]:
    """Every process of the stack. Subgraphs run as the image runs them (``shared.serve``),
    so they drain for ``LIAISON_SHUTDOWN_GRACE_SECONDS`` on SIGTERM, as in production."""
    python = sys.executable
    host = settings.host
    specs = []
    for service in SERVICE_NAMES:
        port = settings.service_port(service)
        specs.append(
            ProcessSpec(
                service,
                [
                    python,
                    "-m",
                    "shared.serve",
                    "service",
                    service,
                    "--host",
                    host,
                    "--port",
                    str(port),
                ],
                ready_url=f"http://{host}:{port}/readyz",
            )
        )
        specs.append(ProcessSpec(f"{service}-worker", [python, "-m", f"services.{service}.worker"]))
    specs.append(ProcessSpec(RELAY, [python, "-m", "shared.events.relay", *SERVICE_NAMES]))
    specs.append(
        ProcessSpec(
            "gateway",
            gateway_argv(host, settings.gateway_port),
            ready_url=f"http://{host}:{settings.gateway_port}/healthcheck",
        )
    )
    return specs


def build_supergraph() -> None:
    """Print each subgraph's SDL and compose the gateway's supergraph from them. The
    composition script imports the gateway's npm packages, so they are installed first
    (on a fresh clone nothing else has installed them yet)."""
    ensure_gateway_packages()
    subprocess.run([sys.executable, "-m", "services.sdl"], cwd=REPO_ROOT, check=True)
    subprocess.run(compose_argv(), cwd=REPO_ROOT, check=True, stdout=subprocess.DEVNULL)


def process_group(settings: Settings, log_dir: Path) -> ProcessGroup:
    """An empty group for processes run with ``settings``, killed only after their grace."""
    return ProcessGroup(
        settings_env(settings), log_dir, REPO_ROOT, grace_seconds=settings.shutdown_grace_seconds
    )


def start_stack(settings: Settings, log_dir: Path) -> ProcessGroup:
    """Start every process and wait until the subgraphs and the gateway are ready."""
    ensure_gateway_packages()
    group = process_group(settings, log_dir)
    specs = process_specs(settings)
    try:
        # The relay last, once the subgraphs have created and migrated their databases: it
        # would wait for them anyway, but PostgreSQL logs every connection to a missing one.
        for spec in specs:
            if spec.name != RELAY:
                group.start(spec)
        group.wait_ready(READY_TIMEOUT_SECONDS)
        group.start(next(spec for spec in specs if spec.name == RELAY))
    except BaseException:
        group.stop()
        raise
    return group
