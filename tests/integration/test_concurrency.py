"""Thirty windows empty a queue of a thousand tickets at once, over the real protocol."""

from __future__ import annotations

import asyncio
import copy
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from queue_protocol.client import Credentials, QueueClient, ServerError
from queue_protocol.errors import ErrorCode
from queue_protocol.messages import (
    CallNext,
    FinishService,
    IssueTicket,
    Role,
    StartService,
    TicketState,
)
from queue_server.server import Limits, running
from queue_server.service import HallService
from queue_server.store.tables import EventRow, HallRow, TicketRow
from tests.conftest import KIOSK_TOKEN

pytestmark = pytest.mark.both_stores  # SQLite and a real PostgreSQL

WINDOWS = 30
TICKETS = 1000
KIOSKS = 4
PASSWORD = "password"
CATEGORIES = ("SW", "SB", "BT", "GC", "CJ")  # no daily capacity, unlike QY


@pytest.fixture
def big_hall(hall_config: dict[str, Any]) -> dict[str, Any]:
    """The demo hall with 30 全科 windows and 30 staff whose plaintext passwords are hashed."""
    data = copy.deepcopy(hall_config)
    data["windows"] = [
        {"number": n, "name": f"全科{n}号", "zone": "一楼A区", "profile": "全科"}
        for n in range(1, WINDOWS + 1)
    ]
    data["staff"] = [
        {"account": f"w{n:02d}", "name": f"窗口{n}", "role": "staff", "password": PASSWORD}
        for n in range(1, WINDOWS + 1)
    ]
    return data


@pytest.fixture
async def big_url(engine: Engine, big_hall: dict[str, Any]) -> AsyncIterator[str]:
    service = HallService(engine)
    await asyncio.to_thread(service.import_config, big_hall)
    async with running(
        service, port=0, limits=Limits(rate=10_000, burst=10_000), poll_interval=0.05
    ) as srv:
        yield f"ws://127.0.0.1:{srv.port}"


async def _kiosk(url: str, count: int, offset: int) -> list[str]:
    kiosk = QueueClient(url, Credentials(role=Role.KIOSK, token=KIOSK_TOKEN))
    try:
        await kiosk.start(timeout=60)
        ids = []
        for i in range(count):
            category = CATEGORIES[(offset + i) % len(CATEGORIES)]
            reply = await kiosk.request(IssueTicket, category=category, timeout=60)
            assert reply.ticket.state is TicketState.WAITING
            ids.append(reply.ticket.id)
        return ids
    finally:
        await kiosk.close()


async def _log_in(url: str, number: int) -> QueueClient:
    creds = Credentials(role=Role.WINDOW, user=f"w{number:02d}", password=PASSWORD, window=number)
    client = QueueClient(url, creds)
    # Thirty argon2 verifications share two threads: on a loaded machine this takes a while.
    await client.start(timeout=120)
    return client


async def _work(client: QueueClient, calls: list[tuple[int, str]]) -> None:
    """Call, start and finish until the queue is empty; record every ticket called."""
    number = client.credentials.window
    while True:
        try:
            called = await client.request(CallNext, timeout=60)
        except ServerError as exc:
            assert exc.code is ErrorCode.QUEUE_EMPTY, exc
            return
        assert called.ticket.window == number
        calls.append((number, called.ticket.id))
        await client.request(StartService, timeout=60)
        finished = await client.request(FinishService, timeout=60)
        assert finished.ticket.id == called.ticket.id
        assert finished.ticket.state is TicketState.DONE


@pytest.mark.timeout(600)  # ~40 s on an idle 2-core machine; generous for a loaded one
async def test_thirty_windows_empty_a_thousand_ticket_queue(big_url: str, engine: Engine) -> None:
    """Every ticket is called exactly once by 30 concurrent windows; none lost; seq gapless."""
    share = TICKETS // KIOSKS
    batches = await asyncio.gather(*(_kiosk(big_url, share, k) for k in range(KIOSKS)))
    issued = [ticket for batch in batches for ticket in batch]
    assert len(issued) == len(set(issued)) == TICKETS

    windows = list(await asyncio.gather(*(_log_in(big_url, n) for n in range(1, WINDOWS + 1))))
    calls: list[tuple[int, str]] = []
    try:
        await asyncio.gather(*(_work(client, calls) for client in windows))
    finally:
        await asyncio.gather(*(client.close() for client in windows))

    called = Counter(ticket for _, ticket in calls)
    assert len(calls) == TICKETS
    assert set(called) == set(issued)
    assert max(called.values()) == 1
    busy = Counter(window for window, _ in calls)
    assert len(busy) >= WINDOWS // 2, busy  # the work was really spread over the windows

    with Session(engine) as session:
        states = Counter(session.exec(select(TicketRow.state)).all())
        assert states == {TicketState.DONE.value: TICKETS}
        seqs = list(session.exec(select(EventRow.seq).order_by(col(EventRow.seq))).all())
        assert seqs == list(range(1, len(seqs) + 1))
        hall = session.get(HallRow, 1)
        assert hall is not None and hall.last_seq == seqs[-1]
        called_events = session.exec(
            select(func.count()).select_from(EventRow).where(EventRow.name == "ticket_called")
        ).one()
        assert called_events == TICKETS
        numbers = session.exec(select(TicketRow.category, TicketRow.number)).all()
        for category in CATEGORIES:
            mine = sorted(int(n[1:]) for c, n in numbers if c == category)
            assert mine == list(range(1, len(mine) + 1)), category
