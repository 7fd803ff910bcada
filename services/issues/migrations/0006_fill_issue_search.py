"""Fill ``search_text`` and ``search_grams`` (0005) of the issues stored before them.

A Python step of the migrations runner (:mod:`shared.db`), run once in its own transaction:
the n-grams are computed by :func:`shared.search_text.document`, which SQL cannot reproduce.
From here on ``repository.insert_issue`` writes both (an issue's code, title and description
do not change once it is reported). Issues the previous release reports while a rollout is
under way have none, so `text` does not find them, until this step is run again (it fills only
rows without search text).
"""

from shared.db import Connection
from shared.search_text import fill_missing


async def apply(conn: Connection) -> None:
    await fill_missing(conn, "issues", ["code", "title", "description"])
