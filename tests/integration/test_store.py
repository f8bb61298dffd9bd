"""The store: one migration history that makes the same schema on SQLite and PostgreSQL,
databases of the first round taken over, concurrent starts migrating once; on PostgreSQL,
other processes' events announced by LISTEN/NOTIFY, not polled."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text
from sqlmodel import Session, SQLModel, col, select

from queue_protocol.client import Credentials, EventReceived, QueueClient
from queue_protocol.codec import encode
from queue_protocol.errors import ErrorCode
from queue_protocol.messages import CallNext, ConfigChanged, Hello, IssueTicket, Rate, Role
from queue_server import cli, security
from queue_server.domain.numbering import ticket_id
from queue_server.server import QueueServer, running
from queue_server.service import HallService, Principal
from queue_server.store.engine import (
    HEAD,
    MIGRATIONS,
    SchemaOutdated,
    make_engine,
    make_plain_engine,
    stored_revision,
)
from queue_server.store.tables import EventRow, RatingRow
from tests.conftest import DISPLAY_TOKEN, MiddayClock

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


@contextlib.contextmanager
def first_schema(db_url: str) -> Iterator[Connection]:
    """A database at the first schema (migration 0001), its transaction open for the rows
    the test puts in it."""
    old = make_plain_engine(db_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with old.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0001")
            yield connection
    finally:
        old.dispose()


FIRST_ROUND_ROWS = """
INSERT INTO hall (id, name, timezone, policy, max_wait_minutes, rank_penalty,
  no_show_after_recalls, reinstate_grace_minutes, notice, hours, holidays,
  lock_after_failures, lock_minutes, close_out_grace_minutes, window_offline_minutes,
  staff_multiple_windows, config_version, last_seq, closed_out_at)
  VALUES (1, '旧大厅', 'Asia/Shanghai', 'weighted_wait', 60, 0.5, 3, 30, '', '{}', '[]',
  10, 15, 30, 5, false, 1, 1, NULL);
INSERT INTO category (code, name, prefix, position, target_wait_minutes, daily_capacity,
  service_minutes) VALUES ('QY', '企业开办', 'A', 0, 15, NULL, 10.0);
INSERT INTO "window" (number, name, zone, profile, state, staff, pause_reason, ticket,
  connected) VALUES (1, '1号窗口', '', '[]', 'closed', NULL, NULL, NULL, false);
INSERT INTO staff (account, name, role, password_hash, disabled)
  VALUES ('ck01', '王芳', 'staff', :hash, false);
INSERT INTO appointment_rules (id, check_in_before_minutes, check_in_after_minutes, slots)
  VALUES (1, 15, 15, '[]');
INSERT INTO ticket (id, day, number, category, item, priority, state, issued_at, queued_at,
  call_times, recall_count, transfers, chain_step, chain)
  VALUES (:ticket, :day, 'A001', 'QY', NULL, 'normal', 'waiting', :at, :at, '[]', 0, '[]',
  0, '[]');
INSERT INTO ticket (id, day, number, category, item, priority, state, issued_at, queued_at,
  call_times, recall_count, transfers, chain_step, chain, finished_at, "window", staff,
  rating, rating_comment, rating_channel)
  VALUES (:rated, :day, 'A000', 'QY', NULL, 'normal', 'done', :at, :at, '[]', 0, '[]', 0,
  '[]', :at, 1, 'ck01', 5, '太慢', 'qr');
INSERT INTO service (id, ticket, day, step, step_name, category, "window", staff, called_at,
  started_at, ended_at, outcome)
  VALUES (1, :rated, :day, 0, NULL, 'QY', 1, 'ck01', :at, :at, :at, 'done');
INSERT INTO number_counter (day, category, last) VALUES (:day, 'QY', 1);
INSERT INTO event (seq, at, name, payload) VALUES (1, :at, 'config_changed', :event);
"""


@pytest.mark.parametrize("stamped", [True, False], ids=["at-0001", "before-migrations"])
def test_a_first_round_database_is_taken_over_with_its_tickets(db_url: str, stamped: bool) -> None:
    """A database of the first schema — made by the migration at 0001, or before migrations
    existed — is migrated with its one hall: the hall is "main", its waiting ticket is
    called, its numbering goes on, its events replay with their seq; the rating kept on a
    ticket row is the rating of that ticket's service, which is not rated again."""
    clock = MiddayClock()
    now = clock()
    today = now.astimezone(ZoneInfo("Asia/Shanghai")).date()
    with first_schema(db_url) as connection:
        if not stamped:
            connection.execute(text("DROP TABLE alembic_version"))
        event = ConfigChanged(seq=1, at=now, config_version=1, what="hall configuration imported")
        for statement in FIRST_ROUND_ROWS.split(";")[:-1]:
            connection.execute(
                text(statement),
                {
                    "hash": security.hash_password("yichuang"),
                    "ticket": ticket_id(today, "A001"),
                    "rated": ticket_id(today, "A000"),
                    "day": today.isoformat(),
                    "at": (now - timedelta(minutes=10)).replace(tzinfo=None),
                    "event": encode(event),
                },
            )
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            assert stored_revision(connection) == HEAD
        service = HallService(engine, clock=clock)
        assert service.code == "main"
        window = Principal(role=Role.WINDOW, key="staff:ck01", staff="ck01", window=1)
        service.open_session(window, Hello(id="h", role=Role.WINDOW), takeover=True)
        called = service.execute(window, CallNext(id="c"))
        assert called.ok and '"number":"A001"' in called.reply
        kiosk = Principal(role=Role.KIOSK, key="device:k")
        issued = service.execute(kiosk, IssueTicket(id="i", category="QY"))
        assert issued.ok and '"number":"A002"' in issued.reply
        with Session(engine) as session:
            [first, *_] = session.exec(select(EventRow).order_by(col(EventRow.seq))).all()
        assert (first.hall_id, first.seq, first.name) == (1, 1, "config_changed")
        assert [e.seq for e in issued.events] == sorted(e.seq for e in issued.events)
        assert issued.events[-1].seq == service.last_seq()
        with Session(engine) as session:
            [moved] = session.exec(select(RatingRow)).all()
        assert (moved.ticket, moved.step, moved.level, moved.channel) == (
            ticket_id(today, "A000"),
            0,
            5,
            "qr",
        )
        assert (moved.comment, moved.window, moved.staff, moved.id) == ("太慢", 1, "ck01", 1)
        again = service.execute(window, Rate(id="r", ticket="A000", level=1))
        assert again.error is ErrorCode.INVALID_STATE and '"reason":"rated"' in again.reply
    finally:
        engine.dispose()


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


def test_migrate_says_what_it_did(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`queue-server migrate` brings a database of the first schema to HEAD, then finds
    nothing to do."""
    with first_schema(db_url):
        pass
    assert cli.main(["migrate", "--db", db_url]) == 0
    assert f"migrated from 0001 to {HEAD}" in capsys.readouterr().out
    assert cli.main(["migrate", "--db", db_url]) == 0
    assert "nothing to do" in capsys.readouterr().out
