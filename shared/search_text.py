"""Search keys for free text (lessons, requests, tasks, issues, people, the search box), the
same for Chinese and English.

Chinese has no spaces between words, so word-based full-text search does not find 复盘 inside
项目复盘会. Text is normalised (NFKC, case-folded) and cut into runs of Han characters and runs
of letters/digits. Han runs give character bigrams, Latin runs trigrams; a query's n-grams
must all be among a record's (a GIN ``@>`` on its ``search_grams``), and then every query term
must occur in its ``search_text`` as a substring. Terms too short for an n-gram are checked by
substring only.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUNS = re.compile(rf"[{_HAN}]+|[^\W{_HAN}_]+")


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _is_han(run: str) -> bool:
    return re.match(rf"[{_HAN}]", run) is not None


def _run_grams(run: str) -> set[str]:
    size = 2 if _is_han(run) else 3
    return {run[i : i + size] for i in range(len(run) - size + 1)}


def grams(text: str) -> set[str]:
    """N-grams of every run in ``text`` (normalised)."""
    result: set[str] = set()
    for run in _RUNS.findall(normalise(text)):
        result |= _run_grams(run)
    return result


def document(*parts: str | Iterable[str]) -> tuple[str, list[str]]:
    """``search_text`` and ``search_grams`` of a record made of ``parts`` (texts, or lists of
    texts such as tags)."""
    texts: list[str] = []
    for part in parts:
        texts.extend([part] if isinstance(part, str) else part)
    text = normalise("\n".join(texts))
    return text, sorted(grams(text))


def query_terms(search: str) -> tuple[list[str], list[str]]:
    """Whitespace-separated terms (normalised) and the n-grams all of them need."""
    terms = [t for t in normalise(search).split() if t]
    needed: set[str] = set()
    for term in terms:
        needed |= grams(term)
    return terms, sorted(needed)
