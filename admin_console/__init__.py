"""queue-admin: the supervisor console (值班管理台) for staff of role supervisor or admin."""
