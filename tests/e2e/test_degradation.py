"""While one subgraph is down, the others still answer through the gateway.

What a front end sees: the fields of the services that answered; ``null`` for the fields the
missing service adds to other services' entities (a request's ``tasks`` and ``issues``, a
person's ``assignments``: nullable for this reason); and one error per missing part with
``DOWNSTREAM_SERVICE_ERROR`` and ``serviceName``. A root field of the missing service that is
non-null (``unreadCount``) nulls the whole answer, so a front end asks for it separately.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from devstack.processes import ProcessGroup
from tests.e2e.gateway_client import GatewayClient
from tests.e2e.test_walking_skeleton import create_request
from tests.support import Caller

PMO = Caller("e2e-degrade-pmo", roles=("PMO",))
REQUEST = """
query($id: ID!) {
  request(id: $id) { id title tasks { edges { node { id } } } issues { edges { node { id } } } }
}
"""


@pytest.fixture
def tasks_and_notify_down(e2e_stack: ProcessGroup) -> Iterator[None]:
    specs = {name: e2e_stack.running[name][0] for name in ("tasks", "notify")}
    e2e_stack.stop(list(specs))
    try:
        yield
    finally:
        for spec in specs.values():
            e2e_stack.start(spec)
        e2e_stack.wait_ready(60)


async def test_the_other_subgraphs_answer_while_tasks_and_notify_are_down(
    gateway: GatewayClient, request: pytest.FixtureRequest
) -> None:
    created = await create_request(gateway, title="Degraded but answering")
    request.getfixturevalue("tasks_and_notify_down")
    started = time.monotonic()
    response = await gateway.post(REQUEST, {"id": created["id"]}, caller=PMO)
    assert time.monotonic() - started < 5  # a refused connection is answered at once
    assert response.status_code == 200, response.text
    body = response.json()
    answered = body["data"]["request"]
    assert answered["title"] == "Degraded but answering"  # requests and issues answer
    assert answered["issues"] == {"edges": []}
    assert answered["tasks"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "DOWNSTREAM_SERVICE_ERROR", error
    assert error["extensions"]["serviceName"] == "tasks"
    assert error["path"] == ["request", "tasks"]

    unread = (await gateway.post("{ unreadCount }", caller=PMO)).json()
    assert unread["data"] is None
    assert unread["errors"][0]["extensions"]["serviceName"] == "notify"
