"""Closing a request: acceptance against the goals, sign-off, lessons learned."""
