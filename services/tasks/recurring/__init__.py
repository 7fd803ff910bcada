"""Recurring operations (the handbook's monthly finance close): an RFC 5545 RRULE read in a
region's time zone, one task per participating region ahead of time, and a consolidation
task that depends on them.

``rules`` is pure (occurrences per region calendar); ``service`` creates the series and
generates instances (also from its ``recurring.extend`` timer); ``types`` is GraphQL.
"""
