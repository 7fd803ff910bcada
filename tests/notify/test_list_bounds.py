"""``markRead`` answers with its notifications: as many as it was given ids, at most the
largest page, so the answer is bounded like every other list."""

from __future__ import annotations

from tests.notify.test_inbox import LI, MARK_READ
from tests.support import SubgraphClient


async def test_mark_read_takes_at_most_the_largest_page_of_ids(notify_api: SubgraphClient) -> None:
    limit = notify_api.runtime.settings.graphql_max_page
    ids = [f"n-{n}" for n in range(limit + 1)]
    data = await notify_api.execute(MARK_READ, {"ids": ids}, caller=LI)
    payload = data["markRead"]
    assert payload["notifications"] is None
    assert payload["userErrors"] == [{"field": "ids", "code": "INVALID"}]
    # The same id twice counts once: at the limit, the ids are merely not found.
    data = await notify_api.execute(MARK_READ, {"ids": [*ids[:limit], ids[0]]}, caller=LI)
    assert data["markRead"]["userErrors"] == [{"field": "ids", "code": "NOT_FOUND"}]
