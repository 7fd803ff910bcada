"""The stack under fault, once for the module: embedded servers in a folder of its own
(``server_directory``: they are stopped and started again), every process, the fakes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.faults.stack import FaultStack, running_stack
from tests.support import server_directory


@pytest.fixture(scope="module")
def fault_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultStack]:
    logs = tmp_path_factory.mktemp("fault-logs")
    with server_directory() as directory, running_stack(directory, logs) as stack:
        yield stack
