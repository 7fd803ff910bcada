"""The one command of the container image: which Liaison process to run.

    python -m shared.serve service <name> [--port 8000]   a subgraph (uvicorn)
    python -m shared.serve worker <name>                  its arq worker and event consumer
    python -m shared.serve relay [<name> ...]             the outbox relay (default: all)
    python -m shared.serve healthcheck                    exit 0 if this container's process
                                                          answers /healthz

Configuration comes from ``LIAISON_*`` variables (docs/operators.md). ``./liaison run`` starts the
same modules directly; this entry point exists so an image has one ``ENTRYPOINT``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

import httpx
import uvicorn

from services import SERVICE_NAMES
from shared.observability.logs import configure_logging
from shared.settings import get_settings, refuse_development_secrets

SERVICE_PORT = 8000
"""Port a subgraph listens on inside a container (``--port``)."""


def serve_service(name: str, host: str, port: int) -> None:
    """Run one subgraph; SIGTERM stops accepting, lets requests in flight finish within
    ``LIAISON_SHUTDOWN_GRACE_SECONDS``, then closes the pools (the app's lifespan)."""
    settings = get_settings()
    refuse_development_secrets(settings, host, "--host")  # LIAISON_HOST was checked already
    configure_logging(name, settings)
    uvicorn.run(
        f"services.{name}.app:app",
        host=host,
        port=port,
        log_config=None,  # the app's lifespan routes uvicorn's loggers to the JSON handler
        access_log=False,
        proxy_headers=True,
        timeout_graceful_shutdown=max(1, int(settings.shutdown_grace_seconds)),
        timeout_keep_alive=75,  # longer than common load balancer idle timeouts
    )


def serve_worker(name: str) -> None:
    module = importlib.import_module(f"services.{name}.worker")
    from shared.worker import run_worker

    run_worker(module.settings())


def serve_relay(names: Sequence[str]) -> None:
    from shared.events import relay

    sys.argv = ["relay", *(names or SERVICE_NAMES)]
    relay.main()


def healthcheck(ports: Sequence[int]) -> int:
    """0 when a process of this container answers ``/healthz`` on one of ``ports``."""
    for port in ports:
        if not port:
            continue
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2.0).status_code == 200:
                return 0
        except httpx.HTTPError:
            continue
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m shared.serve",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    roles = parser.add_subparsers(dest="role", required=True)
    service = roles.add_parser("service", help="a subgraph")
    service.add_argument("name", choices=SERVICE_NAMES)
    service.add_argument("--host", default=None, help="default: LIAISON_HOST")
    service.add_argument("--port", type=int, default=SERVICE_PORT)
    worker = roles.add_parser("worker", help="a service's arq worker and consumer")
    worker.add_argument("name", choices=SERVICE_NAMES)
    relay = roles.add_parser("relay", help="the outbox relay")
    relay.add_argument("names", nargs="*", help=f"any of {', '.join(SERVICE_NAMES)}")
    check = roles.add_parser("healthcheck", help="for the image's HEALTHCHECK")
    check.add_argument("--port", type=int, action="append", default=[])
    args = parser.parse_args(argv)

    settings = get_settings()
    if args.role == "service":
        serve_service(args.name, args.host or settings.host, args.port)
    elif args.role == "worker":
        serve_worker(args.name)
    elif args.role == "relay":
        unknown = set(args.names) - set(SERVICE_NAMES)
        if unknown:
            parser.error(f"unknown services: {', '.join(sorted(unknown))}")
        serve_relay(args.names)
    else:
        return healthcheck(args.port or [SERVICE_PORT, settings.metrics_port])
    return 0


if __name__ == "__main__":
    sys.exit(main())
