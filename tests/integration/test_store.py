"""The store: one migration history that makes the same schema on SQLite and PostgreSQL,
databases of the first round taken over, concurrent starts migrating once; on PostgreSQL,
other processes' events announced by LISTEN/NOTIFY, not polled."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, inspect, text
from sqlmodel import SQLModel

from queue_protocol.client import Credentials, EventReceived, QueueClient
from queue_protocol.messages import Role
from queue_server.server import QueueServer, running
from queue_server.service import HallService
from queue_server.store.engine import (
    HEAD,
    MIGRATIONS,
    SchemaOutdated,
    make_engine,
    make_plain_engine,
    stored_revision,
)
from tests.conftest import DISPLAY_TOKEN

pytestmark = pytest.mark.both_stores


def test_head_is_the_newest_migration() -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_heads() == [HEAD]


def test_migrations_make_the_tables_the_code_uses(db_url: str) -> None:
    """Upgraded from empty, the database is what the table models say: no column, type,
    index or constraint differs (Alembic's own comparison)."""
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            assert stored_revision(connection) == HEAD
            diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
        assert diff == []
    finally:
        engine.dispose()


def test_a_hall_runs_on_a_migrated_database(db_url: str, hall_config: dict) -> None:
    engine = make_engine(db_url)
    try:
        service = HallService(engine)
        service.import_config(hall_config)
        assert len(service.list_windows()) == 15
    finally:
        engine.dispose()


def test_programs_starting_together_migrate_once(db_url: str) -> None:
    """Four programs open one empty database at once: each finds it migrated, none fails."""
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def open_it() -> None:
        try:
            start.wait(timeout=30)
            make_engine(db_url).dispose()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    engine = make_plain_engine(db_url)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
            assert stored_revision(connection) == HEAD
    finally:
        engine.dispose()


def test_a_database_of_a_newer_version_is_refused(db_url: str) -> None:
    make_engine(db_url).dispose()
    engine = make_plain_engine(db_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
        with pytest.raises(SchemaOutdated, match="9999"):
            make_engine(db_url)
    finally:
        engine.dispose()


def test_a_first_round_database_is_taken_over_with_its_data(
    tmp_path: Path, hall_config: dict
) -> None:
    """A database made before migrations (the tables created from the models) is marked as
    being at the baseline and keeps its hall."""
    db_url = f"sqlite:///{tmp_path / 'old.db'}"
    old = create_engine(db_url)
    SQLModel.metadata.create_all(old)
    old.dispose()
    service = HallService(make_engine(db_url))
    service.import_config(hall_config)
    engine = make_engine(db_url)  # the next start finds it migrated
    try:
        with engine.connect() as connection:
            assert stored_revision(connection) == HEAD
            assert "alembic_version" in inspect(connection).get_table_names()
        assert len(HallService(engine).list_windows()) == 15
    finally:
        engine.dispose()
    with sqlite3.connect(tmp_path / "old.db") as raw:
        assert raw.execute("SELECT name FROM hall").fetchone() is not None


# -- PostgreSQL: other processes' events are announced, not polled -------------------------


@pytest.fixture
async def listening_server(
    store: str, engine: Engine, hall_config: dict
) -> AsyncIterator[QueueServer]:
    """The server on PostgreSQL with its store poller all but off (once an hour): what it
    learns of other processes' writes it learns from LISTEN/NOTIFY (SQLite's server polls:
    test_replay.py)."""
    assert store == "postgresql"
    service = HallService(engine)
    service.import_config(hall_config)
    async with running(service, port=0, poll_interval=3600) as srv:
        async with asyncio.timeout(30):  # listening before the test writes
            await srv.listening.wait()
        yield srv


async def _display(server: QueueServer) -> QueueClient:
    client = QueueClient(
        f"ws://127.0.0.1:{server.port}", Credentials(role=Role.DISPLAY, token=DISPLAY_TOKEN)
    )
    await client.start()
    return client


async def _next_profile(client: QueueClient, window: int, timeout: float = 15.0) -> list[str]:
    async with asyncio.timeout(timeout):
        while True:
            notice = await client.next_notice()
            if isinstance(notice, EventReceived) and notice.event.name == "window_changed":
                view = notice.event.window  # type: ignore[union-attr]
                if view.number == window:
                    return list(view.profile)


@pytest.mark.postgresql
async def test_another_process_change_is_announced_not_polled(
    listening_server: QueueServer, db_url: str
) -> None:
    display = await _display(listening_server)
    other_engine = make_engine(db_url)  # another writer: the CLI, another server
    try:
        await asyncio.to_thread(HallService(other_engine).set_profile, 14, ["CJ", "SW"])
        assert await _next_profile(display, 14) == ["CJ", "SW"]
    finally:
        other_engine.dispose()
        await display.close()


@pytest.mark.postgresql
async def test_a_lost_listening_connection_is_opened_again(
    listening_server: QueueServer, db_url: str
) -> None:
    """PostgreSQL drops the listener's connection (a restart, a network cut): the server
    listens again and catches up with what was committed meanwhile."""
    display = await _display(listening_server)
    other_engine = make_engine(db_url)
    try:
        with other_engine.begin() as connection:
            ended = connection.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid()"
                )
            ).scalar()
        assert ended == 1
        # Written while no one listens (or just after): the catch-up on listening again,
        # not a notification, is what brings it.
        await asyncio.to_thread(HallService(other_engine).set_profile, 13, ["SW"])
        assert await _next_profile(display, 13) == ["SW"]
    finally:
        other_engine.dispose()
        await display.close()
