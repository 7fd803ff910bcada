"""Calendar feeds: a person's (or a request's) meetings and deadlines as iCalendar, behind a
secret per-person token, for calendar clients that subscribe to a URL (docs/frontend.md)."""
