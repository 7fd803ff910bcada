"""The inbox sends as many SQL statements for 12 notifications as for 2."""

from __future__ import annotations

from shared.ids import new_id
from tests.support import Caller, SubgraphClient, assert_no_growth, counting_statements

LI = Caller("li", departments=("mkt",))

INBOX = """
query($first: Int!, $unread: Boolean!) {
  myNotifications(first: $first, unreadOnly: $unread) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { id type title body link urgency createdAt readAt recipient { id } } }
  }
  unreadCount
}
"""

ENTITIES = """
query($r: [_Any!]!) {
  _entities(representations: $r) { ... on Notification { id title recipient { id } } }
}
"""


async def test_inbox_costs_the_same_for_2_and_12_notifications(notify_api: SubgraphClient) -> None:
    api = notify_api
    ids: list[str] = []
    counts = []
    async with counting_statements(api.runtime) as counter:
        for total in (2, 12):
            while len(ids) < total:
                ids.append(new_id())
                await api.runtime.pool.execute(
                    "INSERT INTO notifications (id, recipient_id, type, title, source_event_id)"
                    " VALUES ($1, 'li', 'tasks.task.created', 'A task', $1)",
                    ids[-1],
                )
            for unread in (False, True):
                count, data = await counter.count(
                    api, INBOX, {"first": 50, "unread": unread}, caller=LI
                )
                assert len(data["myNotifications"]["edges"]) == total
                counts.append(count)
            representations = [{"__typename": "Notification", "id": i} for i in ids]
            count, data = await counter.count(api, ENTITIES, {"r": representations}, caller=LI)
            assert len([e for e in data["_entities"] if e]) == total
            counts.append(count)
    for small, large in zip(counts[:3], counts[3:], strict=True):
        assert_no_growth(small, large)
