"""Fill ``search_text`` and ``search_grams`` (0012) of the requests and people stored before
them.

A Python step of the migrations runner (:mod:`shared.db`), run once, in its own transaction:
the n-grams are computed in Python (:func:`shared.search_text.document`), which SQL cannot
reproduce. From here on the repositories write both columns with every change of what they
are made of. Rows the previous release writes while a rollout is under way have none (the
``text`` filters do not find them) until they are next edited.
"""

from services.requests import repository
from shared.db import Connection
from shared.search_text import fill_missing


async def apply(conn: Connection) -> None:
    await repository.fill_search_columns(conn)
    await fill_missing(conn, "people", ["name", "email"])
