"""A hall day across midnight with the real `queue-server` processes on a shifted clock
(YICHUANG_CLOCK): served during the day, killed at 23:59 with citizens still waiting,
called and being served, started again at 00:10. The old day ends with no open ticket and
the new day's numbers start at 001 without a gap (issue "A correct hall day")."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from queue_protocol.client import Credentials, QueueClient, ServerError
from queue_protocol.errors import ErrorCode
from queue_protocol.messages import (
    CallNext,
    FinishService,
    IssueTicket,
    MarkNoShow,
    Role,
    StartService,
)
from tests.conftest import DEMO_PASSWORD, KIOSK_TOKEN
from tests.integration.test_crash import ServerProcess, hall_file  # noqa: F401  (fixture)

CATEGORIES = ("SW", "SB", "CJ", "BT")
WINDOWS = (1, 2, 3, 4)  # 全科


def env_at(clock: str) -> dict[str, str]:
    return {**os.environ, "YICHUANG_CLOCK": clock}


def clients(url: str) -> tuple[QueueClient, list[QueueClient]]:
    kiosk = QueueClient(url, Credentials(role=Role.KIOSK, token=KIOSK_TOKEN))
    windows = [
        QueueClient(
            url, Credentials(role=Role.WINDOW, user=f"ck{n:02d}", password=DEMO_PASSWORD, window=n)
        )
        for n in WINDOWS
    ]
    return kiosk, windows


async def serve_some(window: QueueClient, rounds: int) -> int:
    """Call, start and finish up to `rounds` citizens; every fifth one does not come."""
    served = 0
    for n in range(rounds):
        try:
            await window.request(CallNext)
        except ServerError as exc:
            assert exc.code is ErrorCode.QUEUE_EMPTY, exc
            return served
        if n % 5 == 4:
            await window.request(MarkNoShow)
            continue
        await window.request(StartService)
        await window.request(FinishService)
        served += 1
    return served


def read(db_url: str) -> dict[str, Any]:
    path = db_url.split(":///", 1)[1]
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        tickets = db.execute("SELECT day, number, category, state FROM ticket").fetchall()
        names = [row[0] for row in db.execute("SELECT name FROM event ORDER BY seq")]
        seqs = [row[0] for row in db.execute("SELECT seq FROM event ORDER BY seq")]
    return {"tickets": tickets, "events": names, "seqs": seqs}


@pytest.mark.slow
@pytest.mark.timeout(300)
async def test_a_day_across_midnight_with_the_server_killed_at_2359(
    hall_file: str,  # noqa: F811  (the fixture imported above)
    tmp_path: Path,
) -> None:
    """Day: 60 tickets, four windows serving. 23:59: more tickets, some called or served
    when the server is SIGKILLed. 00:10: the restarted server has closed the old day out:
    0 open tickets of 2026-11-24, one day_closed, and new numbers from 001 without a gap."""
    log = tmp_path / "server.log"
    # The day: a clock running 240 times as fast from 09:00 (4 minutes a second).
    day = ServerProcess(hall_file, log, env=env_at("2026-11-24T09:00:00+08:00@240"))
    url = f"ws://127.0.0.1:{await day.start()}"
    kiosk, windows = clients(url)
    try:
        await asyncio.gather(kiosk.start(), *(w.start() for w in windows))
        for n in range(60):
            await kiosk.request(IssueTicket, category=CATEGORIES[n % len(CATEGORIES)])
        served = await asyncio.gather(*(serve_some(w, 8) for w in windows))
        assert sum(served) > 0
    finally:
        await asyncio.gather(kiosk.close(), *(w.close() for w in windows))
    await day.stop()

    # The evening: 23:58:30 on a real-time clock; killed while citizens wait, are called
    # and are being served.
    evening = ServerProcess(hall_file, log, env=env_at("2026-11-24T23:58:30+08:00"))
    url = f"ws://127.0.0.1:{await evening.start()}"
    kiosk, windows = clients(url)
    try:
        await asyncio.gather(kiosk.start(), *(w.start() for w in windows))
        for n in range(8):
            await kiosk.request(IssueTicket, category=CATEGORIES[n % len(CATEGORIES)])
        await windows[0].request(CallNext)
        await windows[1].request(CallNext)
        await windows[1].request(StartService)
        assert await evening.kill() == -signal.SIGKILL
    finally:
        await asyncio.gather(kiosk.close(), *(w.close() for w in windows))
    before = read(hall_file)
    open_old = [t for t in before["tickets"] if t[3] in ("waiting", "called", "serving")]
    assert len(open_old) >= 8 and {t[0] for t in before["tickets"]} == {"2026-11-24"}

    # 00:10: started again after midnight.
    morning = ServerProcess(hall_file, log, env=env_at("2026-11-25T00:10:00+08:00"))
    url = f"ws://127.0.0.1:{await morning.start()}"
    kiosk = QueueClient(url, Credentials(role=Role.KIOSK, token=KIOSK_TOKEN))
    try:
        await kiosk.start()
        issued = [
            (await kiosk.request(IssueTicket, category=CATEGORIES[n % 2])).ticket for n in range(6)
        ]
    finally:
        await kiosk.close()
        await morning.stop()
    after = read(hall_file)
    old_day = [t for t in after["tickets"] if t[0] == "2026-11-24"]
    assert [t for t in old_day if t[3] in ("waiting", "called", "serving")] == []
    assert Counter(t[3] for t in old_day)["expired"] == len(open_old)
    assert after["events"].count("day_closed") == 1
    assert after["events"].count("ticket_expired") == len(open_old)
    assert after["seqs"] == list(range(1, len(after["seqs"]) + 1))
    assert all(t.id.startswith("20261125-") for t in issued)
    for category in CATEGORIES[:2]:
        numbers = sorted(
            int(t[1][1:]) for t in after["tickets"] if t[0] == "2026-11-25" and t[2] == category
        )
        assert numbers == [1, 2, 3]
