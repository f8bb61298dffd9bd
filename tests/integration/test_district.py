"""A district on one database: two halls served by one server process, each its own.

The demo hall (donghu) and a copy of it (xinhe, with its own device tokens) share one
database and one server. Each hall numbers its own tickets and keeps its own gapless event
seq; no event, ticket, count or configuration of one hall reaches the other's clients, on
the live stream or on replay; a hello names its hall (a device's token names its own).
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from websockets.asyncio.client import connect as ws_connect

from queue_protocol.client import Credentials, QueueClient, Stopped
from queue_protocol.errors import CLOSE_HALL_RETIRED, ErrorCode
from queue_protocol.messages import CallNext, GetSnapshot, IssueTicket, Role, SetNotice
from queue_server import cli
from queue_server import server as server_module
from queue_server.server import Limits, QueueServer, running
from queue_server.service import HallService
from queue_server.store.tables import EventRow, HallRow, TicketRow
from tests.conftest import MiddayClock
from tests.integration.test_auth_roles import expect_error, expect_ok, staff_hello
from tests.integration.test_hall_day import events_until

pytestmark = pytest.mark.both_stores

XINHE_DISPLAY = "xinhe-display-token"
XINHE_KIOSK = "xinhe-kiosk-token"


def xinhe_config(hall_config: dict[str, Any]) -> dict[str, Any]:
    """The demo hall's configuration as a second hall, with device tokens of its own."""
    data = copy.deepcopy(hall_config)
    data["hall"]["code"] = "xinhe"
    data["hall"]["name"] = "新和街道便民服务中心"
    for device in data["devices"]:
        device["token"] = device["token"].replace("demo-", "xinhe-")
    return data


@pytest.fixture
def halls(engine: Engine, hall_config: dict[str, Any]) -> list[HallService]:
    clock = MiddayClock()
    donghu = HallService(engine, clock=clock, hall="donghu")
    donghu.import_config(hall_config)
    xinhe = HallService(engine, clock=clock, hall="xinhe")
    xinhe.import_config(xinhe_config(hall_config))
    return [donghu, xinhe]


@pytest.fixture
async def server(halls: list[HallService]) -> AsyncIterator[QueueServer]:
    """One server for both halls (overrides conftest's one-hall server, so `url` and
    `connect` reach this one)."""
    async with running(
        halls, port=0, limits=Limits(rate=10_000, burst=10_000), poll_interval=0.05
    ) as srv:
        yield srv


async def test_each_hall_numbers_its_own_tickets_and_keeps_its_own_seq(
    connect: Any, engine: Engine
) -> None:
    donghu = await connect("kiosk")  # the token names the hall
    xinhe = await connect("kiosk", token=XINHE_KIOSK)
    first = await donghu.request(IssueTicket, category="QY")
    other = await xinhe.request(IssueTicket, category="QY")
    second = await donghu.request(IssueTicket, category="QY")
    assert (first.ticket.number, other.ticket.number, second.ticket.number) == (
        "A001",
        "A001",
        "A002",
    )
    with Session(engine) as session:
        ids = dict(session.exec(select(HallRow.code, HallRow.id)).all())
        for code in ("donghu", "xinhe"):
            seqs = session.exec(
                select(EventRow.seq)
                .where(EventRow.hall_id == ids[code])
                .order_by(col(EventRow.seq))
            ).all()
            assert seqs == list(range(1, len(seqs) + 1)), code  # gapless, from 1
        numbers = session.exec(
            select(TicketRow.hall_id, TicketRow.number).order_by(col(TicketRow.number))
        ).all()
    assert sorted(numbers) == sorted(
        [(ids["donghu"], "A001"), (ids["donghu"], "A002"), (ids["xinhe"], "A001")]
    )


async def test_no_event_of_one_hall_reaches_the_other_live_or_on_replay(connect: Any) -> None:
    """A call at donghu reaches donghu's call screen and never xinhe's: xinhe's screen and
    supervisor (who is sent every event of the hall) see only xinhe's own, live and when
    the supervisor replays the day from seq 0."""
    donghu_screen = await connect("display")
    xinhe_screen = await connect("display", token=XINHE_DISPLAY)
    xinhe_admin = await connect("admin", hall="xinhe")
    kiosk = await connect("kiosk")
    window = await connect("window", window=11, hall="donghu")
    issued = await kiosk.request(IssueTicket, category="SW")
    await window.request(CallNext)
    called = await events_until(donghu_screen, "ticket_called")
    assert called[-1].ticket.id == issued.ticket.id
    xinhe_kiosk = await connect("kiosk", token=XINHE_KIOSK)
    own = await xinhe_kiosk.request(IssueTicket, category="CJ")
    # Sent before xinhe's own issue (donghu's came first): xinhe's events alone.
    seen = await events_until(xinhe_admin, "ticket_issued")
    assert [e.ticket.id for e in seen if e.name == "ticket_issued"] == [own.ticket.id]
    assert not any(e.name == "ticket_called" for e in seen)
    screen = await events_until(xinhe_screen, "queue_changed")
    assert not any(e.name == "ticket_called" for e in screen)
    assert {q.category for q in screen[-1].queues} == {"CJ"}
    replay = await connect("admin", hall="xinhe", since_seq=0)
    replayed = await events_until(replay, "ticket_issued")
    assert [e.ticket.id for e in replayed if e.name == "ticket_issued"] == [own.ticket.id]
    assert issued.ticket.id not in json.dumps([e.model_dump(mode="json") for e in replayed])


async def test_snapshot_counts_and_configuration_are_the_halls_own(connect: Any) -> None:
    """Waiting counts, the hall in the snapshot and a notice change stay in their hall."""
    kiosk = await connect("kiosk")
    for _ in range(3):
        await kiosk.request(IssueTicket, category="QY")
    donghu_admin = await connect("admin", hall="donghu")
    xinhe_admin = await connect("admin", hall="xinhe")
    await donghu_admin.request(SetNotice, notice="东湖今日系统维护")
    changed = await events_until(donghu_admin, "config_changed")
    assert changed[-1].what == "notice"
    xinhe_kiosk = await connect("kiosk", token=XINHE_KIOSK)
    await xinhe_kiosk.request(IssueTicket, category="CJ")
    seen = await events_until(xinhe_admin, "queue_changed")
    assert not any(e.name == "config_changed" for e in seen)
    snapshot = (await xinhe_admin.request(GetSnapshot)).snapshot
    assert (snapshot.hall.code, snapshot.hall.name) == ("xinhe", "新和街道便民服务中心")
    assert snapshot.hall.notice != "东湖今日系统维护"
    waiting = {q.category: q.waiting for q in snapshot.queues}
    assert waiting.get("QY", 0) == 0 and waiting["CJ"] == 1
    donghu = (await donghu_admin.request(GetSnapshot)).snapshot
    assert {q.category: q.waiting for q in donghu.queues}["QY"] == 3


async def test_the_same_request_id_in_two_halls_acts_in_each(connect: Any) -> None:
    """Request ids are kept per hall: the same device name and id at two halls are two
    requests, not a retry of one."""
    donghu = await connect("kiosk")
    xinhe = await connect("kiosk", token=XINHE_KIOSK)
    a = await donghu.request(IssueTicket(id="kiosk-1", category="QY"))
    b = await xinhe.request(IssueTicket(id="kiosk-1", category="QY"))
    assert a.ticket.number == b.ticket.number == "A001"
    again = await donghu.request(IssueTicket(id="kiosk-1", category="QY"))
    assert again.ticket.id == a.ticket.id  # a retry at its own hall is still a retry


async def test_a_hello_names_its_hall(url: str) -> None:
    """A staff hello to a server of several halls names one; an unknown hall is refused
    with its code; a device token is no token at another hall."""
    async with ws_connect(url) as ws:
        reply = await expect_error(ws, staff_hello("ck11", 11), ErrorCode.BAD_REQUEST)
        assert (reply["reason"], reply["halls"]) == ("hall_needed", ["donghu", "xinhe"])
        reply = await expect_error(
            ws, {**staff_hello("ck11", 11), "hall": "nowhere"}, ErrorCode.NOT_FOUND
        )
        assert (reply["reason"], reply["hall"]) == ("hall", "nowhere")
        reply = await expect_ok(ws, {**staff_hello("ck11", 11), "hall": "xinhe"})
        assert reply["snapshot"]["hall"]["code"] == "xinhe"
    async with ws_connect(url) as ws:
        kiosk = {"type": "hello", "id": "k", "role": "kiosk", "token": XINHE_KIOSK}
        await expect_error(ws, {**kiosk, "hall": "donghu"}, ErrorCode.AUTH_FAILED)
        reply = await expect_ok(ws, {**kiosk, "id": "k2"})
        assert reply["snapshot"]["hall"]["code"] == "xinhe"


async def test_a_hall_added_or_retired_while_the_server_runs(
    engine: Engine, db_url: str, hall_config: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server of every hall serves a hall made while it runs, within seconds; a retired
    hall's connections are closed (4002) and its hellos refused, the other hall untouched."""
    monkeypatch.setattr(server_module, "HALLS_EVERY", 0.1)
    donghu = HallService(engine, clock=MiddayClock(), hall="donghu")
    donghu.import_config(hall_config)
    async with running(
        donghu,
        port=0,
        limits=Limits(rate=10_000, burst=10_000),
        poll_interval=0.05,
        follow_halls=True,
    ) as srv:
        url = f"ws://127.0.0.1:{srv.port}"
        kiosk = {"type": "hello", "id": "k", "role": "kiosk", "token": XINHE_KIOSK}
        HallService(engine, hall="xinhe").import_config(xinhe_config(hall_config))
        async with srv.halls_changed:
            await asyncio.wait_for(srv.halls_changed.wait_for(lambda: "xinhe" in srv.halls), 10)
        screen = QueueClient(url, Credentials(role=Role.DISPLAY, token=XINHE_DISPLAY))
        await screen.start()
        async with ws_connect(url) as ws:
            await expect_ok(ws, kiosk)
            reply = await expect_ok(ws, {"type": "issue_ticket", "id": "i", "category": "QY"})
            assert reply["ticket"]["number"] == "A001"
            assert cli.main(["halls", "--retire", "xinhe", "--db", db_url]) == 0
            await asyncio.wait_for(ws.wait_closed(), 10)
            assert ws.close_code == CLOSE_HALL_RETIRED
        async with asyncio.timeout(10):  # the call screen stops, saying why; no reconnecting
            while not isinstance(notice := await screen.next_notice(), Stopped):
                pass
        assert notice.error is not None and notice.error.reply.reason == "hall"
        await screen.close()
        assert set(srv.halls) == {"donghu"}
        async with ws_connect(url) as ws:
            reply = await expect_error(ws, {**kiosk, "hall": "xinhe"}, ErrorCode.NOT_FOUND)
            assert reply["reason"] == "hall"
            await expect_ok(ws, {**staff_hello("ck11", 11), "id": "h2", "hall": "donghu"})
