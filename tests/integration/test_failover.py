"""Several server processes on one PostgreSQL: each hall has one owner at a time (its
lease), any process serves its clients (forwarding to the owner), and when the owner is
SIGKILLed mid-stream another takes the hall over and rebuilds it from its log; the
clients reconnect and resume with since_seq. Nothing acknowledged is lost, no ticket is
called twice, numbers and the event log stay gapless."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from queue_protocol.client import Credentials, QueueClient
from queue_protocol.messages import Role, TicketState
from tests.conftest import DEMO_PASSWORD, KIOSK_TOKEN
from tests.integration.test_crash import (
    WINDOWS,
    Acks,
    ServerProcess,
    _kiosk_loop,
    _number,
    _read_db,
    _window_loop,
    hall_file,  # noqa: F401  (the demo hall made by `queue-server init`)
)
from tests.integration.test_server_process import healthz

pytestmark = pytest.mark.postgresql

KILLS = 3  # the owner is killed this many times, each time the other process takes over
BETWEEN_KILLS = 20  # tickets acknowledged between two kills
TAKEOVER_LIMIT = 15.0  # seconds: "within a few seconds", with room for a loaded machine


async def _owner(processes: list[ServerProcess], timeout: float) -> ServerProcess:
    """The process whose /healthz says it owns the hall (waits for one)."""
    async with asyncio.timeout(timeout):
        while True:
            for process in processes:
                if process.proc is None or process.proc.returncode is not None:
                    continue
                try:
                    _, _, body = await healthz(process.port)
                except OSError:
                    continue
                if "donghu" in body["halls"]:
                    return process
            await asyncio.sleep(0.05)


@pytest.mark.timeout(900)
async def test_sigkill_of_the_owner_hands_the_hall_over(
    hall_file: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    processes = [ServerProcess(hall_file, tmp_path / f"server-{n}.log") for n in range(2)]
    for process in processes:
        await process.start()
    first = await _owner(processes, 30)
    other = processes[1 - processes.index(first)]
    _, _, body = await healthz(other.port)
    assert body["halls"] == {} and body["elsewhere"] == ["donghu"]  # one owner only
    urls = [f"ws://127.0.0.1:{p.port}" for p in processes]
    kiosk_creds = Credentials(role=Role.KIOSK, token=KIOSK_TOKEN)
    clients = [  # kiosks at the process that forwards, windows at either, both know both
        QueueClient(urls[processes.index(other)], kiosk_creds, also=urls),
        QueueClient(urls[processes.index(other)], kiosk_creds, also=urls),
        *(
            QueueClient(
                urls[n % 2],
                Credentials(role=Role.WINDOW, user=f"ck{n:02d}", password=DEMO_PASSWORD, window=n),
                also=urls,
            )
            for n in WINDOWS
        ),
    ]
    acks = Acks()
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []
    takeovers: list[float] = []
    try:
        await asyncio.gather(*(c.start(timeout=60) for c in clients))
        tasks = [
            *(asyncio.create_task(_kiosk_loop(k, acks, stop)) for k in clients[:2]),
            *(asyncio.create_task(_window_loop(w, acks, stop)) for w in clients[2:]),
        ]
        await acks.until(issued=BETWEEN_KILLS, called=len(WINDOWS))
        for _ in range(KILLS):
            owner = await _owner(processes, 30)
            killed_at = time.monotonic()
            assert await owner.kill() == -signal.SIGKILL
            successor = await _owner(processes, TAKEOVER_LIMIT)
            takeovers.append(time.monotonic() - killed_at)
            assert successor is not owner
            issued, called = len(acks.issued), len(acks.called)
            await owner.start(port=owner.port)  # back, as the standby now
            await acks.until(issued=issued + BETWEEN_KILLS, called=called + len(WINDOWS))
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 120)
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.gather(*(c.close() for c in clients))
        for process in processes:
            await process.stop()
    print(f"\ntakeover after SIGKILL of the owner: {', '.join(f'{t:.2f} s' for t in takeovers)}")

    state = _read_db(hall_file)
    tickets: dict[str, Any] = state["tickets"]
    assert len({t.id for t in acks.issued}) == len(acks.issued)
    for ticket in acks.issued:  # every acknowledged ticket is stored as acknowledged
        assert tickets[ticket.id]["number"] == ticket.number
    calls = [
        json.loads(payload)["ticket"]["id"]
        for _, name, payload in state["events"]
        if name == "ticket_called"
    ]
    assert not [t for t, n in Counter(calls).items() if n > 1], "a ticket was called twice"
    called_events = set(calls)
    for _, ticket_id in acks.called:  # every acknowledged call happened, once
        assert ticket_id in called_events
        assert tickets[ticket_id]["state"] != TicketState.WAITING.value
    for ticket_id in acks.finished:
        assert tickets[ticket_id]["state"] == TicketState.DONE.value
    numbers = sorted(_number(t["number"]) for t in tickets.values())
    assert numbers == list(range(1, len(numbers) + 1))  # no number lost or given twice
    seqs = [seq for seq, _, _ in state["events"]]
    assert seqs == list(range(1, len(seqs) + 1))  # the log is gapless across the owners
    assert state["last_seq"] == seqs[-1]
    assert all(t < TAKEOVER_LIMIT for t in takeovers)
