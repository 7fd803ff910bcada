"""GraphQL types of recurring operations, with their loaders."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from services.tasks.recurring import repository as repo
from services.tasks.types import Department, Region, Task, stub
from shared.graphql.child_pages import After, First, child_connection, page_of
from shared.graphql.compiled import sql
from shared.graphql.context import Info
from shared.graphql.pagination import Connection

if TYPE_CHECKING:
    from services.tasks.entities import Person


@strawberry.type(description="The departments that do one region's instance.")
class RecurringRegion:
    region: Region = strawberry.field(
        description="The region; its calendar sets the due time.", metadata=stub("region_id")
    )
    departments: list[Department] = strawberry.field(
        description="Responsible (R) departments.",
        metadata=sql.to_many(repo.DEPARTMENTS_OF_SHARE, "TRUE", "{target}.position"),
    )


def _starts_at(root: RecurringTask) -> datetime:
    return root.dtstart


@strawberry.type(description="A recurring operation, e.g. the monthly finance close.")
class RecurringTask:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    title: str = strawberry.field(description="Title of each regional instance.")
    description: str = strawberry.field(description="What is to be done each time.")
    rrule: str = strawberry.field(description="RFC 5545 RRULE, read in local time.")
    region: Region = strawberry.field(
        description="Region whose time zone anchors the rule.", metadata=stub("region_id")
    )
    # A resolver without SQL: a wall-clock time without an offset, which the compiled path
    # does not write (its DateTime is an instant), so a selection of it runs in Python.
    starts_at: datetime = strawberry.field(
        resolver=_starts_at, description="DTSTART, local wall-clock time."
    )
    accountable: Annotated[Person, strawberry.lazy("services.tasks.entities")] = strawberry.field(
        description="A of every instance and of the consolidation.",
        metadata=stub("accountable_id"),
    )
    consolidation_title: str = strawberry.field(description="Title of each consolidation task.")
    consolidation_department: Department = strawberry.field(
        description="R of the consolidation task.", metadata=stub("consolidation_department_id")
    )
    consolidation_business_days: int = strawberry.field(
        description="Business days after the last regional due time the consolidation is due."
    )
    regions: list[RecurringRegion] = strawberry.field(
        description="One instance per region.",
        metadata=sql.to_many(repo.REGIONS_OF_SERIES, "TRUE", "{target}.position"),
    )
    dtstart: strawberry.Private[datetime]

    @classmethod
    def from_model(cls, s: repo.RecurringTask) -> RecurringTask:
        from services.tasks.entities import Person

        return cls(
            id=strawberry.ID(s.id),
            title=s.title,
            description=s.description,
            rrule=s.rrule,
            region=Region(id=strawberry.ID(s.region_id)),
            dtstart=s.dtstart,
            accountable=Person(id=strawberry.ID(s.accountable_id)),
            consolidation_title=s.consolidation_title,
            consolidation_department=Department(id=strawberry.ID(s.consolidation_department_id)),
            consolidation_business_days=s.consolidation_business_days,
            regions=[
                RecurringRegion(
                    region=Region(id=strawberry.ID(r.region_id)),
                    departments=[Department(id=strawberry.ID(d)) for d in r.department_ids],
                )
                for r in s.regions
            ],
        )

    @strawberry.field(
        description="Tasks created so far (regional and consolidation), earliest due first"
        " (then creation order; an instance whose due time was cleared comes last), 20 per"
        " page by default.",
        metadata=sql.nested_connection(repo.INSTANCES_OF_SERIES),
    )
    async def instances(
        self, info: Info, first: First = 20, after: After = None
    ) -> Connection[Task]:
        page = page_of(info, first, after)
        return await child_connection(
            info, repo.INSTANCES_OF_SERIES, str(self.id), page, Task.from_model
        )
