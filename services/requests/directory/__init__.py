"""The directory: regions with work calendars, departments, people."""
