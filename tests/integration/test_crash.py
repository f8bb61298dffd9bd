"""SIGKILL the real server process mid-stream: nothing acknowledged is lost (SPEC §7)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from sqlalchemy import text

from queue_protocol.client import Credentials, Disconnected, QueueClient, ServerError
from queue_protocol.errors import ErrorCode
from queue_protocol.messages import (
    CallNext,
    FinishService,
    IssueTicket,
    Role,
    StartService,
    TicketState,
)
from queue_server.store.engine import make_plain_engine
from tests.conftest import DEMO_PASSWORD, KIOSK_TOKEN

QUEUE_SERVER = str(Path(sys.executable).with_name("queue-server"))
LISTENING = "queue-server listening on ws://127.0.0.1:"
CATEGORY = "SW"  # prefix C, no daily capacity
WINDOWS = (1, 2, 3)  # 全科
BEFORE_KILL = 40  # tickets acknowledged before the kill
AFTER_RESTART = 25  # more tickets acknowledged after the restart

pytestmark = pytest.mark.both_stores  # SQLite and a real PostgreSQL


@dataclass
class Acks:
    """Every acknowledged reply, as the clients received it."""

    issued: list[Any] = field(default_factory=list)  # TicketView
    called: list[tuple[int, str]] = field(default_factory=list)  # (window, ticket id)
    started: list[str] = field(default_factory=list)
    finished: list[str] = field(default_factory=list)
    progress: asyncio.Event = field(default_factory=asyncio.Event)

    def note(self) -> None:
        self.progress.set()

    async def until(self, issued: int, called: int, timeout: float = 120.0) -> None:
        async with asyncio.timeout(timeout):
            while len(self.issued) < issued or len(self.called) < called:
                self.progress.clear()
                await self.progress.wait()


class ServerProcess:
    """`queue-server serve` as a child process; its port comes from the line it prints."""

    def __init__(self, db_url: str, log: Path, env: dict[str, str] | None = None) -> None:
        self.db_url = db_url
        self.log = log
        self.env = env  # the environment of the process (default: this one's)
        self.proc: asyncio.subprocess.Process | None = None
        self.port = 0
        self._drain: asyncio.Task[None] | None = None

    async def start(self, port: int = 0) -> int:
        with self.log.open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                QUEUE_SERVER,
                "serve",
                "--port",
                str(port),
                "--db",
                self.db_url,
                "--rate",
                "10000",
                "--burst",
                "10000",
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
                env=self.env,
            )
        assert self.proc.stdout is not None
        async with asyncio.timeout(60):
            while True:
                line = (await self.proc.stdout.readline()).decode()
                assert line, f"the server exited: {self.log.read_text(errors='replace')[-2000:]}"
                if line.startswith(LISTENING):
                    self.port = int(line.strip().rsplit(":", 1)[1])
                    break
        self._drain = asyncio.create_task(self._read_rest())
        return self.port

    async def _read_rest(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        while await self.proc.stdout.readline():
            pass

    async def kill(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        code = await self.proc.wait()
        if self._drain is not None:
            await self._drain
        return code

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 30)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        if self._drain is not None:
            self._drain.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._drain


@pytest.fixture
def hall_file(tmp_path: Path, hall_config: dict[str, Any], db_url: str) -> str:
    """A hall database made by `queue-server init` from the demo TOML without opening hours."""
    toml = tmp_path / "open-hall.toml"
    toml.write_bytes(tomli_w.dumps(hall_config).encode())
    done = subprocess.run(
        [QUEUE_SERVER, "init", str(toml), "--db", db_url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return db_url


@pytest.fixture
async def server_process(hall_file: str, tmp_path: Path) -> AsyncIterator[ServerProcess]:
    process = ServerProcess(hall_file, tmp_path / "server.log")
    try:
        yield process
    finally:
        await process.stop()


async def _kiosk_loop(client: QueueClient, acks: Acks, stop: asyncio.Event) -> None:
    while not stop.is_set():
        reply = await client.request(IssueTicket, category=CATEGORY, timeout=90)
        acks.issued.append(reply.ticket)
        acks.note()


async def _window_loop(client: QueueClient, acks: Acks, stop: asyncio.Event) -> None:
    number = client.credentials.window
    assert number is not None
    while not stop.is_set():
        try:
            called = await client.request(CallNext, timeout=90)
        except ServerError as exc:
            assert exc.code is ErrorCode.QUEUE_EMPTY, exc
            with contextlib.suppress(TimeoutError):  # wait for news (a ticket_issued) first
                await client.next_notice(timeout=5)
            continue
        acks.called.append((number, called.ticket.id))
        acks.note()
        started = await client.request(StartService, timeout=90)
        acks.started.append(started.ticket.id)
        finished = await client.request(FinishService, timeout=90)
        acks.finished.append(finished.ticket.id)


def _read_db(db_url: str) -> dict[str, Any]:
    """What the database holds, read by a connection of the test's own (read only)."""
    engine = make_plain_engine(db_url)
    try:
        with engine.connect() as db:
            tickets = {
                row[0]: {"number": row[1], "state": row[2], "window": row[3], "calls": row[4]}
                for row in db.execute(
                    text('SELECT id, number, state, "window", call_times FROM ticket')
                )
            }
            events = [
                tuple(row)
                for row in db.execute(text("SELECT seq, name, payload FROM event ORDER BY seq"))
            ]
            counter = [
                tuple(row)
                for row in db.execute(
                    text("SELECT last FROM number_counter WHERE category = :c"), {"c": CATEGORY}
                )
            ]
            last_seq = db.execute(text("SELECT last_seq FROM hall WHERE id = 1")).scalar_one()
    finally:
        engine.dispose()
    return {"tickets": tickets, "events": events, "counter": counter, "last_seq": last_seq}


def _number(ticket_number: str) -> int:
    return int(ticket_number[1:])


@pytest.mark.timeout(600)
async def test_sigkill_mid_stream_loses_nothing_acknowledged(
    server_process: ServerProcess, hall_file: str
) -> None:
    """After SIGKILL and restart every acked ticket and call is stored, numbers continue, seq
    is gapless."""
    port = await server_process.start()
    url = f"ws://127.0.0.1:{port}"
    clients = [
        QueueClient(url, Credentials(role=Role.KIOSK, token=KIOSK_TOKEN)),
        QueueClient(url, Credentials(role=Role.KIOSK, token=KIOSK_TOKEN)),
        *(
            QueueClient(
                url,
                Credentials(role=Role.WINDOW, user=f"ck{n:02d}", password=DEMO_PASSWORD, window=n),
            )
            for n in WINDOWS
        ),
    ]
    acks = Acks()
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []
    kiosks, windows = clients[:2], clients[2:]
    try:
        await asyncio.gather(*(c.start(timeout=60) for c in clients))
        tasks = [
            *(asyncio.create_task(_kiosk_loop(k, acks, stop)) for k in kiosks),
            *(asyncio.create_task(_window_loop(w, acks, stop)) for w in windows),
        ]
        await acks.until(issued=BEFORE_KILL, called=len(WINDOWS))

        assert await server_process.kill() == -signal.SIGKILL
        at_kill = len(acks.issued), len(acks.called)
        crashed = _read_db(hall_file)
        numbers_at_kill = {t["number"] for t in crashed["tickets"].values()}
        highest_at_kill = max(_number(n) for n in numbers_at_kill)

        await server_process.start(port=port)  # the clients reconnect by themselves
        await acks.until(issued=at_kill[0] + AFTER_RESTART, called=at_kill[1] + len(WINDOWS))
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 120)
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.gather(*(c.close() for c in clients))
    await server_process.stop()
    for kiosk in kiosks:  # the kiosks noticed the crash and reconnected by themselves
        notices = [kiosk._updates.get_nowait() for _ in range(kiosk._updates.qsize())]
        assert any(isinstance(n, Disconnected) for n in notices)

    state = _read_db(hall_file)
    tickets = state["tickets"]
    # Every acknowledged ticket is stored as acknowledged, and was acknowledged once.
    assert len({t.id for t in acks.issued}) == len(acks.issued)
    for ticket in acks.issued:
        assert ticket.id in tickets, f"acknowledged ticket {ticket.number} was lost"
        assert tickets[ticket.id]["number"] == ticket.number
    # Every acknowledged call, start and finish happened in the database.
    call_events = {
        (json.loads(payload)["window"], json.loads(payload)["ticket"]["id"])
        for _, name, payload in state["events"]
        if name == "ticket_called"
    }
    for window, ticket_id in acks.called:
        assert (window, ticket_id) in call_events, f"acknowledged call of {ticket_id} was lost"
        assert tickets[ticket_id]["state"] != TicketState.WAITING.value
        assert json.loads(tickets[ticket_id]["calls"])
    assert len(acks.called) == len(set(acks.called))
    for ticket_id in acks.finished:
        assert tickets[ticket_id]["state"] == TicketState.DONE.value
    # No number is reused; numbering continued after the restart.
    numbers = sorted(_number(t["number"]) for t in tickets.values())
    assert numbers == list(range(1, len(numbers) + 1))
    assert state["counter"] == [(len(numbers),)]
    after = [t for t in acks.issued[at_kill[0] :] if t.number not in numbers_at_kill]
    assert len(after) >= AFTER_RESTART - 2  # minus requests in flight at the kill
    assert all(_number(t.number) > highest_at_kill for t in after)
    # One ticket_issued event per ticket; the event log is gapless 1..N.
    seqs = [seq for seq, _, _ in state["events"]]
    assert seqs == list(range(1, len(seqs) + 1))
    assert state["last_seq"] == seqs[-1]
    issued_events = [
        json.loads(p)["ticket"]["id"] for _, n, p in state["events"] if n == "ticket_issued"
    ]
    assert sorted(issued_events) == sorted(tickets)
