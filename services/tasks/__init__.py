"""The tasks subgraph: tasks of a collaboration request, RACI, reminders, progress reports
and recurring operations.

Layout: the task itself lives at the top level with the usual roles (``models``,
``repository`` = SQL, ``rules`` = validation and permissions, ``service`` = use cases,
``types`` = GraphQL types and DataLoaders, ``inputs``, ``schema``, ``worker``), plus
``entities`` (the ``CollabRequest`` and ``Person`` extensions that gather every concern),
``parties`` (RACI entries resolved to people and calendars), ``action_items`` (the
minutes consumer) and ``request_end`` (an ended request's timers stop). Each further
concern is a subpackage with the same roles, so its files are found by name: ``raci/``
(matrix, setRaci, assignments), ``reminders/`` (task timers), ``reports/`` (progress
reports, deadlines, problems to issues), ``recurring/`` (RRULE series).
Pure computation sits in its own module (``raci/matrix``, ``reminders/schedule``,
``reports/periods``, ``recurring/rules``) and is tested without a database.
"""
