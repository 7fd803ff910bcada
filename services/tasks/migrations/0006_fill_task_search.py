"""Fill ``search_text`` and ``search_grams`` (0005) of the tasks stored before them.

A Python step of the migrations runner (:mod:`shared.db`), run once, in its own transaction:
the n-grams are computed in Python (:func:`shared.search_text.document`), which SQL cannot
reproduce. From here on ``repository.insert_task`` and ``update_task`` write both columns.
Tasks the previous release writes while a rollout is under way have none (or, when it
changes a title, stale ones) until they are next edited.
"""

from shared.db import Connection
from shared.search_text import fill_missing


async def apply(conn: Connection) -> None:
    await fill_missing(conn, "tasks", ["title", "description"])
