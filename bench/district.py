"""District benchmark (issue 13, "A district on one database"): the 12-hall demo district
served by 1, 2 and 4 `queue-server serve` processes on one PostgreSQL, beside 1 process on
SQLite, measured in the same run.

    .venv/bin/python -m bench.district [--quick] [--seconds 8] [--processes 1 2 4] [--json F]

Each configuration gets a fresh copy of one database made by `queue-server init` from a
copy of the demo district (queue_server/halls/district.toml and its hall files) with every
`hours` removed, so that every hall is open whatever the local time, and the staff's
password hashed with cheap argon2 parameters (logins are not measured here). The
PostgreSQL databases are in one cluster started for the run from the Debian binaries
(tests/postgres.py; default settings, synchronous_commit on). The N server processes are
started at the same moment, as a district's hosts would be, and each hall goes to
whichever process takes its lease first; the spread is read from every process's
/healthz. Clients are spread evenly over the processes in a seeded shuffle that does not
follow the halls' order: a client at a process that does not own its hall is forwarded by
that process to the owner (queue_server/server.py, `_forward`). The load generator is
this process (raw websockets, bench.server_load's wire client). Before the first
configuration, the disk alone: 1 KiB appended and fsynced 50 times a second.

  1. issue    8 kiosks, one in each of 8 halls, each sending its next issue_ticket when the
              last is acknowledged (--depth in flight), for --seconds: tickets/s, reply
              p50/p99 (also apart for the direct and the forwarded kiosks).
  2. call     8 windows (a 全科 window in each of the same 8 halls, at their tickets) loop
              call_next -> start_service -> finish_service as fast as the replies come, for
              --seconds: call cycles/s and commands/s. Double calls are counted at the end
              from the event table: every (hall, ticket) in at most one ticket_called.
  3. display  (--display-processes, default 1 and 2, on PostgreSQL, plus SQLite) every
              window of every hall logged in — 15 in the district hall, the 4 of each centre
              (the centre file has four windows and staff ck01..ck04: 59 windows in all, not
              12 x 15) — and 2 displays per hall, each at a random process; each hall calls
              on a Poisson schedule of --hall-rate calls/s (about one a second) on its next
              idle window, then starts and finishes the service; the time from sending
              call_next to each of the hall's displays receiving that ticket_called event,
              p50/p99/max, for --display-seconds.
  CPU         for phases 1 to 3, each server process's and PostgreSQL's CPU (utime + stime
              from /proc/PID/stat before and after; PostgreSQL's whole process tree, ended
              backends through the postmaster's cutime/cstime) and the load generator's,
              per command (a ticket; each of a cycle's three commands).

Every figure is from one run on a shared machine: compare the ratios within a run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w
from argon2 import PasswordHasher
from sqlalchemy import text

from bench.hall_core import fsync_probe, login, paced
from bench.server_load import (
    DEMO_PASSWORD,
    Conn,
    ProtocolFailure,
    close_all,
    percentile,
    raise_open_file_limit,
    server_command,
    stop_process,
)
from queue_server.hallconfig import (
    ALL_SUBJECTS,
    demo_district_path,
    file_code,
    read_district,
    read_toml,
)
from queue_server.store.engine import make_plain_engine

QUEUE_SERVER = str(Path(sys.executable).with_name("queue-server"))
LISTENING = "queue-server listening on ws://127.0.0.1:"
START_TIMEOUT = 90.0  # several servers start at once on two cores
LOAD_HALLS = 8  # halls with a kiosk and a window in phases 1 and 2
DRAIN_SECONDS = 10.0  # after the last paced call, wait this long at most for the displays
CLK_TCK = os.sysconf("SC_CLK_TCK")


def say(text: str, _t0: float = time.monotonic()) -> None:
    print(f"[{time.monotonic() - _t0:5.1f} s] {text}", flush=True)


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def lat(seconds: list[float]) -> dict[str, float | int]:
    return {
        "n": len(seconds),
        "p50_ms": ms(percentile(seconds, 50)),
        "p99_ms": ms(percentile(seconds, 99)),
        "max_ms": ms(max(seconds, default=0.0)),
    }


# ---------------------------------------------------------------------------------------
# The district, always open


@dataclass(eq=False)  # by identity: a hall's plan is one object
class HallPlan:
    code: str
    kiosk_token: str
    display_token: str
    windows: list[int]  # every window; staff ckNN works at window N
    all_subjects: list[int]  # the 全科 windows
    categories: list[str]  # every category (phase 3)
    unlimited: list[str]  # those without a daily capacity (phases 1 and 2)


def always_open_district(workdir: Path) -> Path:
    """A copy of the demo district and its hall files without any opening hours (a hall
    without hours is always open), so that no centre is closed at the bench's local time.

    The staff keep their password, hashed with the cheapest argon2id parameters: the 59
    window logins of phase 3 then take a second, not half a minute of the two niced
    checker threads (the demo's hashes cost 64 MiB and 3 passes each). Logins under load
    are bench.login_flood's subject, not this one's."""
    source = demo_district_path()
    district = read_toml(source)
    for entry in district["halls"]:
        entry.pop("hours", None)
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(DEMO_PASSWORD)
    for name in sorted({entry["file"] for entry in district["halls"]}):
        hall = read_toml(source.parent / name)
        hall.get("hall", {}).pop("hours", None)
        for account in hall.get("staff", []):
            account["password_hash"] = cheap
        (workdir / name).write_text(tomli_w.dumps(hall), encoding="utf-8")
    path = workdir / "district.toml"
    path.write_text(tomli_w.dumps(district), encoding="utf-8")
    return path


def plan_halls(district: Path) -> list[HallPlan]:
    plans = []
    for hall in read_district(district):
        code = file_code(hall)
        assert code is not None
        tokens = {d["kind"]: d["token"] for d in hall.get("devices", []) if not d.get("zone")}
        windows = sorted(w["number"] for w in hall["windows"])
        staff = {s["account"] for s in hall["staff"]}
        missing = [n for n in windows if f"ck{n:02d}" not in staff]
        if missing:
            raise SystemExit(f"{code}: no staff ckNN for the windows {missing}")
        plans.append(
            HallPlan(
                code=code,
                kiosk_token=tokens["kiosk"],
                display_token=tokens["display"],
                windows=windows,
                all_subjects=[w["number"] for w in hall["windows"] if w["profile"] == ALL_SUBJECTS],
                categories=[c["code"] for c in hall["categories"]],
                unlimited=[
                    c["code"] for c in hall["categories"] if c.get("daily_capacity") is None
                ],
            )
        )
    return sorted(plans, key=lambda p: p.code)


def init_district(db_url: str, district: Path) -> None:
    done = subprocess.run(
        [QUEUE_SERVER, "init", str(district), "--db", db_url],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"queue-server init failed:\n{done.stderr[-2000:]}")


# ---------------------------------------------------------------------------------------
# CPU from /proc


def _stat(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
        return f.read().rsplit(")", 1)[1].split()  # fields from the 3rd (state) on


def cpu_of(pid: int) -> float:
    """utime + stime of one process, seconds."""
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def tree_cpu(root: int) -> float:
    """A process tree's CPU: the root, its live children, and (through the root's cutime
    and cstime) the children it has reaped, such as PostgreSQL backends that ended."""
    fields = _stat(root)
    total = sum(int(fields[k]) for k in (11, 12, 13, 14)) / CLK_TCK
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            child = _stat(int(entry))
            if int(child[1]) == root:
                total += (int(child[11]) + int(child[12])) / CLK_TCK
    return total


@dataclass
class CpuMeter:
    """CPU seconds of every server process, of PostgreSQL and of this process over a phase."""

    servers: list[int]
    postgres: int | None
    wall: float = field(default_factory=time.perf_counter)
    start: dict[str, float] = field(default_factory=dict)

    def _now(self) -> dict[str, float]:
        now = {f"server {n + 1}": cpu_of(pid) for n, pid in enumerate(self.servers)}
        if self.postgres is not None:
            now["postgresql"] = tree_cpu(self.postgres)
        now["load generator"] = cpu_of(os.getpid())
        return now

    def __post_init__(self) -> None:
        self.start = self._now()

    def result(self, commands: int) -> dict[str, Any]:
        wall = time.perf_counter() - self.wall
        used = {k: v - self.start[k] for k, v in self._now().items()}
        return {
            "wall_s": round(wall, 2),
            "commands": commands,
            "cpu_s": {k: round(v, 3) for k, v in used.items()},
            "pct_of_a_core": {k: round(100 * v / wall, 1) for k, v in used.items()},
            "ms_per_command": {k: round(1000 * v / max(1, commands), 3) for k, v in used.items()},
        }


# ---------------------------------------------------------------------------------------
# The server processes


@dataclass
class Servers:
    procs: list[subprocess.Popen[bytes]]
    ports: list[int]
    owner: dict[str, int]  # hall code -> index of the process that owns it

    def url(self, n: int) -> str:
        return f"ws://127.0.0.1:{self.ports[n]}"

    def spread(self) -> list[list[str]]:
        return [sorted(h for h, p in self.owner.items() if p == n) for n in range(len(self.procs))]


def healthz(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
        body: dict[str, Any] = json.loads(response.read())
        return body


@contextlib.contextmanager
def server_processes(db_url: str, count: int, halls: list[str], workdir: Path) -> Iterator[Servers]:
    """Start `count` servers at once on one database; yield them once every hall has an
    owner; always terminate them."""
    procs: list[subprocess.Popen[bytes]] = []
    outs = [workdir / f"server-{n + 1}.out" for n in range(count)]
    try:
        for n in range(count):
            with outs[n].open("wb") as out, (workdir / f"server-{n + 1}.log").open("wb") as log:
                procs.append(
                    subprocess.Popen(
                        server_command(db_url), stdout=out, stderr=log, stdin=subprocess.DEVNULL
                    )
                )
        ports = [
            _port(proc, out, workdir / f"server-{n + 1}.log")
            for n, (proc, out) in enumerate(zip(procs, outs, strict=True))
        ]
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            owner = {h: n for n, port in enumerate(ports) for h in healthz(port)["halls"]}
            if set(owner) >= set(halls) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        if set(owner) < set(halls):
            raise RuntimeError(f"halls without an owner: {sorted(set(halls) - set(owner))}")
        yield Servers(procs, ports, owner)
    finally:
        for proc in procs:
            stop_process(proc)


def _port(proc: subprocess.Popen[bytes], out: Path, log: Path) -> int:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        for line in out.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith(LISTENING):
                return int(line[len(LISTENING) :].strip())
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
    raise RuntimeError(f"a server did not start (exit code {proc.poll()}):\n{tail}")


def spread_evenly(count: int, processes: int, rng: random.Random) -> list[int]:
    """`count` clients' processes: each process equally often, in a shuffled order."""
    order = [n % processes for n in range(count)]
    rng.shuffle(order)
    return order


# ---------------------------------------------------------------------------------------
# Clients


@dataclass
class Client:
    conn: Conn
    hall: HallPlan
    process: int
    forwarded: bool  # its process is not its hall's owner


async def open_device(
    servers: Servers,
    hall: HallPlan,
    process: int,
    role: str,
    on_event: Callable[[str, float], None] | None = None,
) -> Client:
    token = hall.kiosk_token if role == "kiosk" else hall.display_token
    hello = {"role": role, "token": token, "hall": hall.code, "client": "bench"}
    conn = await Conn.open(servers.url(process), hello, on_event)
    return Client(conn, hall, process, servers.owner[hall.code] != process)


async def open_window(
    servers: Servers, hall: HallPlan, number: int, process: int, gate: asyncio.Semaphore
) -> Client:
    hello = {
        "role": "window",
        "user": f"ck{number:02d}",
        "password": DEMO_PASSWORD,
        "window": number,
        "hall": hall.code,
        "client": "bench",
    }
    async with gate:  # the server keeps a few password checks waiting at most
        conn = await login(servers.url(process), hello, None)
    return Client(conn, hall, process, servers.owner[hall.code] != process)


async def gather_clients(opening: list[Awaitable[Client]]) -> list[Client]:
    results = await asyncio.gather(*opening, return_exceptions=True)
    clients = [r for r in results if isinstance(r, Client)]
    failures = [r for r in results if isinstance(r, BaseException)]
    if failures:
        await close_clients(clients)
        raise ProtocolFailure(f"{len(failures)} of {len(results)} hellos failed: {failures[0]!r}")
    return clients


async def close_clients(clients: list[Client]) -> None:
    await close_all([c.conn for c in clients])


# ---------------------------------------------------------------------------------------
# A district's load


@dataclass
class District:
    servers: Servers
    halls: list[HallPlan]
    postgres: int | None  # the postmaster's pid
    rng: random.Random
    waiting: Counter[tuple[str, str]] = field(default_factory=Counter)  # (hall, category)

    def meter(self) -> CpuMeter:
        return CpuMeter([p.pid for p in self.servers.procs], self.postgres)

    @property
    def processes(self) -> int:
        return len(self.servers.procs)

    async def kiosks(self, halls: list[HallPlan]) -> list[Client]:
        at = spread_evenly(len(halls), self.processes, self.rng)
        return await gather_clients(
            [open_device(self.servers, h, p, "kiosk") for h, p in zip(halls, at, strict=True)]
        )

    async def issue(
        self, kiosks: list[Client], seconds: float, depth: int, categories: str
    ) -> dict[str, Any]:
        """Each kiosk keeps `depth` issue_ticket requests in flight for `seconds`."""
        ok = 0
        errors: Counter[str] = Counter()
        took: dict[bool, list[float]] = {False: [], True: []}  # by forwarded
        deadline = time.monotonic() + seconds

        async def lane(kiosk: Client, first: int) -> None:
            nonlocal ok
            codes = getattr(kiosk.hall, categories)
            for n in itertools.count(first):
                if time.monotonic() >= deadline:
                    return
                category = codes[n % len(codes)]
                reply, latency = await kiosk.conn.send(
                    {"type": "issue_ticket", "category": category}
                )
                if reply["type"] == "ok":
                    ok += 1
                    took[kiosk.forwarded].append(latency)
                    self.waiting[kiosk.hall.code, category] += 1
                else:
                    errors[str(reply.get("code"))] += 1

        meter = self.meter()
        started = time.perf_counter()
        await asyncio.gather(*(lane(k, d) for k in kiosks for d in range(depth)))
        elapsed = time.perf_counter() - started
        return {
            "kiosks": len(kiosks),
            "forwarded": sum(k.forwarded for k in kiosks),
            "depth": depth,
            "tickets": ok,
            "per_s": round(ok / elapsed, 1),
            "errors": dict(errors),
            "latency": lat(took[False] + took[True]),
            "direct": lat(took[False]),
            "via_forward": lat(took[True]),
            "cpu": meter.result(ok),
        }

    async def stock(self, need: dict[tuple[str, str], int]) -> int:
        """Issue (untimed) until each (hall, category) has at least `need` tickets waiting."""
        todo = {k: n - self.waiting[k] for k, n in need.items() if n > self.waiting[k]}
        if not todo:
            return 0
        by_code = {h.code: h for h in self.halls}
        halls = sorted({by_code[code] for code, _ in todo}, key=lambda h: h.code)
        kiosks = await self.kiosks(halls)
        try:

            async def fill(kiosk: Client) -> None:
                work = [c for (h, c), n in todo.items() if h == kiosk.hall.code for _ in range(n)]

                async def lane() -> None:
                    while work:
                        category = work.pop()
                        reply, _ = await kiosk.conn.send(
                            {"type": "issue_ticket", "category": category}
                        )
                        if reply["type"] != "ok":
                            raise ProtocolFailure(f"stocking {kiosk.hall.code}: {reply}")
                        self.waiting[kiosk.hall.code, category] += 1

                await asyncio.gather(*(lane() for _ in range(4)))

            await asyncio.gather(*(fill(k) for k in kiosks))
        finally:
            await close_clients(kiosks)
        return sum(todo.values())

    def called(self, hall: str, reply: dict[str, Any]) -> None:
        self.waiting[hall, reply["ticket"]["category"]] -= 1

    async def windows(self, which: list[tuple[HallPlan, int]]) -> list[Client]:
        at = spread_evenly(len(which), self.processes, self.rng)
        gate = asyncio.Semaphore(8)
        return await gather_clients(
            [
                open_window(self.servers, hall, number, p, gate)
                for (hall, number), p in zip(which, at, strict=True)
            ]
        )

    async def call(self, staff: list[Client], seconds: float) -> dict[str, Any]:
        """Each window loops call_next -> start_service -> finish_service for `seconds`."""
        errors: Counter[str] = Counter()
        commands = cycles = 0
        ran_out = False
        deadline = time.monotonic() + seconds

        async def work(window: Client) -> None:
            nonlocal commands, cycles, ran_out
            while time.monotonic() < deadline:
                reply, _ = await window.conn.send({"type": "call_next"})
                commands += 1
                if reply["type"] != "ok":
                    errors[f"call_next: {reply.get('code')}"] += 1
                    ran_out = ran_out or reply.get("code") == "queue_empty"
                    return
                self.called(window.hall.code, reply)
                for verb in ("start_service", "finish_service"):
                    reply, _ = await window.conn.send({"type": verb})
                    commands += 1
                    if reply["type"] != "ok":
                        errors[f"{verb}: {reply.get('code')}"] += 1
                        return
                cycles += 1

        meter = self.meter()
        started = time.perf_counter()
        await asyncio.gather(*(work(w) for w in staff))
        elapsed = time.perf_counter() - started
        return {
            "windows": len(staff),
            "forwarded": sum(w.forwarded for w in staff),
            "cycles": cycles,
            "commands": commands,
            "cycles_per_s": round(cycles / elapsed, 1),
            "commands_per_s": round(commands / elapsed, 1),
            "errors": dict(errors),
            "queue_ran_out": ran_out,
            "cpu": meter.result(commands),
        }

    async def display(self, rate: float, seconds: float) -> dict[str, Any]:
        """Every window and 2 displays per hall; each hall calls at `rate` per second."""
        sent: dict[tuple[str, str], tuple[float, bool]] = {}  # (hall, ticket) -> at, forwarded
        received: list[tuple[str, str, float, bool]] = []  # hall, ticket, at, display forwarded
        errors: Counter[str] = Counter()

        def screen(hall: HallPlan, process: int) -> Awaitable[Client]:
            forwarded = self.servers.owner[hall.code] != process

            def on_event(frame: str, now: float) -> None:
                if '"name":"ticket_called"' in frame:
                    ticket = json.loads(frame)["ticket"]["id"]
                    received.append((hall.code, ticket, now, forwarded))

            return open_device(self.servers, hall, process, "display", on_event)

        screens = await gather_clients(
            [screen(h, self.rng.randrange(self.processes)) for h in self.halls for _ in range(2)]
        )
        login = time.perf_counter()
        try:
            staff = await self.windows([(h, n) for h in self.halls for n in h.windows])
        except BaseException:
            await close_clients(screens)
            raise
        login_s = time.perf_counter() - login
        await asyncio.sleep(1.0)  # the logins' events are out before timing

        async def call(window: Client) -> None:
            at = time.perf_counter()
            reply, _ = await window.conn.send({"type": "call_next"})
            if reply["type"] != "ok":
                errors[f"call_next: {reply.get('code')}"] += 1
                return
            self.called(window.hall.code, reply)
            sent[window.hall.code, reply["ticket"]["id"]] = (at, window.forwarded)
            for verb in ("start_service", "finish_service"):
                reply, _ = await window.conn.send({"type": verb})
                if reply["type"] != "ok":
                    errors[f"{verb}: {reply.get('code')}"] += 1
                    return

        meter = self.meter()
        start = time.perf_counter()
        try:
            paces = await asyncio.gather(
                *(
                    _paced_hall(
                        [w for w in staff if w.hall is hall],
                        rate,
                        seconds,
                        call,
                        random.Random(f"{hall.code}-{self.rng.random()}"),
                    )
                    for hall in self.halls
                )
            )
            expected = 2 * len(sent)
            deadline = time.monotonic() + DRAIN_SECONDS
            while sum(1 for r in received if r[:2] in sent) < expected:
                if time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.05)
            cpu = meter.result(3 * len(sent))
        finally:
            await close_clients(staff)
            await close_clients(screens)

        def latencies(keep: Callable[[bool, bool], bool]) -> list[float]:
            return [
                at - sent[hall, ticket][0]
                for hall, ticket, at, display_fwd in received
                if (hall, ticket) in sent and keep(sent[hall, ticket][1], display_fwd)
            ]

        calls = len(sent)
        # When the slowest receipts happened: one stall of the machine, or all along?
        worst = sorted(
            (
                (ms(at - sent[hall, ticket][0]), round(sent[hall, ticket][0] - start, 2), hall)
                for hall, ticket, at, _ in received
                if (hall, ticket) in sent
            ),
            reverse=True,
        )[:10]
        return {
            "halls": len(self.halls),
            "windows": len(staff),
            "windows_forwarded": sum(w.forwarded for w in staff),
            "displays": len(screens),
            "displays_forwarded": sum(s.forwarded for s in screens),
            "window_login_s": round(login_s, 1),
            "calls": calls,
            "calls_per_s": round(calls / seconds, 2),
            "late": sum(p for p in paces),
            "receipts": len(latencies(lambda w, d: True)),
            "expected": 2 * calls,
            "latency": lat(latencies(lambda w, d: True)),
            "display_direct": lat(latencies(lambda w, d: not d)),
            "display_forwarded": lat(latencies(lambda w, d: d)),
            "both_direct": lat(latencies(lambda w, d: not w and not d)),
            "errors": dict(errors),
            "cpu": cpu,
            "worst": [{"ms": m, "sent_at_s": t, "hall": h} for m, t, h in worst],
        }


def double_calls(db_url: str) -> dict[str, int]:
    """From the event table: (hall, ticket) pairs in more than one ticket_called event."""
    engine = make_plain_engine(db_url)
    try:
        with engine.connect() as db:
            rows = db.execute(
                text("SELECT hall_id, payload FROM event WHERE name = 'ticket_called'")
            ).all()
    finally:
        engine.dispose()
    calls = Counter((hall, json.loads(payload)["ticket"]["id"]) for hall, payload in rows)
    return {"calls": len(rows), "tickets": len(calls), "double": sum(n > 1 for n in calls.values())}


# ---------------------------------------------------------------------------------------
# One configuration: a store and a number of processes


@dataclass
class Setup:
    store: str
    processes: int
    display: bool

    @property
    def name(self) -> str:
        return f"{self.store} x{self.processes}"


async def load(
    servers: Servers, halls: list[HallPlan], postgres: int | None, setup: Setup, args: Any
) -> dict[str, Any]:
    district = District(servers, halls, postgres, random.Random(f"district-{setup.processes}"))
    # The load halls: the district hall among them (the codes' order puts it 5th).
    busy = halls[:LOAD_HALLS]
    res: dict[str, Any] = {"spread": servers.spread(), "load_avg": round(os.getloadavg()[0], 2)}
    kiosks = await district.kiosks(busy)
    try:
        say(f"  1. issue: {len(kiosks)} kiosks x {args.depth}, {args.seconds:g} s")
        res["issue"] = i = await district.issue(kiosks, args.seconds, args.depth, "unlimited")
    finally:
        await close_clients(kiosks)
    say(f"     {i['per_s']} tickets/s, p50 {i['latency']['p50_ms']} ms ({i['forwarded']} fwd)")

    # As many tickets as phase 1 gave each hall: a cycle is three commits to an issue's one.
    floor = math.ceil(i["per_s"] / len(busy) * args.seconds) + 10
    need: dict[tuple[str, str], int] = {}
    for h in busy:
        short = floor - sum(district.waiting[h.code, c] for c in h.unlimited)
        if short > 0:
            need[h.code, h.unlimited[0]] = district.waiting[h.code, h.unlimited[0]] + short
    stocked = await district.stock(need)
    staff = await district.windows([(h, h.all_subjects[0]) for h in busy])
    try:
        await asyncio.sleep(0.5)  # the logins' and the stocking's events are out
        say(f"  2. calls: {len(staff)} windows, {args.seconds:g} s ({stocked} tickets stocked)")
        res["call"] = c = await district.call(staff, args.seconds)
    finally:
        await close_clients(staff)
    say(f"     {c['cycles_per_s']} cycles/s, {c['commands_per_s']} commands/s")

    if setup.display:
        # Twice a hall's share of calls per category: a window of one or two categories
        # finds a ticket (a queue_empty would be counted among the errors).
        calls = args.hall_rate * args.display_seconds
        need = {
            (h.code, cat): math.ceil(2 * calls / len(h.categories)) + 3
            for h in halls
            for cat in h.categories
        }
        stocked = await district.stock(need)
        say(
            f"  3. display: every window, 2 displays per hall, {args.hall_rate:g} call/s per "
            f"hall, {args.display_seconds:g} s ({stocked} tickets stocked)"
        )
        res["display"] = d = await district.display(args.hall_rate, args.display_seconds)
        say(
            f"     p50 {d['latency']['p50_ms']} ms, p99 {d['latency']['p99_ms']} ms "
            f"(logins {d['window_login_s']} s)"
        )
    return res


def run_setup(
    setup: Setup,
    db_url: str,
    halls: list[HallPlan],
    postgres: int | None,
    workdir: Path,
    args: Any,
) -> dict[str, Any]:
    logs = workdir / setup.name.replace(" ", "")
    logs.mkdir()
    with server_processes(db_url, setup.processes, [h.code for h in halls], logs) as servers:
        say(f"  {setup.processes} server(s) on ports {servers.ports}; halls {servers.spread()}")
        try:
            res = asyncio.run(load(servers, halls, postgres, setup, args))
        except BaseException:
            for log in sorted(logs.glob("*.log")):
                print(f"{log.name} (tail):\n{log.read_text(errors='replace')[-2000:]}")
            raise
    res["double_calls"] = double_calls(db_url)
    return res


class Databases:
    """The district initialised once per store by `queue-server init`, then copied for each
    configuration: a SQLite file by SQLite's backup, a PostgreSQL database as
    `CREATE DATABASE ... TEMPLATE` of the initialised one (the same contents, in a second
    rather than the init's ten or more on this machine)."""

    def __init__(self, cluster: Any, workdir: Path, district: Path) -> None:
        self.cluster, self.workdir, self.district = cluster, workdir, district
        self.postmaster = int((cluster.data / "postmaster.pid").read_text().split()[0])
        self._sqlite: Path | None = None
        self._template: str | None = None
        self._count = itertools.count(1)

    def sqlite(self) -> str:
        if self._sqlite is None:
            self._sqlite = self.workdir / "district-template.db"
            init_district(f"sqlite:///{self._sqlite}", self.district)
        copy = self.workdir / f"district-{next(self._count)}.db"
        with sqlite3.connect(self._sqlite) as source, sqlite3.connect(copy) as target:
            source.backup(target)
        return f"sqlite:///{copy}"

    def postgresql(self) -> str:
        import psycopg

        if self._template is None:
            url = self.cluster.database()
            init_district(url, self.district)
            self._template = url.rsplit("/", 1)[1]
        name = f"district_{next(self._count)}"
        with psycopg.connect(
            f"host=127.0.0.1 port={self.cluster.port} user=postgres dbname=postgres",
            autocommit=True,
        ) as connection:
            connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self._template}"')
        return str(self.cluster.url(name))


@contextlib.contextmanager
def postgres_cluster() -> Iterator[Any]:
    """A PostgreSQL cluster for the run, as the tests start one (tests/postgres.py)."""
    from tests.postgres import PostgresCluster, binaries

    found = binaries()
    if found is None:
        raise SystemExit("PostgreSQL is not installed: apt-get install postgresql")
    cluster = PostgresCluster(found).start()
    try:
        yield cluster
    finally:
        cluster.stop()


# ---------------------------------------------------------------------------------------
# Report


def report(results: dict[str, dict[str, Any]], args: argparse.Namespace, head: str) -> str:
    names = list(results)
    base_name = next((n for n in names if n == "postgresql x1"), names[0])
    base = results[base_name]

    def cell(name: str, value: float, unit: str, basis: float | None) -> str:
        text = f"{value:,.0f}{unit}" if value >= 100 else f"{value:.1f}{unit}"
        if basis and name != base_name:
            text += f" ({value / basis:.2f}x)"
        return text

    def row(label: str, fn: Callable[[str, dict[str, Any]], str]) -> list[str]:
        return [label, *(fn(n, results[n]) for n in names)]

    def spread(_: str, r: dict[str, Any]) -> str:
        return " + ".join(str(len(h)) for h in r["spread"])

    def path(r: dict[str, Any], key: str) -> str:
        d = r[key]
        return f"{d['p50_ms']:.1f} / {d['p99_ms']:.1f}" if d["n"] else "-"

    def title(name: str) -> str:
        store, count = name.split(" x")
        label = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[store]
        return f"{label}, {count} proc{'' if count == '1' else 's'}"

    rows = [
        ["", *(title(n) for n in names)],
        row("load average (1 min) at its start", lambda n, r: f"{r['load_avg']:.1f}"),
        row("halls owned per process (/healthz)", spread),
        row(
            f"1 issue_ticket, {args.kiosks} kiosks x {args.depth}, tickets/s",
            lambda n, r: cell(n, r["issue"]["per_s"], "/s", base["issue"]["per_s"]),
        ),
        row("  reply p50 / p99 ms", lambda n, r: path(r["issue"], "latency")),
        row("  direct kiosks p50 / p99 ms", lambda n, r: path(r["issue"], "direct")),
        row("  forwarded kiosks p50 / p99 ms", lambda n, r: path(r["issue"], "via_forward")),
        row(
            "  kiosks forwarded",
            lambda n, r: f"{r['issue']['forwarded']} of {r['issue']['kiosks']}",
        ),
        row(
            f"2 call cycles, {args.kiosks} windows, cycles/s",
            lambda n, r: (
                cell(n, r["call"]["cycles_per_s"], "/s", base["call"]["cycles_per_s"])
                + (" RAN OUT" if r["call"]["queue_ran_out"] else "")
            ),
        ),
        row("  commands/s", lambda n, r: f"{r['call']['commands_per_s']:,.0f}/s"),
        row(
            "  windows forwarded",
            lambda n, r: f"{r['call']['forwarded']} of {r['call']['windows']}",
        ),
        row(
            "  double calls (event table)",
            lambda n, r: f"{r['double_calls']['double']} of {r['double_calls']['tickets']}",
        ),
    ]
    if any("display" in r for r in results.values()):

        def disp(fn: Callable[[dict[str, Any]], str]) -> Callable[[str, dict[str, Any]], str]:
            return lambda n, r: fn(r["display"]) if "display" in r else "-"

        rows += [
            row(
                f"3 call -> display, {args.hall_rate:g}/s per hall: p50 / p99 / max ms",
                disp(
                    lambda d: (
                        f"{d['latency']['p50_ms']:.1f} / {d['latency']['p99_ms']:.1f} / "
                        f"{d['latency']['max_ms']:.0f}"
                    )
                ),
            ),
            row("  display direct p50 / p99", disp(lambda d: path(d, "display_direct"))),
            row("  display forwarded p50 / p99", disp(lambda d: path(d, "display_forwarded"))),
            row("  window & display direct p50 / p99", disp(lambda d: path(d, "both_direct"))),
            row(
                "  calls (/s); receipts of expected",
                disp(
                    lambda d: (
                        f"{d['calls']} ({d['calls_per_s']:g}/s); {d['receipts']}/{d['expected']}"
                    )
                ),
            ),
            row(
                "  windows / displays forwarded",
                disp(
                    lambda d: (
                        f"{d['windows_forwarded']}/{d['windows']}, "
                        f"{d['displays_forwarded']}/{d['displays']}"
                    )
                ),
            ),
        ]
    phases = [("issue", "per ticket"), ("call", "per command"), ("display", "per command")]
    for phase, per in phases:
        if not any(phase in r for r in results.values()):
            continue
        rows.append(row(f"CPU {phase}: % of a core, servers", _cpu(phase, "pct")))
        rows.append(row(f"  ms {per}, servers", _cpu(phase, "ms")))
        rows.append(row("  PostgreSQL %, ms", _other(phase, "postgresql")))
        rows.append(row("  load generator %, ms", _other(phase, "load generator")))
    errors = {
        n: {k: r[k]["errors"] for k in ("issue", "call", "display") if k in r and r[k]["errors"]}
        for n, r in results.items()
    }
    widths = [max(len(r[k]) for r in rows) for k in range(len(rows[0]))]
    lines = [head, ""]
    for n, cells in enumerate(rows):
        lines.append("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines.append("")
    lines.append(
        f"(x) = ratio to {base_name}; halls per process: "
        + "; ".join(
            f"{n}: " + " | ".join(",".join(h) or "(none)" for h in r["spread"])
            for n, r in results.items()
            if len(r["spread"]) > 1
        )
    )
    if any(errors.values()):
        lines.append(
            f"errors: {json.dumps({k: v for k, v in errors.items() if v}, ensure_ascii=False)}"
        )
    return "\n".join(lines)


Cell = Callable[[str, dict[str, Any]], str]


def _cpu(phase: str, what: str) -> Cell:
    """The servers' CPU in a phase: % of a core or ms per command, each process and the sum."""
    key = "pct_of_a_core" if what == "pct" else "ms_per_command"
    digits = 0 if what == "pct" else 2

    def cell(_: str, r: dict[str, Any]) -> str:
        if phase not in r:
            return "-"
        values = [v for k, v in r[phase]["cpu"][key].items() if k.startswith("server")]
        each = " + ".join(f"{v:.{digits}f}" for v in values)
        return each if len(values) == 1 else f"{each} = {sum(values):.{digits}f}"

    return cell


def _other(phase: str, who: str) -> Cell:
    """PostgreSQL's or the load generator's CPU in a phase: % of a core, ms per command."""

    def cell(_: str, r: dict[str, Any]) -> str:
        if phase not in r or who not in r[phase]["cpu"]["pct_of_a_core"]:
            return "-"
        cpu = r[phase]["cpu"]
        return f"{cpu['pct_of_a_core'][who]:.0f}%, {cpu['ms_per_command'][who]:.2f}"

    return cell


# ---------------------------------------------------------------------------------------
# Driver


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench.district",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--quick", action="store_true", help="a short smoke run (2 s phases)")
    p.add_argument("--seconds", type=float, default=8.0, help="length of phases 1 and 2")
    p.add_argument("--display-seconds", type=float, default=20.0, help="length of phase 3")
    p.add_argument("--hall-rate", type=float, default=1.0, help="phase 3: calls/s per hall")
    p.add_argument("--depth", type=int, default=1, help="phase 1: issues in flight per kiosk")
    p.add_argument(
        "--processes", type=int, nargs="+", default=[1, 2, 4], help="PostgreSQL process counts"
    )
    p.add_argument(
        "--display-processes",
        type=int,
        nargs="*",
        default=[1, 2],
        help="the PostgreSQL process counts that also run phase 3 (SQLite always does)",
    )
    p.add_argument("--no-sqlite", action="store_true", help="leave out the SQLite comparison")
    p.add_argument("--seed", type=int, default=13, help="the clients' spread over processes")
    p.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = p.parse_args(argv)
    args.kiosks = LOAD_HALLS
    if args.quick:
        args.seconds, args.display_seconds = 2.0, 4.0
    if min(args.processes) < 1 or args.depth < 1 or args.seconds <= 0 or args.hall_rate <= 0:
        p.error("process counts and --depth at least 1; --seconds and --hall-rate positive")
    return args


async def _paced_hall(
    workers: list[Client],
    rate: float,
    seconds: float,
    job: Callable[[Client], Awaitable[None]],
    rng: random.Random,
) -> int:
    """bench.hall_core.paced over one hall's workers, in an order of `rng`'s: the ticks that
    found none idle (and waited for one)."""
    shuffled = rng.sample(workers, len(workers))
    pace = await paced(shuffled, rate, seconds, lambda worker, _n: job(worker), rng)
    return int(pace["late"])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    load_start = os.getloadavg()[0]
    raise_open_file_limit(4096)
    setups = [] if args.no_sqlite else [Setup("sqlite", 1, True)]
    setups += [Setup("postgresql", n, n in args.display_processes) for n in args.processes]
    results: dict[str, dict[str, Any]] = {}
    with (
        tempfile.TemporaryDirectory(prefix="yichuang-district-") as tmp,
        postgres_cluster() as cluster,
    ):
        workdir = Path(tmp)
        district_file = always_open_district(workdir)
        halls = plan_halls(district_file)
        databases = Databases(cluster, workdir, district_file)
        # Every commit waits for an fsync of this disk (SQLite's and PostgreSQL's alike).
        disk = fsync_probe(workdir, 50, 1.0 if args.quick else 2.0)
        say(
            f"{len(halls)} halls, {sum(len(h.windows) for h in halls)} windows; PostgreSQL "
            f"postmaster pid {databases.postmaster}; fsync p50 {disk['p50_ms']} ms, "
            f"p99 {disk['p99_ms']} ms"
        )
        for setup in setups:
            say(f"{setup.name}: the district's database")
            if setup.store == "sqlite":
                db_url, pg = databases.sqlite(), None
            else:
                db_url, pg = databases.postgresql(), databases.postmaster
            results[setup.name] = run_setup(setup, db_url, halls, pg, workdir, args)
    head = (
        f"Yichuang district benchmark: 12-hall demo district; phases {args.seconds:g} s "
        f"(display {args.display_seconds:g} s); {time.monotonic() - started:.0f} s in all; "
        f"{os.cpu_count()} CPUs, load avg {load_start:.2f} -> {os.getloadavg()[0]:.2f}; "
        f"the disk: fsync p50 {disk['p50_ms']:.1f} ms, p99 {disk['p99_ms']:.1f} ms, "
        f"max {disk['max_ms']:.1f} ms"
    )
    print()
    print(report(results, args, head))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
