"""``myWork``: every item on which a person must act now, across all services.

Why a read model here and not entity fields merged by the gateway: the list is one connection
sorted by due time and urgency across kinds (tasks, approvals, issues, minutes, reports), and
a gateway cannot sort or page across subgraphs. Each owning service derives the items of its
own records (its rules, its transaction: shared/projections.py) and sends the whole set of a
record as a ``work.items.changed`` event; notify, which consumes every service's events
already, keeps the latest set per record and answers the list and its counts with indexed
SQL. Department items are resolved to people when read, so a new member or head sees them at
once. An item settles when the owning service's next set leaves it out: the time that takes is
the event pipeline's (relay, stream, consumer), well under a second normally.
"""
