"""SQLModel tables and the engine factory (SQLite by default, PostgreSQL at scale)."""
