"""The four Liaison subgraphs.

Each service package follows the same layout: ``app`` (ASGI app and ``MIGRATIONS``),
``schema`` (``create_schema``), ``types``, ``service``, ``repository``, ``models`` and
``worker`` (``settings()`` for arq), so tools and tests find everything by convention.
"""

SERVICE_NAMES = ("requests", "tasks", "issues", "notify")
