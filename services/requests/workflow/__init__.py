"""Status moves of a request (submit, decide, activate, cancel) and their history."""
