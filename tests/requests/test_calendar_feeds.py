"""A feed that cannot be read whole is not served: 503 with Retry-After, so calendar apps keep
their last copy instead of deleting the entries of the service that did not answer. (The
feeds themselves, with every service running, are tested through the gateway:
tests/e2e/test_calendar_feeds.py.)"""

from __future__ import annotations

import socket
from dataclasses import replace
from urllib.parse import urlsplit

from services.requests.calendar.feed import RETRY_AFTER_SECONDS
from tests.requests.helpers import ANNA
from tests.support import SubgraphClient


def _closed_port_url() -> str:
    """A loopback URL nothing listens on (the kernel just handed the port out and took it back)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/graphql"


async def test_a_feed_whose_tasks_part_is_unreadable_answers_503(api: SubgraphClient) -> None:
    settings = api.runtime.settings.model_copy(update={"tasks_url": _closed_port_url()})
    runtime = replace(api.runtime, settings=settings)
    async with SubgraphClient.open("requests", runtime) as cut_off:
        url = (await cut_off.execute("{ calendarFeedUrl }", caller=ANNA))["calendarFeedUrl"]
        response = await cut_off.http.get(urlsplit(url).path)
        unknown = await cut_off.http.get("/calendar/no-such-token.ics")
    assert response.status_code == 503
    assert response.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
    assert unknown.status_code == 404
