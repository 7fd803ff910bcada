"""GraphQL types of acceptance and lessons, and their DataLoaders."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from services.requests.acceptance import repository as repo
from services.requests.directory.types import Person, person_or_none
from services.requests.types import CollabRequest, Goal, load_goals, visible_request
from shared.graphql.context import Info


@strawberry.type(description="Acceptance of a request against its goals.")
class Acceptance:
    tolerance_percent: Decimal = strawberry.field(
        description="How far from target (percent of it) still counts as met; set by the approver."
    )
    request_id: strawberry.Private[str]

    async def _goals(self, info: Info) -> list[Goal]:
        return [
            Goal.from_model(g) for g in await info.context.loader(load_goals).load(self.request_id)
        ]

    @strawberry.field(description="Every goal with its actual value and whether it was met.")
    async def goals(self, info: Info) -> list[Goal]:
        return await self._goals(info)

    @strawberry.field(description="Every goal has its actual value (sign-off is possible).")
    async def complete(self, info: Info) -> bool:
        return all(g.actual is not None for g in await self._goals(info))

    @strawberry.field(description="Number of goals met so far.")
    async def met_count(self, info: Info) -> int:
        return sum(1 for g in await self._goals(info) if g.met)


@strawberry.type(description="A lesson learned, searchable in Chinese and English.")
class Lesson:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    title: str = strawberry.field(description="Short statement of the lesson.")
    body: str = strawberry.field(description="What happened and what to do next time.")
    tags: list[str] = strawberry.field(description="Free tags, e.g. `时区`, `budget`.")
    created_at: datetime = strawberry.field(description="When it was written down.")
    request_id: strawberry.Private[str]
    author_id: strawberry.Private[str]

    @classmethod
    def from_model(cls, lesson: repo.Lesson) -> Lesson:
        return cls(
            id=strawberry.ID(lesson.id),
            title=lesson.title,
            body=lesson.body,
            tags=list(lesson.tags),
            created_at=lesson.created_at,
            request_id=lesson.request_id,
            author_id=lesson.author_id,
        )

    @strawberry.field(description="The request it was learned on.")
    async def request(self, info: Info) -> CollabRequest | None:
        return await visible_request(info, self.request_id)

    @strawberry.field(description="Who wrote it.")
    async def author(self, info: Info) -> Person | None:
        return await person_or_none(info, self.author_id)
