"""Engine factory: nothing is connected at import time."""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import platformdirs
from sqlalchemy import Connection, Engine, event, inspect, text
from sqlmodel import Session, create_engine

from queue_server.store import tables  # noqa: F401  (registers the tables)

log = logging.getLogger(__name__)

ENV_DATABASE_URL = "YICHUANG_DATABASE_URL"
ENV_DATA_DIR = "YICHUANG_DATA_DIR"
READ_ONLY = "yichuang_read_only"  # execution option of read_session()


def data_dir() -> Path:
    configured = os.environ.get(ENV_DATA_DIR)
    return Path(configured) if configured else Path(platformdirs.user_data_dir("yichuang"))


def default_database_url() -> str:
    return os.environ.get(ENV_DATABASE_URL) or f"sqlite:///{data_dir() / 'hall.db'}"


def make_engine(url: str | None = None) -> Engine:
    """An engine for `url` (default: the SQLite file under the data directory), its
    database migrated to this version's schema (`migrate`)."""
    engine = make_plain_engine(url)
    migrate(engine)
    return engine


def make_plain_engine(url: str | None = None) -> Engine:
    """An engine for `url` as it is: no schema work.

    SQLite runs in WAL mode with synchronous=FULL so a commit survives power loss, and every
    transaction starts with BEGIN IMMEDIATE so writers queue for the lock up front instead
    of failing on upgrade; a command's read-decide-write is therefore serialised even
    across processes sharing the file. PostgreSQL (`postgresql://…`, through psycopg 3)
    runs its default READ COMMITTED: the hall's writer holds the hall row FOR UPDATE for
    each batch (queue_server/hall/core.py), and its conditional update of `last_seq`
    (queue_server/hall/journal.py), which PostgreSQL re-checks against the newest committed
    row, is the second guard.
    """
    url = database_url(url or default_database_url())
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_SECONDS}
        )
        _make_sqlite_durable(engine)
        return engine
    return create_engine(url, pool_pre_ping=True)


def database_url(url: str) -> str:
    """`url` with PostgreSQL's driver named: postgresql:// and postgres:// mean psycopg 3."""
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme) :]
    return url


# -- the schema: one Alembic history for SQLite and PostgreSQL ---------------------------

HEAD = "0006"  # the newest migration in store/migrations/versions (a test holds it to it)
BASELINE = "0001"  # the schema of every database made before migrations existed
MIGRATIONS = Path(__file__).with_name("migrations")
MIGRATION_LOCK = 0x59434D47  # the advisory lock key of migrations on PostgreSQL ("YCMG")


def stored_revision(connection: Connection) -> str | None:
    """The migration a database is at (None: made before migrations, or empty)."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def migrate(engine: Engine) -> None:
    """Bring the database to HEAD: create an empty one, upgrade an older one. A database
    made before migrations existed is checked against the baseline schema and marked as
    being at it, then upgraded. Alembic is imported only when there is work to do; programs
    starting together on one database migrate it once (the first holds a lock: SQLite's
    write lock, a PostgreSQL advisory lock)."""
    with engine.connect() as connection:
        if stored_revision(connection) == HEAD:
            return
    alembic_log = logging.getLogger("alembic")
    level = alembic_log.level
    alembic_log.setLevel(logging.WARNING)  # its set-up chatter (from its import on); ours below
    try:
        _upgrade(engine)
    finally:
        alembic_log.setLevel(level)


def _upgrade(engine: Engine) -> None:
    from alembic import command
    from alembic.config import Config
    from alembic.util import CommandError

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        current = stored_revision(connection)  # again, now that this process holds the lock
        if current == HEAD:
            return
        config.attributes["connection"] = connection
        try:
            if current is None and inspect(connection).get_table_names():
                check_schema(connection, config)
                command.stamp(config, BASELINE)
                log.info("database made before migrations: taken over at %s", BASELINE)
            command.upgrade(config, "head")
            log.info("database schema migrated from %s to %s", current or "empty", HEAD)
        except CommandError as exc:  # e.g. a database of a newer Yichuang
            raise SchemaOutdated(
                f"this database's schema ({current}) is not one this version of Yichuang "
                f"knows (its newest is {HEAD}): {exc}"
            ) from exc


class SchemaOutdated(RuntimeError):
    """The database was made by an older Yichuang: its tables lack columns of this one."""


def check_schema(connection: Connection, config: Any) -> None:
    """Refuse, with a clear way out, a database made before migrations whose tables lack
    the baseline's columns (one of the first round's early versions). The baseline's
    columns are read from its own migration, run on a scratch in-memory database."""
    from alembic import command

    scratch = create_engine("sqlite://")
    try:
        with scratch.begin() as baseline_connection:
            config.attributes["connection"] = baseline_connection
            command.upgrade(config, BASELINE)
            baseline = inspect(baseline_connection)
            wanted = {
                t: {c["name"] for c in baseline.get_columns(t)}
                for t in baseline.get_table_names()
                if t != "alembic_version"
            }
    finally:
        config.attributes["connection"] = connection
        scratch.dispose()
    inspector = inspect(connection)
    missing = [  # columns of the tables it has, then the tables it lacks
        f"{table}.{column}"
        for table, columns in sorted(wanted.items())
        if inspector.has_table(table)
        for column in sorted(columns - {c["name"] for c in inspector.get_columns(table)})
    ] + [f"table {table}" for table in sorted(wanted) if not inspector.has_table(table)]
    if missing:
        raise SchemaOutdated(
            f"this database was made by an older version of Yichuang (it lacks "
            f"{', '.join(missing[:5])}{' …' if len(missing) > 5 else ''}); export its hall "
            "with that version (`queue-server export hall.toml`), then `queue-server init "
            "hall.toml` on a new database"
        )


SQLITE_BUSY_SECONDS = 30  # how long a statement waits for another process's lock


def _switch_to_wal(cursor: sqlite3.Cursor) -> None:
    """`PRAGMA journal_mode=WAL`, waiting for other connections. Switching a new file's
    journal mode needs it alone, and SQLite answers "database is locked" at once, without
    its busy timeout, to the programs that open the file meanwhile (the server and a CLI
    started together on a new database): those try again until the timeout."""
    deadline = time.monotonic() + SQLITE_BUSY_SECONDS
    pause = 0.005
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            busy = exc.sqlite_errorcode & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
            if not busy or time.monotonic() > deadline:
                raise
        time.sleep(pause)
        pause = min(2 * pause, 0.1)


def _make_sqlite_durable(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's BEGIN below be the only transaction control.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
        _switch_to_wal(cursor)
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
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
