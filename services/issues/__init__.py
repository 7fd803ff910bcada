"""issues subgraph: issue log with SLA clocks (handbook template 5).

One module per concern; SQL lives only in the ``repository`` modules.

* ``models``: domain data and commands (no I/O).
* ``repository``: SQL of issues, timelines and the directory copies they read.
* ``service``: reporting (by hand, or from a raised problem) and reacting to calendar and
  directory events.
* ``lifecycle/``: the moves after reporting (``rules``: who and from which status;
  ``moves``: what each changes; the package: the use cases).
* ``sla/``: clocks (``arithmetic``, ``clocks``), timer handlers (``alerts``), escalation
  (``escalation``) and their SQL (``repository``).
* ``reports``: ``slaReport`` in one SQL statement.
* GraphQL: ``types`` and ``sla_types`` (objects), ``loaders`` (DataLoaders), ``inputs``
  (inputs and payloads), ``schema`` (queries and mutations).
* ``worker``: event and timer handlers; ``app``: the ASGI app.
"""
