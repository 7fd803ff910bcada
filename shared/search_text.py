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
from collections.abc import Iterable, Sequence

from shared.db import Connection

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


def matching(row: str, grams: str, terms: str) -> str:
    """SQL: the record ``row`` (the alias of a table with ``search_text`` and
    ``search_grams``) holds the n-grams of the ``text[]`` parameter ``grams`` (the GIN index
    narrows to those) and has each term of ``terms`` in its text (:func:`query_terms`)."""
    return (
        f"{row}.search_grams @> {grams}::text[] AND NOT EXISTS ("
        f"SELECT 1 FROM unnest({terms}::text[]) term WHERE strpos({row}.search_text, term) = 0)"
    )


async def fill_missing(
    conn: Connection, table: str, parts: Sequence[str], *, batch: int = 1000
) -> int:
    """Fill ``search_text`` and ``search_grams`` of the rows of ``table`` (keyed by ``id``)
    that have none, from its columns ``parts`` (text, or text[] such as tags) as
    :func:`document` builds them on every write; returns how many rows it filled.

    For a migration's Python step (:mod:`shared.db`): SQL cannot compute the same n-grams
    (NFKC and case folding as Python does them, runs of Han characters and of letters in
    every script), so rows written before the columns existed are filled here."""
    columns = ", ".join(parts)
    filled, last = 0, ""
    while True:  # on from the last id: a walk from the start would pass the filled ones again
        rows = await conn.fetch(
            f"SELECT id, {columns} FROM {table} WHERE search_text IS NULL AND id > $2"
            " ORDER BY id LIMIT $1",
            batch,
            last,
        )
        if not rows:
            return filled
        last = rows[-1]["id"]
        values = [(r["id"], *document(*(r[p] or "" for p in parts))) for r in rows]
        await conn.executemany(
            f"UPDATE {table} SET search_text = $2, search_grams = $3 WHERE id = $1", values
        )
        filled += len(rows)
