"""RACI (handbook template 2): replacing a task's assignments, the request's matrix with its
gaps, and what a person is R, A, C or I for.

``repository`` holds the SQL of a matrix's columns, rows and cells (read by the compiled
and the Python path alike); ``matrix`` finds the gaps (pure); ``service`` holds ``setRaci``;
``types`` the GraphQL types and their DataLoaders.
"""
