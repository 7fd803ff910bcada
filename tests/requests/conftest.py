"""Fixtures of the requests tests: the subgraph with a directory spanning three continents."""

from __future__ import annotations

import pytest

from tests.requests.helpers import load_directory
from tests.support import SubgraphClient


@pytest.fixture
async def api(requests_api: SubgraphClient) -> SubgraphClient:
    """The requests subgraph on an empty database plus the test directory."""
    await load_directory(requests_api)
    return requests_api
