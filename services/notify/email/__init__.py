"""E-mail: Jinja2 templates in Chinese and English, iCalendar invites, SMTP sending."""
