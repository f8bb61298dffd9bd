"""Shared fixtures: a real SQLite file per test, the real server on port 0, real clients."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from queue_protocol.client import Credentials, QueueClient
from queue_protocol.messages import Role
from queue_server.hallconfig import demo_hall_path, read_toml
from queue_server.server import Limits, QueueServer, running
from queue_server.service import HallService
from tests.postgres import PostgresCluster, require_postgres

DEMO_PASSWORD = "yichuang"
DISPLAY_TOKEN = "demo-display-token"
ZONE_B_DISPLAY_TOKEN = "demo-display-b-token"
KIOSK_TOKEN = "demo-kiosk-token"


class Clock:
    """A settable clock for the service: tests move time instead of sleeping."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(scope="session")
def demo_config() -> dict[str, Any]:
    return read_toml(demo_hall_path())


@pytest.fixture
def hall_config(demo_config: dict[str, Any]) -> dict[str, Any]:
    """The demo hall, open around the clock so tests do not depend on the time of day."""
    data = copy.deepcopy(demo_config)
    data["hall"].pop("hours", None)
    return data


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests marked `both_stores` run on SQLite and on a real PostgreSQL (tests/postgres.py),
    those marked `postgresql` on PostgreSQL only."""
    if "store" not in metafunc.fixturenames:
        return
    if metafunc.definition.get_closest_marker("postgresql"):
        metafunc.parametrize("store", ["postgresql"], indirect=True)
    elif metafunc.definition.get_closest_marker("both_stores"):
        metafunc.parametrize("store", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
def store(request: pytest.FixtureRequest) -> str:
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """One PostgreSQL cluster for the session; each test gets a database of its own."""
    cluster = PostgresCluster(require_postgres())
    try:
        yield cluster.start()
    finally:
        cluster.stop()


@pytest.fixture
def db_url(request: pytest.FixtureRequest, store: str, tmp_path: Path) -> str:
    if store == "postgresql":
        cluster: PostgresCluster = request.getfixturevalue("postgres")
        return cluster.database()
    return f"sqlite:///{tmp_path / 'hall.db'}"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    from queue_server.store.engine import make_engine

    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


class MiddayClock:
    """Real time, moved so that the hall's local time starts at noon: a test running across
    the hall's midnight would otherwise see ticket numbers start again at 001."""

    def __init__(self, timezone: str = "Asia/Shanghai") -> None:
        local = datetime.now(UTC).astimezone(ZoneInfo(timezone))
        self.offset = local.replace(hour=12, minute=0, second=0, microsecond=0) - local

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@pytest.fixture
def service(engine: Engine, hall_config: dict[str, Any]) -> HallService:
    """A service whose clock runs in real time (the server's tests wait on real events)."""
    svc = HallService(engine, clock=MiddayClock())
    svc.import_config(hall_config)
    return svc


@pytest.fixture
def clocked_service(engine: Engine, hall_config: dict[str, Any], clock: Clock) -> HallService:
    svc = HallService(engine, clock=clock)
    svc.import_config(hall_config)
    return svc


@pytest.fixture
async def server(request: pytest.FixtureRequest, store: str) -> AsyncIterator[QueueServer]:
    """The real server on port 0, on the test's `store` (SQLite; also PostgreSQL in modules
    marked `both_stores`). Modules marked `hall_clock` get it on the settable test clock
    (`clocked_service`), others on real time (`service`)."""
    marked = request.node.get_closest_marker("hall_clock") is not None
    service: HallService = request.getfixturevalue("clocked_service" if marked else "service")
    async with running(
        service, port=0, limits=Limits(rate=10_000, burst=10_000), poll_interval=0.05
    ) as srv:
        yield srv


async def window_gone(server: QueueServer, window: int, timeout: float = 10.0) -> None:
    """Wait until the server has seen the window's client go (before moving the clock)."""
    async with asyncio.timeout(timeout), server.connections_changed:
        await server.connections_changed.wait_for(lambda: server.window_gone(window))


@pytest.fixture
def url(server: QueueServer) -> str:
    return f"ws://127.0.0.1:{server.port}"


Connect = Callable[..., Awaitable[QueueClient]]


@pytest.fixture
async def connect(url: str) -> AsyncIterator[Connect]:
    """connect("kiosk") / connect("display") / connect("window", window=3, user="ck03")."""
    clients: list[QueueClient] = []

    async def make(
        role: str,
        *,
        window: int | None = None,
        user: str | None = None,
        password: str = DEMO_PASSWORD,
        token: str | None = None,
        since_seq: int | None = None,
        hall: str | None = None,
    ) -> QueueClient:
        r = Role(role)
        if r is Role.WINDOW:
            creds = Credentials(
                role=r,
                user=user or f"ck{window:02d}",
                password=password,
                window=window,
                hall=hall,
            )
        elif r is Role.ADMIN:
            creds = Credentials(role=r, user=user or "zhuren", password=password, hall=hall)
        else:
            default = DISPLAY_TOKEN if r is Role.DISPLAY else KIOSK_TOKEN
            creds = Credentials(role=r, token=token or default, hall=hall)
        client = QueueClient(url, creds, since_seq=since_seq)
        clients.append(client)
        await client.start()
        return client

    yield make
    await asyncio.gather(*(c.close() for c in clients))
