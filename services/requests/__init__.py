"""requests subgraph: directory, collaboration requests and their whole lifecycle.

Layout: the top-level modules hold what every concern shares — ``models`` (directory and
request data), ``repository`` (request form SQL), ``service`` (create and edit), ``state``
(locking, who-may-act checks, history and whole-state events), ``types`` (GraphQL types of the
request and its DataLoaders), ``schema`` (merges every part into one schema).
Each further concern is a subpackage with the same files as needed — ``models``,
``repository``, ``service``, ``types`` and ``schema`` (its inputs, payloads and its
``...Query`` / ``...Mutation`` part): ``directory`` (regions, departments, people),
``workflow`` (status moves), ``meetings`` (also ``slots`` and the iCalendar ``invite``
route), ``kickoff`` (communication plan, risks, ``channels``), ``acceptance`` (also lessons
and their ``search``), ``secondments`` and ``folders``. Timer handlers are registered in
``worker``.
"""
