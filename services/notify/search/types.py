"""GraphQL types of the search box."""

from __future__ import annotations

import strawberry

from services.notify.search.models import SearchHit as StoredHit
from services.notify.search.models import SearchMatch, snippet
from services.notify.types import CollabRequest, Person
from shared.events.contracts.search import SearchKind

strawberry.enum(
    SearchKind,
    description="What a hit is: REQUEST (`request(id)`), TASK (`task(id)`), ISSUE"
    " (`issue(id)`), LESSON (a lesson learned, in its request's `lessons`), PERSON (someone"
    " in the directory).",
)
strawberry.enum(
    SearchMatch,
    description="How a hit matched, best first: CODE (the query is the record's code, e.g."
    " CR-2026-0001), TITLE (every word is in its title or name), TEXT (elsewhere in it).",
)


@strawberry.type(description="One record the search found.")
class SearchHit:
    kind: SearchKind = strawberry.field(description="What kind of record it is.")
    id: strawberry.ID = strawberry.field(
        description="The record's id: of the request, task, issue, lesson or person."
    )
    code: str | None = strawberry.field(
        description="Its readable code (requests and issues); null where it has none."
    )
    title: str = strawberry.field(description="Its title (a person's name), as stored.")
    snippet: str = strawberry.field(
        description="Plain text to show under the title: an excerpt of the record's other text"
        " (background and goals, description, lesson body and tags, e-mail and department)"
        " around the first word found there, or its beginning; `…` where cut; may be empty."
    )
    match: SearchMatch = strawberry.field(description="Why it ranks where it does.")
    request: CollabRequest | None = strawberry.field(
        description="The request it belongs to (a request's own); null for a person."
    )
    person: Person | None = strawberry.field(
        description="The person, for a PERSON hit (the requests subgraph resolves the rest)."
    )

    @classmethod
    def from_model(cls, hit: StoredHit, terms: list[str]) -> SearchHit:
        is_person = hit.kind is SearchKind.PERSON
        return cls(
            kind=hit.kind,
            id=strawberry.ID(hit.id),
            code=hit.code,
            title=hit.title,
            snippet=snippet(hit.body, terms),
            match=hit.match,
            request=CollabRequest(id=strawberry.ID(hit.request_id)) if hit.request_id else None,
            person=Person(id=strawberry.ID(hit.id)) if is_person else None,
        )
