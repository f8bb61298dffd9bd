"""Engine factory: nothing is connected at import time."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import platformdirs
from sqlalchemy import Engine, event, inspect
from sqlmodel import Session, SQLModel, create_engine

from queue_server.store import tables  # noqa: F401  (registers the tables)

ENV_DATABASE_URL = "YICHUANG_DATABASE_URL"
ENV_DATA_DIR = "YICHUANG_DATA_DIR"
READ_ONLY = "yichuang_read_only"  # execution option of read_session()


def data_dir() -> Path:
    configured = os.environ.get(ENV_DATA_DIR)
    return Path(configured) if configured else Path(platformdirs.user_data_dir("yichuang"))


def default_database_url() -> str:
    return os.environ.get(ENV_DATABASE_URL) or f"sqlite:///{data_dir() / 'hall.db'}"


def make_engine(url: str | None = None) -> Engine:
    """An engine for `url` (default: the SQLite file under the data directory).

    SQLite runs in WAL mode with synchronous=FULL so a commit survives power loss, and every
    transaction starts with BEGIN IMMEDIATE so writers queue for the lock up front instead
    of failing on upgrade; a command's read-decide-write is therefore serialised even
    across processes sharing the file.
    """
    url = url or default_database_url()
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        _make_sqlite_durable(engine)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    SQLModel.metadata.create_all(engine)
    check_schema(engine)
    return engine


class SchemaOutdated(RuntimeError):
    """The database was made by an older Yichuang: its tables lack columns of this one."""


def check_schema(engine: Engine) -> None:
    """Refuse, with a clear way out, a database whose tables lack this version's columns
    (create_all adds missing tables, never missing columns; migrations come with Alembic)."""
    inspector = inspect(engine)
    missing = [
        f"{table.name}.{column.name}"
        for table in SQLModel.metadata.sorted_tables
        if inspector.has_table(table.name)
        for column in table.columns
        if column.name not in {c["name"] for c in inspector.get_columns(table.name)}
    ]
    if missing:
        raise SchemaOutdated(
            f"this database was made by an older version of Yichuang (it lacks "
            f"{', '.join(missing[:5])}{' …' if len(missing) > 5 else ''}); export its hall "
            "with that version (`queue-server export hall.toml`), then `queue-server init "
            "hall.toml` on a new database"
        )


def _make_sqlite_durable(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's BEGIN below be the only transaction control.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # On the driver's connection: this runs before every batch of the hall's writer.
        driver = connection.connection.driver_connection
        if connection.get_execution_options().get(READ_ONLY):
            driver.execute("BEGIN")  # deferred: a WAL reader takes no lock
        else:
            driver.execute("BEGIN IMMEDIATE")


def read_only(engine: Engine) -> Engine:
    """The engine for reads only: on SQLite its transactions take no write lock, so they
    never wait for the hall's writer nor make it wait (a login reads the account this way)."""
    return engine.execution_options(**{READ_ONLY: True})


def read_session(engine: Engine) -> Session:
    """A session for reads only (see read_only)."""
    return Session(read_only(engine))
