"""Alembic's environment for Yichuang: one migration history for SQLite and PostgreSQL.

Run through `queue_server.store.engine.migrate(engine)` (every program that opens the
database calls it), which hands this script the connection to migrate in
`config.attributes["connection"]`. For a new migration, on a database at the newest one:

    .venv/bin/alembic -c queue_server/store/alembic.ini revision --autogenerate -m "…"

then read and correct what it wrote (it must run on both backends), and move HEAD in
queue_server/store/engine.py to the new revision.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection
from sqlmodel import SQLModel

from queue_server.store import tables  # noqa: F401  (registers the tables)
from queue_server.store.engine import make_plain_engine


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=True,  # SQLite alters a table by copying it
    )
    with context.begin_transaction():
        context.run_migrations()


config = context.config
given = config.attributes.get("connection")
if given is not None:  # engine.migrate: the program's own connection
    run_migrations(given)
else:  # the alembic command line: the database of alembic.ini or the environment
    engine = make_plain_engine(config.get_main_option("sqlalchemy.url") or None)
    with engine.connect() as connection:
        run_migrations(connection)
    engine.dispose()
