"""Compiled reads: a query whose every field has SQL is answered by one statement per root
field, in which PostgreSQL builds the response's JSON text; anything else runs through
Strawberry as before.

* :mod:`.sql`: how a field says where its value comes from (metadata on the Strawberry
  field, next to its GraphQL type, so there is one source of truth per field);
* :mod:`.plan`: once per document, whether it can be compiled (a static walk);
* :mod:`.render`: per request, the statement for one root field's selection;
* :mod:`.executor`: the plan cache, the statements' execution and the response bytes.
"""
