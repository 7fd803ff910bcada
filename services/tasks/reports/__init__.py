"""Progress reports (handbook template 3): submission with delay reasons, who has not
reported, the deadline reminder and ``tasks.report.missing``, and raising a reported problem
as an issue.

``models`` and ``periods`` are pure; ``repository`` holds the SQL; ``service`` the use
cases and event handlers; ``timers`` the deadline timers; ``types`` the GraphQL types.
"""
