"""The race of issue 13: several `queue-server serve` processes on one PostgreSQL, three
halls of a district, clients of every hall at every process.

Each hall has one owner (its lease); the other processes forward its connections to it.
Kiosks (one per process and hall) issue the tickets, windows (spread round-robin over the
processes) loop call_next -> start_service -> finish_service until every ticket is done,
and a supervisor per hall watches the whole event stream from seq 0. Afterwards, per hall:
no ticket was called twice, each category's numbers are unique and gapless, the event seq
is gapless (in the database and on the supervisor's live stream), every acknowledged ticket,
call and finish is stored, and no event of one hall is in another's log or reached another
hall's clients (each hall's ticket prefixes start with a letter of its own, so a foreign
ticket is visible in any payload).

Sizes (tickets are in all, split evenly across the halls):
- default (CI):             4 processes x 10 windows per hall x 300 tickets, 3 halls
- YICHUANG_RACE_FULL=1:     4 processes x 30 windows per hall x 2,000 tickets, 3 halls

Every hall has 30 windows (the demo hall's 15 and 16..30 全科 with staff ck16..ck30); the
default run staffs the first 10. The processes run on a hall clock set to today's noon
(YICHUANG_CLOCK), so that a run across the hall's midnight does not start numbering anew.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import re
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import tomli_w
from sqlalchemy import text

from queue_protocol.client import Connected, Credentials, EventReceived, QueueClient, ServerError
from queue_protocol.errors import ErrorCode
from queue_protocol.messages import CallNext, FinishService, IssueTicket, Role, StartService
from queue_server.hallconfig import ALL_SUBJECTS
from queue_server.store.engine import make_plain_engine
from tests.conftest import DEMO_PASSWORD
from tests.integration.test_crash import QUEUE_SERVER, ServerProcess
from tests.integration.test_server_process import healthz

pytestmark = pytest.mark.postgresql

FULL = os.environ.get("YICHUANG_RACE_FULL") == "1"
PROCESSES = 4
WINDOWS = 30 if FULL else 10  # staffed windows per hall
TICKETS = 2_000 if FULL else 300  # in all, across the halls
HALLS = (("donghu", "D"), ("xinhe", "X"), ("nanhu", "N"))  # code, its ticket prefixes' letter
HALL_WINDOWS = 30  # windows configured per hall
TIMEZONE = "Asia/Shanghai"
REQUEST_TIMEOUT = 120.0  # one request on a loaded machine, with a login rush before it
IDLE_RECHECK = 5.0  # an idle window asks again at least this often (a missed notice)
CONNECT_TIMEOUT = 180.0  # every client logged in (argon2 checks, two at a time per process)
RUN_TIMEOUT = 1800.0 if FULL else 600.0  # every ticket done

TICKET_NUMBER = re.compile(r"\b(?:\d{8}-)?([A-Z]{2})\d{3,}\b")  # a ticket's id or number


@dataclass
class HallRun:
    """One hall of the race: what its clients were acknowledged and saw."""

    code: str
    tag: str
    tickets: int  # how many its kiosks issue
    categories: list[str]
    profiles: dict[int, frozenset[str]]  # window -> categories it serves (empty: all)
    issued: list[Any] = field(default_factory=list)  # TicketView
    called: list[tuple[int, str]] = field(default_factory=list)  # (window, ticket id)
    finished: list[str] = field(default_factory=list)
    empty: int = 0  # call_next answered queue_empty
    done: asyncio.Event = field(default_factory=asyncio.Event)
    live_tags: Counter[str] = field(default_factory=Counter)  # ticket letters clients saw
    observed: list[int] = field(default_factory=list)  # seqs the supervisor received
    observed_more: asyncio.Event = field(default_factory=asyncio.Event)


def race_hall(demo: dict[str, Any], code: str, tag: str) -> dict[str, Any]:
    """The demo hall as one of the race's halls: open around the clock, its own code and
    device tokens (one more kiosk per process), prefixes of its own letter, no daily
    capacity, and 30 windows with their staff."""
    data = copy.deepcopy(demo)
    data["hall"]["code"] = code
    data["hall"]["name"] = f"{code} 便民服务中心"
    data["hall"].pop("hours", None)
    for category in data["categories"]:
        category["prefix"] = tag + category["prefix"]
        category.pop("daily_capacity", None)
    numbers = {w["number"] for w in data["windows"]}
    password_hash = data["staff"][0]["password_hash"]  # the demo password, as hashed there
    for n in range(16, HALL_WINDOWS + 1):
        assert n not in numbers
        data["windows"].append(
            {"number": n, "name": f"综合受理{n}号", "zone": "一楼A区", "profile": ALL_SUBJECTS}
        )
        data["staff"].append(
            {
                "account": f"ck{n:02d}",
                "name": f"窗口{n}号",
                "role": "staff",
                "password_hash": password_hash,
            }
        )
    for device in data["devices"]:
        device["token"] = device["token"].replace("demo-", f"{code}-")
    data["devices"].extend(
        {"name": f"取号机{k}", "kind": "kiosk", "token": kiosk_token(code, k)}
        for k in range(PROCESSES)
    )
    return data


def kiosk_token(code: str, k: int) -> str:
    return f"{code}-race-kiosk-{k}-token"


class HallClockEnv:
    """The child processes' environment: a data directory of their own and a hall clock
    that read today's noon in the hall when the test began and runs on from there, the same
    for every process whenever it starts (YICHUANG_CLOCK)."""

    def __init__(self, tmp_path: Path) -> None:
        self.base = {k: v for k, v in os.environ.items() if not k.startswith("YICHUANG_")}
        self.base["YICHUANG_DATA_DIR"] = str(tmp_path / "data")
        self.base["PYTHONUNBUFFERED"] = "1"
        local = datetime.now(UTC).astimezone(ZoneInfo(TIMEZONE))
        self.noon = local.replace(hour=12, minute=0, second=0, microsecond=0)
        self.origin = time.monotonic()

    def __call__(self) -> dict[str, str]:
        now = self.noon + timedelta(seconds=time.monotonic() - self.origin)
        return {**self.base, "YICHUANG_CLOCK": now.isoformat()}


@pytest.fixture
def district(
    tmp_path: Path, hall_config: dict[str, Any], db_url: str
) -> Iterator[tuple[str, list[dict[str, Any]], HallClockEnv]]:
    """The three halls made by `queue-server init FILE --db URL`, one file each."""
    env = HallClockEnv(tmp_path)
    configs = []
    for code, tag in HALLS:
        data = race_hall(hall_config, code, tag)
        toml = tmp_path / f"{code}.toml"
        toml.write_bytes(tomli_w.dumps(data).encode())
        done = subprocess.run(
            [QUEUE_SERVER, "init", str(toml), "--db", db_url],
            capture_output=True,
            text=True,
            timeout=120,
            env=env(),
        )
        assert done.returncode == 0, done.stderr
        configs.append(data)
    yield db_url, configs, env


async def _first(*events: asyncio.Event, timeout: float) -> None:
    """Wait until one of `events` is set, or `timeout` seconds."""
    waits = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()
        await asyncio.gather(*waits, return_exceptions=True)


async def _watch(
    client: QueueClient,
    hall: HallRun,
    wake: asyncio.Event | None = None,
    profile: frozenset[str] = frozenset(),
    observer: bool = False,
) -> None:
    """Read a client's notices: note the ticket letters of every ticket event it is sent,
    wake its window when a category it serves has tickets waiting, and (the supervisor)
    note every seq."""
    async for notice in client.notices():
        if isinstance(notice, Connected):
            if wake is not None:
                wake.set()
            continue
        if not isinstance(notice, EventReceived):
            continue
        event = notice.event
        if observer:
            hall.observed.append(event.seq)
            hall.observed_more.set()
        ticket = getattr(event, "ticket", None)
        if ticket is not None:
            hall.live_tags[ticket.number[0]] += 1
        if (
            wake is not None
            and event.name == "queue_changed"
            and any(q.waiting > 0 and (not profile or q.category in profile) for q in event.queues)
        ):
            wake.set()


async def _kiosk(client: QueueClient, hall: HallRun, count: int, offset: int) -> None:
    """Issue `count` tickets, going round the hall's categories."""
    for n in range(count):
        category = hall.categories[(offset + n) % len(hall.categories)]
        reply = await client.request(IssueTicket, category=category, timeout=REQUEST_TIMEOUT)
        assert reply.ticket.number.startswith(hall.tag), reply.ticket
        hall.issued.append(reply.ticket)


async def _window(client: QueueClient, hall: HallRun, wake: asyncio.Event) -> None:
    """call_next -> start_service -> finish_service until every ticket of the hall is done;
    with nothing to call, wait for a queue_changed that concerns the window."""
    number = client.credentials.window
    assert number is not None
    while not hall.done.is_set():
        wake.clear()
        try:
            called = await client.request(CallNext, timeout=REQUEST_TIMEOUT)
        except ServerError as exc:
            assert exc.code is ErrorCode.QUEUE_EMPTY, exc
            hall.empty += 1
            await _first(wake, hall.done, timeout=IDLE_RECHECK)
            continue
        hall.called.append((number, called.ticket.id))
        started = await client.request(StartService, timeout=REQUEST_TIMEOUT)
        assert started.ticket.id == called.ticket.id
        finished = await client.request(FinishService, timeout=REQUEST_TIMEOUT)
        assert finished.ticket.id == called.ticket.id
        hall.finished.append(finished.ticket.id)
        if len(hall.finished) >= hall.tickets:
            hall.done.set()


async def _owners(processes: list[ServerProcess]) -> dict[str, list[int]]:
    """Which processes' /healthz say they own each hall (by the process's index)."""
    owners: dict[str, list[int]] = {code: [] for code, _ in HALLS}
    for index, process in enumerate(processes):
        _, _, body = await healthz(process.port)
        for code in body["halls"]:
            owners[code].append(index)
        assert sorted([*body["halls"], *body["elsewhere"]]) == sorted(owners), body
    return owners


def _read_hall(db_url: str, code: str) -> dict[str, Any]:
    """What the database holds of one hall, read by a connection of the test's own."""
    engine = make_plain_engine(db_url)
    try:
        with engine.connect() as db:
            hall_id = db.execute(
                text("SELECT id FROM hall WHERE code = :code"), {"code": code}
            ).scalar_one()
            where = {"hall": hall_id}
            tickets = {
                row[0]: {"number": row[1], "category": row[2], "state": row[3]}
                for row in db.execute(
                    text("SELECT id, number, category, state FROM ticket WHERE hall_id = :hall"),
                    where,
                )
            }
            events = [
                tuple(row)
                for row in db.execute(
                    text("SELECT seq, name, payload FROM event WHERE hall_id = :hall ORDER BY seq"),
                    where,
                )
            ]
            counters = dict(
                db.execute(
                    text("SELECT category, last FROM number_counter WHERE hall_id = :hall"),
                    where,
                ).all()
            )
            last_seq = db.execute(
                text("SELECT last_seq FROM hall WHERE id = :hall"), where
            ).scalar_one()
    finally:
        engine.dispose()
    return {"tickets": tickets, "events": events, "counters": counters, "last_seq": last_seq}


def _profiles(config: dict[str, Any]) -> dict[int, frozenset[str]]:
    profiles = {}
    for window in config["windows"]:
        profile = window["profile"]
        profiles[window["number"]] = frozenset() if profile == ALL_SUBJECTS else frozenset(profile)
    return profiles


@pytest.mark.timeout(RUN_TIMEOUT + 600)
async def test_processes_race_for_three_halls(
    district: tuple[str, list[dict[str, Any]], HallClockEnv], tmp_path: Path
) -> None:
    db_url, configs, env = district
    began = time.monotonic()
    processes = [
        ServerProcess(db_url, tmp_path / f"server-{n}.log", env()) for n in range(PROCESSES)
    ]

    halls = [
        HallRun(
            code=code,
            tag=tag,
            tickets=TICKETS // len(HALLS) + (1 if h < TICKETS % len(HALLS) else 0),
            categories=[c["code"] for c in config["categories"]],
            profiles=_profiles(config),
        )
        for h, ((code, tag), config) in enumerate(zip(HALLS, configs, strict=True))
    ]
    clients: list[QueueClient] = []
    watchers: list[asyncio.Task[None]] = []
    workers: list[asyncio.Task[None]] = []
    try:
        await asyncio.gather(*(p.start() for p in processes))  # they race for the leases
        started_at = await _owners(processes)
        up = time.monotonic()
        urls = [f"ws://127.0.0.1:{p.port}" for p in processes]

        def client(at: int, credentials: Credentials, since_seq: int | None = None) -> QueueClient:
            url = urls[at % PROCESSES]
            made = QueueClient(
                url, credentials, since_seq=since_seq, also=[u for u in urls if u != url]
            )
            clients.append(made)
            return made

        kiosks: list[tuple[QueueClient, HallRun, int, int]] = []
        windows: list[tuple[QueueClient, HallRun, asyncio.Event]] = []
        for h, hall in enumerate(halls):
            observer = client(
                h,
                Credentials(role=Role.ADMIN, user="zhuren", password=DEMO_PASSWORD, hall=hall.code),
                since_seq=0,
            )
            watchers.append(asyncio.create_task(_watch(observer, hall, observer=True)))
            for k in range(PROCESSES):
                kiosk = client(k, Credentials(role=Role.KIOSK, token=kiosk_token(hall.code, k)))
                count = hall.tickets // PROCESSES + (1 if k < hall.tickets % PROCESSES else 0)
                kiosks.append((kiosk, hall, count, k))
                watchers.append(asyncio.create_task(_watch(kiosk, hall)))
            for n in range(1, WINDOWS + 1):
                window = client(
                    n + h,
                    Credentials(
                        role=Role.WINDOW,
                        user=f"ck{n:02d}",
                        password=DEMO_PASSWORD,
                        window=n,
                        hall=hall.code,
                    ),
                )
                wake = asyncio.Event()
                windows.append((window, hall, wake))
                watchers.append(asyncio.create_task(_watch(window, hall, wake, hall.profiles[n])))
        await asyncio.wait_for(
            asyncio.gather(*(c.start(timeout=CONNECT_TIMEOUT) for c in clients)), CONNECT_TIMEOUT
        )
        connected = time.monotonic()

        workers = [
            *(asyncio.create_task(_kiosk(c, hall, count, k)) for c, hall, count, k in kiosks),
            *(asyncio.create_task(_window(c, hall, wake)) for c, hall, wake in windows),
        ]
        await asyncio.wait_for(asyncio.gather(*workers), RUN_TIMEOUT)
        ran = time.monotonic() - connected

        states = {hall.code: _read_hall(db_url, hall.code) for hall in halls}
        for hall in halls:  # the supervisor's live stream reaches the hall's last event
            last = states[hall.code]["last_seq"]
            async with asyncio.timeout(60):
                while not hall.observed or hall.observed[-1] < last:
                    hall.observed_more.clear()
                    await hall.observed_more.wait()
        ended_at = await _owners(processes)
    finally:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        await asyncio.gather(*(c.close() for c in clients))
        for task in watchers:
            task.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)
        for process in processes:
            await process.stop()

    total_issued = sum(len(h.issued) for h in halls)
    total_called = sum(len(h.called) for h in halls)
    print(
        f"\nrace: {PROCESSES} processes x {WINDOWS} windows x {TICKETS} tickets, "
        f"{len(HALLS)} halls ({'full' if FULL else 'reduced'} size)"
        f"\n  processes up after {up - began:.1f} s, {len(clients)} clients logged in "
        f"{connected - up:.1f} s later; "
        f"{total_issued} tickets issued, {total_called} called and finished in {ran:.1f} s "
        f"({total_called / ran:.1f} tickets/s)"
    )
    for hall in halls:
        print(
            f"  {hall.code}: {len(hall.issued)} tickets, {len(hall.called)} calls, "
            f"{hall.empty} empty calls, {len(states[hall.code]['events'])} events; owner "
            f"process {started_at[hall.code]} at the start, {ended_at[hall.code]} at the end"
        )

    for hall in halls:
        state = states[hall.code]
        tickets: dict[str, Any] = state["tickets"]
        events: list[tuple[int, str, str]] = state["events"]
        assert len(started_at[hall.code]) == len(ended_at[hall.code]) == 1  # one owner
        # Every acknowledged ticket is stored as acknowledged, once; nothing else is.
        assert len(hall.issued) == hall.tickets
        assert len({t.id for t in hall.issued}) == len(hall.issued)
        assert sorted(tickets) == sorted(t.id for t in hall.issued)
        for ticket in hall.issued:
            assert tickets[ticket.id]["number"] == ticket.number
        # No ticket was called twice; every acknowledged call and finish is stored.
        calls = [
            (json.loads(payload)["window"], json.loads(payload)["ticket"]["id"])
            for _, name, payload in events
            if name == "ticket_called"
        ]
        doubles = [t for t, n in Counter(t for _, t in calls).items() if n > 1]
        assert not doubles, f"{hall.code}: called twice: {doubles[:10]}"
        assert len({t for _, t in hall.called}) == len(hall.called)
        assert sorted(calls) == sorted(hall.called)
        assert sorted(hall.finished) == sorted(tickets)
        assert {t["state"] for t in tickets.values()} == {"done"}
        # Each category's numbers are unique and gapless from 1; its counter says so too.
        numbers: dict[str, list[int]] = {}
        for ticket in tickets.values():
            prefix = next(
                c
                for c in configs[halls.index(hall)]["categories"]
                if c["code"] == ticket["category"]
            )["prefix"]
            assert ticket["number"].startswith(prefix)
            numbers.setdefault(ticket["category"], []).append(int(ticket["number"][len(prefix) :]))
        for category, got in numbers.items():
            assert sorted(got) == list(range(1, len(got) + 1)), (hall.code, category)
            assert state["counters"][category] == len(got), (hall.code, category)
        # The hall's event seq is gapless from 1, in the store and on the live stream.
        seqs = [seq for seq, _, _ in events]
        assert seqs == list(range(1, len(seqs) + 1)), hall.code
        assert state["last_seq"] == seqs[-1]
        assert hall.observed == seqs, f"{hall.code}: the supervisor's stream has gaps"
        # No ticket of another hall in the hall's log, nor sent to the hall's clients.
        tags = Counter(m.group(1)[0] for _, _, p in events for m in TICKET_NUMBER.finditer(p))
        assert set(tags) == {hall.tag}, f"{hall.code}: tickets of other halls in its log: {tags}"
        assert set(hall.live_tags) == {hall.tag}, (hall.code, hall.live_tags)
