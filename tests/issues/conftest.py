"""Fixtures of the issues tests: a request known to the issues service through its event."""

from __future__ import annotations

import pytest

from tests.issues.helpers import seed_request
from tests.support import SubgraphClient


@pytest.fixture
async def issues(issues_api: SubgraphClient) -> SubgraphClient:
    """The issues subgraph knowing request ``cr1`` (lead ``mkt``, participant ``rd``)."""
    await seed_request(issues_api, "cr1")
    return issues_api
