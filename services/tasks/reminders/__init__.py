"""Task deadlines on the shared durable timer: reminders, overdue alerts, daily digests.

``schedule`` holds the pure arithmetic; ``timers`` arms, moves and cancels the timers of a
task and handles them when they fire.
"""
