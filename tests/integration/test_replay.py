"""The event stream over the real server: exactly once, in order, and resumed after a drop.

Some tests speak raw websocket frames, because the QueueClient itself drops events it has
already seen and would hide a server that sends one twice.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from queue_protocol.client import (
    Connected,
    Credentials,
    Disconnected,
    EventReceived,
    QueueClient,
    ServerError,
)
from queue_protocol.codec import encode
from queue_protocol.errors import ErrorCode
from queue_protocol.messages import (
    CallNext,
    FinishService,
    Hello,
    IssueTicket,
    Recall,
    Role,
    StartService,
)
from queue_server.hall import core
from queue_server.server import QueueServer
from queue_server.service import VISIBLE_EVENTS, HallService, Principal
from queue_server.store.engine import make_engine
from queue_server.store.tables import EventRow, TicketRow
from tests.conftest import (
    DEMO_PASSWORD,
    DISPLAY_TOKEN,
    KIOSK_TOKEN,
    ZONE_B_DISPLAY_TOKEN,
    Connect,
)

pytestmark = pytest.mark.both_stores  # SQLite and a real PostgreSQL

DISPLAY = Principal(role=Role.DISPLAY, key="device:test")
ZONE_B = "一楼B区"


# ---------------------------------------------------------------------------
# Helpers


def _events_after(engine: Engine, after: int) -> list[EventRow]:
    with Session(engine) as session:
        return list(
            session.exec(select(EventRow).where(EventRow.seq > after).order_by(col(EventRow.seq)))
        )


def _head(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.max(EventRow.seq))).one() or 0)


def _ticket_count(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(TicketRow)).one())


class RawClient:
    """A bare websocket connection: every frame the server sends, nothing filtered."""

    def __init__(self, ws: ClientConnection, hello: dict[str, Any]) -> None:
        self.ws = ws
        self.hello = hello
        self.events: list[dict[str, Any]] = []
        self.frames: list[dict[str, Any]] = []  # as received: an event, or an events batch

    @property
    def seqs(self) -> list[int]:
        return [e["seq"] for e in self.events]

    async def until_seq(self, seq: int, timeout: float = 10.0) -> None:
        """Read frames until an event with this seq or later has arrived."""
        async with asyncio.timeout(timeout):
            while not self.events or self.events[-1]["seq"] < seq:
                frame = json.loads(await self.ws.recv())
                self.frames.append(frame)
                if frame["type"] == "events":
                    self.events.extend(frame["events"])
                    continue
                assert frame["type"] == "event", frame  # a raw client sends no requests
                self.events.append(frame)


@pytest.fixture
async def raw(url: str) -> AsyncIterator[Any]:
    """raw(role, token=…, user=…, since_seq=…) -> a RawClient after its hello reply."""
    sockets: list[ClientConnection] = []

    async def make(
        role: Role,
        *,
        token: str | None = None,
        user: str | None = None,
        since_seq: int | None = None,
        batch_events: bool = False,
    ) -> RawClient:
        ws = await ws_connect(url)
        sockets.append(ws)
        password = DEMO_PASSWORD if user else None
        hello = Hello(
            id="hello-1",
            role=role,
            token=token,
            user=user,
            password=password,
            since_seq=since_seq,
            batch_events=batch_events,
        )
        await ws.send(encode(hello))
        reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert reply["type"] == "ok" and reply["re"] == "hello-1", reply
        return RawClient(ws, reply)

    yield make
    for ws in sockets:
        await ws.close()


async def _visit(kiosk: QueueClient, window: QueueClient, category: str = "SW") -> None:
    """One short visit: issue, call, recall, start, finish."""
    await kiosk.request(IssueTicket, category=category)
    await window.request(CallNext)
    await window.request(Recall)
    await window.request(StartService)
    await window.request(FinishService)


async def _drain_to(client: QueueClient, seq: int, timeout: float = 10.0) -> list[EventReceived]:
    """EventReceived notices until the client has seen `seq`; other notices are skipped."""
    got: list[EventReceived] = []
    async with asyncio.timeout(timeout):
        while not got or got[-1].event.seq < seq:
            notice = await client.next_notice()
            if isinstance(notice, EventReceived):
                got.append(notice)
    return got


# ---------------------------------------------------------------------------
# Live stream


async def test_display_receives_each_visible_event_once_in_seq_order(
    connect: Connect, raw: Any, engine: Engine
) -> None:
    """Raw display connections get every event they may see exactly once, in seq order."""
    main = await raw(Role.DISPLAY, token=DISPLAY_TOKEN)
    zone_b = await raw(Role.DISPLAY, token=ZONE_B_DISPLAY_TOKEN)
    start = main.hello["snapshot"]["seq"]
    kiosk = await connect("kiosk")
    w11 = await connect("window", window=11)  # 一楼A区
    w5 = await connect("window", window=5)  # 一楼B区, QY
    for _ in range(3):
        await asyncio.gather(_visit(kiosk, w11, "SW"), _visit(kiosk, w5, "QY"))
    marker = (await kiosk.request(IssueTicket, category="SB")).ticket  # a queue_changed last
    head = _head(engine)
    rows = _events_after(engine, start)
    assert rows[-1].name == "queue_changed" and marker.id in rows[-2].payload

    expected_main = [r.seq for r in rows if DISPLAY.may_see(r.name, r.window, r.zone)]
    expected_b = [
        r.seq
        for r in rows
        if Principal(role=Role.DISPLAY, key="b", zone=ZONE_B).may_see(r.name, r.window, r.zone)
    ]
    await main.until_seq(head)
    await zone_b.until_seq(head)
    assert main.seqs == expected_main
    assert zone_b.seqs == expected_b
    names = {e["name"] for e in main.events}
    assert names <= VISIBLE_EVENTS[Role.DISPLAY]
    assert {"ticket_called", "ticket_recalled", "window_changed", "queue_changed"} <= names
    zone_b_calls = [e for e in zone_b.events if e["name"] in ("ticket_called", "ticket_recalled")]
    assert zone_b_calls and all(e["window"] == 5 for e in zone_b_calls)
    # Each event's payload is the one stored in the event table.
    stored = {r.seq: json.loads(r.payload) for r in rows}
    assert all(stored[e["seq"]] == e for e in main.events)


async def test_events_committed_together_come_in_one_frame_to_clients_that_ask(
    connect: Connect, raw: Any, engine: Engine
) -> None:
    """With batch_events, a call's ticket_called, window_changed and queue_changed arrive as
    one `events` frame; without it, as three frames holding the very same events."""
    batched = await raw(Role.DISPLAY, token=DISPLAY_TOKEN, batch_events=True)
    single = await raw(Role.DISPLAY, token=DISPLAY_TOKEN)
    kiosk = await connect("kiosk")
    await kiosk.request(IssueTicket, category="SW")
    w11 = await connect("window", window=11)
    await w11.request(CallNext)
    head = _head(engine)
    await batched.until_seq(head)
    await single.until_seq(head)
    call_seqs = [r.seq for r in _events_after(engine, head - 3)]
    assert [r.name for r in _events_after(engine, head - 3)] == [
        "ticket_called",
        "window_changed",
        "queue_changed",
    ]
    last = batched.frames[-1]
    assert last["type"] == "events" and [e["seq"] for e in last["events"]] == call_seqs
    assert [f["type"] for f in single.frames[-3:]] == ["event"] * 3
    assert single.frames[-3:] == last["events"]
    assert batched.events == single.events  # the same stream, framed differently


async def test_admin_stream_is_gapless_while_many_clients_act(
    connect: Connect, engine: Engine
) -> None:
    """A supervisor sees every seq once, 1 by 1, while four windows work at the same time."""
    admin = await connect("admin")
    start = admin.last_seq or 0
    kiosk = await connect("kiosk")
    windows = [await connect("window", window=n) for n in (1, 2, 3, 4)]

    async def two_visits(window: QueueClient) -> None:
        for _ in range(2):
            await _visit(kiosk, window)

    await asyncio.gather(*(two_visits(w) for w in windows))
    head = _head(engine)
    got = await _drain_to(admin, head)
    assert [n.event.seq for n in got] == list(range(start + 1, head + 1))
    assert not any(n.replayed for n in got)


# ---------------------------------------------------------------------------
# Resuming with since_seq


async def test_reconnect_with_since_seq_gets_exactly_the_missed_events(
    connect: Connect, engine: Engine
) -> None:
    """A supervisor that reconnects with its last seq gets the missed events once, as replays."""
    kiosk = await connect("kiosk")
    window = await connect("window", window=11)
    admin = await connect("admin")
    await _visit(kiosk, window)
    seen = await _drain_to(admin, _head(engine))
    last = seen[-1].event.seq
    await admin.close()

    await _visit(kiosk, window)
    await _visit(kiosk, window)
    missed_head = _head(engine)
    assert missed_head > last + 5

    again = await connect("admin", since_seq=last)
    # Its own login (session_opened, missed_head + 1) is in the snapshot and replayed too.
    head = missed_head + 1
    assert again.hello is not None and again.hello.snapshot.seq == head
    replayed = await _drain_to(again, head)
    assert [n.event.seq for n in replayed] == list(range(last + 1, head + 1))
    assert [n.event.name for n in replayed] == [r.name for r in _events_after(engine, last)]
    assert replayed[-1].event.name == "session_opened"
    assert all(n.replayed for n in replayed)

    await kiosk.request(IssueTicket, category="SW")
    live = await _drain_to(again, _head(engine))
    assert [n.event.seq for n in live] == list(range(head + 1, _head(engine) + 1))
    assert not any(n.replayed for n in live)


async def test_raw_resume_sends_missed_events_once_without_gaps(
    connect: Connect, raw: Any, engine: Engine
) -> None:
    """At the frame level a resumed display gets each missed visible event once, then live ones."""
    kiosk = await connect("kiosk")
    window = await connect("window", window=2)
    first = await raw(Role.DISPLAY, token=DISPLAY_TOKEN)
    await _visit(kiosk, window)
    await first.until_seq(_head(engine))
    last = first.seqs[-1]
    await first.ws.close()

    for _ in range(3):
        await _visit(kiosk, window)
    missed_head = _head(engine)
    again = await raw(Role.DISPLAY, token=DISPLAY_TOKEN, since_seq=last)
    assert again.hello["snapshot"]["seq"] == missed_head + 1  # and its own session_opened
    await again.until_seq(missed_head)
    missed = [
        r.seq for r in _events_after(engine, last) if DISPLAY.may_see(r.name, r.window, r.zone)
    ]
    assert again.seqs == missed

    await _visit(kiosk, window)
    await again.until_seq(_head(engine))
    live = [
        r.seq
        for r in _events_after(engine, missed_head)
        if DISPLAY.may_see(r.name, r.window, r.zone)
    ]
    assert again.seqs == missed + live
    assert len(set(again.seqs)) == len(again.seqs)


async def test_resume_from_zero_replays_the_whole_log(
    connect: Connect, raw: Any, engine: Engine
) -> None:
    """since_seq=0 replays every stored event a supervisor may see, from seq 1."""
    kiosk = await connect("kiosk")
    window = await connect("window", window=1)
    for _ in range(2):
        await _visit(kiosk, window)
    head = _head(engine)
    admin = await raw(Role.ADMIN, user="zhuren", since_seq=0)
    await admin.until_seq(head)
    assert admin.seqs == list(range(1, head + 1))


# ---------------------------------------------------------------------------
# Reconnection of the QueueClient


async def _next_of(client: QueueClient, kind: type, timeout: float = 10.0) -> Any:
    async with asyncio.timeout(timeout):
        while True:
            notice = await client.next_notice()
            if isinstance(notice, kind):
                return notice


async def test_client_reconnects_to_a_restarted_server_and_resends_its_request(
    service: HallService, db_url: str, engine: Engine
) -> None:
    """After a restart on the same port and file, a request made while down is answered once."""
    first = QueueServer(service, host="127.0.0.1", port=0, poll_interval=0.05)
    port = await first.start()
    url = f"ws://127.0.0.1:{port}"
    kiosk = QueueClient(url, Credentials(role=Role.KIOSK, token=KIOSK_TOKEN))
    admin = QueueClient(url, Credentials(role=Role.ADMIN, user="zhuren", password=DEMO_PASSWORD))
    second: QueueServer | None = None
    second_engine = make_engine(db_url)
    try:
        await kiosk.start()
        await admin.start()
        before = await kiosk.request(IssueTicket, category="SW")
        await first.stop()
        await _next_of(kiosk, Disconnected)
        assert not kiosk.connected

        request = IssueTicket(id="made-while-down", category="SW")
        pending = asyncio.create_task(kiosk.request(request, timeout=30))
        second = QueueServer(
            HallService(second_engine), host="127.0.0.1", port=port, poll_interval=0.05
        )
        await second.start()
        reply = await pending
        assert reply.re == "made-while-down"
        assert reply.ticket.number == "C002"
        assert reply.ticket.id != before.ticket.id
        assert _ticket_count(engine) == 2

        head = _head(engine)
        repeat = await kiosk.request(request)  # the same id again: answered from the log
        assert repeat.ticket == reply.ticket
        assert _ticket_count(engine) == 2
        assert _head(engine) == head

        # The supervisor reconnected too and got the ticket_issued event exactly once.
        got = await _drain_to(admin, head)
        issued = [n.event.ticket.id for n in got if n.event.name == "ticket_issued"]
        assert issued.count(reply.ticket.id) == 1
        seqs = [n.event.seq for n in got]
        assert seqs == sorted(set(seqs)) and seqs[-1] == head
    finally:
        await kiosk.close()
        await admin.close()
        if second is not None:
            await second.stop()
        second_engine.dispose()


async def test_reply_lost_after_commit_is_answered_once_after_reconnect(
    server: QueueServer, url: str, engine: Engine
) -> None:
    """A connection dropped between commit and reply: the re-sent request is not done twice."""
    original = server._answer
    dropped: list[str] = []

    async def drop_first_reply(principal: Principal, frame: str | bytes) -> Any:
        outcome = await original(principal, frame)
        if not dropped and json.loads(frame)["type"] == "issue_ticket":
            dropped.append(outcome.reply)
            raise ConnectionClosed(None, None)  # committed, but the reply never leaves
        return outcome

    server._answer = drop_first_reply  # type: ignore[method-assign]
    kiosk = QueueClient(url, Credentials(role=Role.KIOSK, token=KIOSK_TOKEN))
    async with kiosk:
        await _next_of(kiosk, Connected)
        reply = await kiosk.request(IssueTicket(id="lost-reply", category="SB"), timeout=20)
        assert dropped, "the first reply was not dropped"
        assert json.loads(dropped[0])["ticket"] == reply.ticket.model_dump(mode="json")
        await _next_of(kiosk, Disconnected)
        await _next_of(kiosk, Connected)
    assert _ticket_count(engine) == 1
    with Session(engine) as session:
        issued = session.exec(select(EventRow).where(EventRow.name == "ticket_issued")).all()
    assert len(issued) == 1


async def test_batch_whose_commit_fails_is_answered_with_errors_and_leaves_nothing(
    server: QueueServer, url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk refuses a commit (here: the transaction is rolled back where it would have
    been committed): every command of that batch is answered `internal`, no event goes
    out, the state in memory forgets the batch, and the next command works."""
    failing: list[bool] = [True]
    original = core.Staged.commit

    def refuse_once(staged: core.Staged) -> None:
        if failing and "lost-commit" in staged.rids and staged.transaction is not None:
            failing.clear()
            staged.transaction.rollback()
            staged.error = OSError("disk I/O error")
            return
        original(staged)

    monkeypatch.setattr(core.Staged, "commit", refuse_once)
    kiosk = QueueClient(url, Credentials(role=Role.KIOSK, token=KIOSK_TOKEN))
    async with kiosk:
        await _next_of(kiosk, Connected)
        with pytest.raises(ServerError) as refused:
            await kiosk.request(IssueTicket(id="lost-commit", category="SB"), timeout=20)
        assert refused.value.code is ErrorCode.INTERNAL
        assert _ticket_count(engine) == 0
        reply = await kiosk.request(IssueTicket(id="after", category="SB"), timeout=20)
        # The failed batch left no trace in the state: the number is the day's first again.
        assert reply.ticket.number.endswith("001")
        assert reply.people_ahead == 0
    assert _ticket_count(engine) == 1
    with Session(engine) as session:
        issued = session.exec(select(EventRow).where(EventRow.name == "ticket_issued")).all()
    assert [json.loads(e.payload)["ticket"]["id"] for e in issued] == [reply.ticket.id]


# ---------------------------------------------------------------------------
# Events committed by another process


async def test_config_change_from_another_service_reaches_clients(
    connect: Connect, db_url: str, engine: Engine
) -> None:
    """set_profile by a second HallService on the file reaches display and admin via the poller."""
    display = await connect("display")
    admin = await connect("admin")
    start = admin.last_seq or 0
    other_engine = make_engine(db_url)
    try:
        await asyncio.to_thread(HallService(other_engine).set_profile, 11, ["SW"])
    finally:
        other_engine.dispose()
    head = _head(engine)
    assert head == start + 2  # window_changed + config_changed

    for client in (display, admin):
        got = await _drain_to(client, head)
        assert [n.event.seq for n in got] == [start + 1, start + 2]
        changed, config = (n.event for n in got)
        assert changed.name == "window_changed"
        assert changed.window.number == 11 and changed.window.profile == ["SW"]
        assert config.name == "config_changed" and "window 11" in config.what

    # The server's own next event continues the sequence after the foreign ones.
    kiosk = await connect("kiosk")
    await kiosk.request(IssueTicket, category="SW")
    got = await _drain_to(admin, _head(engine))
    assert [n.event.seq for n in got] == list(range(head + 1, _head(engine) + 1))


async def test_interleaved_writes_of_two_processes_stay_gapless(
    connect: Connect, db_url: str, engine: Engine
) -> None:
    """While the CLI changes profiles and kiosks issue tickets, a supervisor sees 1 by 1."""
    admin = await connect("admin")
    start = admin.last_seq or 0
    kiosk = await connect("kiosk")
    other_engine = make_engine(db_url)
    other = HallService(other_engine)

    def cli_changes() -> None:
        for i in range(6):
            other.set_profile(12, ["SB", "SW"] if i % 2 else ["SW", "SB"])

    try:
        await asyncio.gather(
            asyncio.to_thread(cli_changes),
            *(kiosk.request(IssueTicket, category="SB") for _ in range(12)),
        )
    finally:
        other_engine.dispose()
    head = _head(engine)
    got = await _drain_to(admin, head)
    assert [n.event.seq for n in got] == list(range(start + 1, head + 1))
    names = [n.event.name for n in got]
    assert names.count("config_changed") == 6
    assert names.count("ticket_issued") == 12


async def test_cli_process_change_reaches_a_connected_display(
    connect: Connect, db_url: str, engine: Engine
) -> None:
    """`queue-server window set-profile` run as a process shows up on a connected screen."""
    display = await connect("display")
    start = display.last_seq or 0
    cli = Path(sys.executable).with_name("queue-server")
    done = await asyncio.to_thread(
        subprocess.run,
        [str(cli), "window", "set-profile", "14", "CJ,SW", "--db", db_url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    got = await _drain_to(display, _head(engine))
    assert [n.event.seq for n in got] == list(range(start + 1, _head(engine) + 1))
    [changed] = [n.event for n in got if n.event.name == "window_changed"]
    assert changed.window.number == 14 and changed.window.profile == ["CJ", "SW"]
