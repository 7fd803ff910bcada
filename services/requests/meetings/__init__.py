"""Meetings of a request: scheduling, agenda, iCalendar invites, minutes, slot suggestions."""
