"""Common code every Liaison service uses: settings, database, auth, events, timers, GraphQL."""
