"""The committed SDL and supergraph match what the code composes today."""

from __future__ import annotations

import subprocess

from devstack.node import compose_argv
from services import SERVICE_NAMES
from services.sdl import printed_sdl, sdl_path
from shared.settings import REPO_ROOT


def test_committed_subgraph_sdl_is_current() -> None:
    stale = [s for s in SERVICE_NAMES if sdl_path(s).read_text(encoding="utf-8") != printed_sdl(s)]
    assert stale == [], f"run `python -m services.sdl` and commit: {stale}"


def test_committed_supergraph_matches_a_fresh_composition() -> None:
    result = subprocess.run(
        compose_argv("--check"), cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_subgraph_declares_federation_2_9() -> None:
    for service in SERVICE_NAMES:
        assert "https://specs.apollo.dev/federation/v2.9" in printed_sdl(service), service
