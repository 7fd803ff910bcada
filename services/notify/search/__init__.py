"""The search box: one query over requests, tasks, issues, lessons and people."""
