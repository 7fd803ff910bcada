"""The search box's query: one ranked list of requests, tasks, issues, lessons and people."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry

from services.notify.search import repository as repo
from services.notify.search.models import RANKS, Search
from services.notify.search.models import SearchHit as StoredHit
from services.notify.search.types import SearchHit
from shared.events.contracts.search import SearchKind
from shared.graphql.child_pages import After, First
from shared.graphql.context import Info
from shared.graphql.errors import PublicError
from shared.graphql.pagination import Connection, build_connection, page_request, wants_total_count
from shared.graphql.permissions import NotPartner

Key = tuple[int, datetime, str, str]
"""A hit's place in the list: its rank, when its document changed, its kind and id."""


def _key(hit: StoredHit) -> list[Any]:
    return [hit.rank, hit.changed_at.isoformat(), hit.kind.value, hit.id]


def _after(key: list[Any] | None) -> Key | None:
    """The cursor's key with its time read back; a key of another list is refused."""
    if key is None:
        return None
    try:
        rank, changed_at, kind, record_id = key
        if not (isinstance(rank, int) and 0 <= rank < len(RANKS) and isinstance(record_id, str)):
            raise ValueError
        return rank, datetime.fromisoformat(changed_at), SearchKind(kind).value, record_id
    except (TypeError, ValueError):
        raise PublicError("`after` is not a cursor of this list") from None


def _search(text: str, kinds: list[SearchKind] | None) -> Search:
    search = Search.of(text, kinds)
    if not search.terms:
        raise PublicError("`text` must hold at least one word to search for")
    return search


@strawberry.type
class SearchQuery:
    @strawberry.field(
        description="One search box over the requests, tasks, issues and lessons the caller may"
        " see (those of requests one of their departments leads or takes part in, an issue"
        " also by its lead and responsible departments; PMO and ADMIN: all) and the people"
        " of the directory (those who left are not found). Every word (whitespace-separated,"
        " Chinese or English, case-insensitive) must occur in the record's code, title or"
        " other text. Best first: the record whose code is the query (e.g. CR-2026-0001,"
        " ISS-2026-0001), then those with every word in the title, then the rest; ties newest"
        " change first. A change is found within about a second. Partner clients may not"
        " search (FORBIDDEN).",
        permission_classes=[NotPartner],
    )
    async def search(
        self,
        info: Info,
        text: Annotated[
            str,
            strawberry.argument(
                description="The words to find; empty or only whitespace is refused."
            ),
        ],
        kinds: Annotated[
            list[SearchKind] | None,
            strawberry.argument(description="Only these kinds of record; null: every kind."),
        ] = None,
        first: First = 20,
        after: After = None,
    ) -> Connection[SearchHit]:
        context = info.context
        page = page_request(first, after, context.runtime.settings.graphql_max_page)
        search = _search(text, kinds)
        caller = context.principal
        async with context.runtime.pool.acquire() as conn:
            rows = await repo.find(
                conn, search, caller, after=_after(page.after), limit=page.limit + 1
            )
            total = await repo.count(conn, search, caller) if wants_total_count(info) else None
        return build_connection(
            rows, page, _key, lambda hit: SearchHit.from_model(hit, search.terms), total
        )
