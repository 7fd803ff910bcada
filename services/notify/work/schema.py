"""myWork's queries: the caller's items, and their counts for badges."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import strawberry

from services.notify.work import repository as repo
from services.notify.work.models import StoredWorkItem
from services.notify.work.types import WorkItem, WorkSummary
from shared.events.contracts.work import WorkKind
from shared.graphql.child_pages import After, First
from shared.graphql.context import Info
from shared.graphql.errors import PublicError
from shared.graphql.pagination import Connection, build_connection, page_request, wants_total_count


def _key(item: StoredWorkItem) -> list[Any]:
    return [item.sort_due.isoformat(), item.urgency, item.source, item.key]


def _after(key: list[Any] | None) -> list[Any] | None:
    """The cursor's key with its due time read back; a key of another list is refused."""
    if key is None:
        return None
    try:
        sort_due, urgency, source, item_key = key
        if not (isinstance(urgency, int) and isinstance(source, str) and isinstance(item_key, str)):
            raise ValueError
        return [datetime.fromisoformat(sort_due), urgency, source, item_key]
    except (TypeError, ValueError):
        raise PublicError("`after` is not a cursor of this list") from None


@strawberry.type
class WorkQuery:
    @strawberry.field(
        description="Everything the caller must act on now, across tasks, requests,"
        " secondments, issues, meetings and progress reports: what is due first (overdue"
        " first, no due time last), then by urgency. Department items reach the department's"
        " members (approvals only its head). An item leaves the list once the action that"
        " settles it is done (normally within a second). Partner clients have none."
    )
    async def my_work(
        self,
        info: Info,
        kinds: Annotated[
            list[WorkKind] | None,
            strawberry.argument(description="Only these kinds; null: every kind."),
        ] = None,
        first: First = 20,
        after: After = None,
    ) -> Connection[WorkItem]:
        context = info.context
        page = page_request(first, after, context.runtime.settings.graphql_max_page)
        me, departments = context.principal.sub, context.principal.departments
        now = datetime.now(UTC)
        async with context.runtime.pool.acquire() as conn:
            rows = await repo.page_of(
                conn,
                me,
                departments,
                now=now,
                kinds=kinds,
                after=_after(page.after),
                limit=page.limit + 1,
            )
            total = None
            if wants_total_count(info):
                total = await repo.count_of(conn, me, departments, now=now, kinds=kinds)
        return build_connection(rows, page, _key, lambda i: WorkItem.from_model(i, now), total)

    @strawberry.field(
        description="How many items `myWork` holds, overdue and at risk, in all and per kind:"
        " one indexed statement, cheap enough to poll every 30 s."
    )
    async def my_work_summary(self, info: Info) -> WorkSummary:
        context = info.context
        async with context.runtime.pool.acquire() as conn:
            counts = await repo.summary_of(
                conn,
                context.principal.sub,
                context.principal.departments,
                now=datetime.now(UTC),
            )
        return WorkSummary.from_counts(counts)
