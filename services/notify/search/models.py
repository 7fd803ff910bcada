"""What the search box finds, and the excerpt it shows of each hit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shared.events.contracts.search import SearchKind
from shared.search_text import normalise, query_terms


class SearchMatch(StrEnum):
    """How a hit matched, in the order hits are ranked."""

    CODE = "CODE"
    TITLE = "TITLE"
    TEXT = "TEXT"


RANKS = list(SearchMatch)
"""A hit's rank is the position of its match here (SQL computes the same number)."""


@dataclass(frozen=True)
class Search:
    """What to look for: every term must be in a document (its n-grams narrow the search)."""

    terms: list[str]
    grams: list[str]
    code_key: str
    """The whole query, normalised: a record whose code it is ranks first."""
    kinds: Sequence[SearchKind] | None = None
    """Only records of these kinds; None: every kind."""

    @classmethod
    def of(cls, text: str, kinds: Sequence[SearchKind] | None = None) -> Search:
        terms, grams = query_terms(text)
        return cls(terms, grams, normalise(text.strip()), kinds)


@dataclass(frozen=True)
class SearchHit:
    kind: SearchKind
    id: str
    request_id: str | None
    code: str | None
    title: str
    body: str
    rank: int
    changed_at: datetime

    @property
    def match(self) -> SearchMatch:
        return RANKS[self.rank]


SNIPPET_LENGTH = 100
"""Characters of a snippet, without the ellipses."""
_LEAD = 30
"""Characters of context kept before the first match."""


def _first_match(text: str, terms: Sequence[str]) -> int | None:
    """Where in ``text`` the earliest of the (normalised) ``terms`` starts, if any does.

    Terms are normalised (NFKC, case-folded), which may change the length of the text, so
    the text is normalised one character at a time, remembering where each piece came from.
    """
    folded: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        piece = normalise(char)
        folded.append(piece)
        origin.extend([index] * len(piece))
    haystack = "".join(folded)
    found = [at for at in (haystack.find(term) for term in terms) if at >= 0]
    return origin[min(found)] if found else None


def snippet(body: str, terms: Sequence[str]) -> str:
    """A short plain-text excerpt of ``body`` around the first search term found in it (its
    beginning when the terms are only in the title or code), on one line, ``…`` where cut."""
    text = " ".join(body.split())
    at = _first_match(text, terms) or 0
    start = max(0, min(at - _LEAD, len(text) - SNIPPET_LENGTH))  # a full window near the end
    end = start + SNIPPET_LENGTH
    return ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")
