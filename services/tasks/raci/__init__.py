"""RACI (handbook template 2): replacing a task's assignments, the request's matrix with its
gaps, and what a person is R, A, C or I for.

``matrix`` is pure (rows, columns, problems); ``service`` holds ``setRaci``; ``types`` the
GraphQL types and their DataLoaders.
"""
