"""Hall core benchmark: issue and call throughput, call -> display latency, CPU and memory,
each set against a minimal durable websockets + SQLite server measured in the same run.

    .venv/bin/python -m bench.hall_core [--seconds 8] [--store postgresql] [--json out.json]

The Yichuang server runs in its own process (`queue-server serve`, as in bench.server_load,
whose hall, process and wire-client helpers are reused) on a scratch hall of 100 全科
windows (a SQLite file, or with --store postgresql a PostgreSQL cluster started for the
run); the yardstick, bench.reference_server, runs in its own process too, so one load
generator (this process, raw websockets) drives both. Every phase is bounded in time.

  1. issue      8 kiosks, each keeping 4 issue_ticket requests in flight, for --seconds:
                tickets/s; then the same clients and requests against the reference server
                in group-commit mode (the ratio) and, for half as long, commit-per-request.
  2. call       8 windows, then 30 (no other connections; run after phase 3, on the
                first 30 then 8 of its window sessions, the others closed): each loops
                call_next -> start_service -> finish_service as fast as the replies come,
                for --seconds; commands/s (every verb counts) and call cycles/s. Enough
                tickets are issued beforehand (not timed); should the queue still run dry,
                the burst ends at the first queue_empty and is flagged. Double calls are
                checked over the whole run: every ticket id in a call_next reply at most once.
  3. display    hall pace: 100 windows and 20 displays logged in; calls start on a Poisson
                schedule of --rate calls/s in total, each on the next idle window (then its
                start_service and finish_service); the time from sending call_next to each
                display receiving that ticket_called event, p50/p99. Then the reference
                server in broadcast mode (no database: raw websockets fan-out), same pace,
                same client code: 100 senders, 20 listeners, a frame the size of a real
                ticket_called event; the ratio of p99s.
                Then the disk alone: 1 KiB appended and fsynced at the pace of the calls'
                commits (three per call), p50/p99/max: every call waits for one such
                fsync, so the disk's tail is a floor under the display p99.
  4. CPU        server CPU seconds (psutil) over phase 2 / commands, in ms per command.
  5. memory     server RSS after start, and with --idle idle display connections (hello
                done) per connection; run first, while the hall is empty (a display's hello
                reply carries a snapshot of the hall, slow once hundreds of tickets wait).

Every figure is from one run on a shared machine: compare ratios rather than absolutes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import psutil  # type: ignore[import-untyped, unused-ignore]  # no stubs in the dev set
from websockets.asyncio.client import connect

from bench.reference_server import LISTENING
from bench.server_load import (
    DEMO_PASSWORD,
    DISPLAY_TOKEN,
    HELLO_TIMEOUT,
    KIOSK_TOKEN,
    CallLog,
    Conn,
    OnEvent,
    ProtocolFailure,
    build_hall,
    close_all,
    device_hello,
    idle_phase,
    open_many,
    percentile,
    raise_open_file_limit,
    server_process,
    settle_rss,
    staff_account,
    stop_process,
)
from queue_protocol.version import PROTOCOL_VERSION

W = TypeVar("W")  # a load generator's worker (a connection)

HALL_WINDOWS = 100
DRAIN_SECONDS = 10.0  # after the last paced call, wait this long at most for the displays
Request = Callable[[int], dict[str, Any]]


def cpu_seconds(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def accepted(reply: dict[str, Any]) -> bool:
    """Yichuang answers {"type": "ok", ...}; the reference server only {"re": id}."""
    return reply.get("type", "ok") == "ok"


# ---------------------------------------------------------------------------------------
# The reference server process and its (hello-less) connections


@contextlib.contextmanager
def reference_process(mode: str, workdir: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """Start bench.reference_server on a fresh SQLite file; yield (process, port)."""
    db = workdir / f"reference-{mode}-{time.monotonic_ns()}.db"
    out, log = workdir / f"reference-{mode}.out", workdir / f"reference-{mode}.log"
    command = [sys.executable, "-m", "bench.reference_server", "--mode", mode, "--db", str(db)]
    with out.open("wb") as stdout, log.open("wb") as stderr:
        proc = subprocess.Popen(command, stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        port = 0
        while not port:
            for line in out.read_text(errors="replace").splitlines():
                if line.startswith(LISTENING):
                    port = int(line[len(LISTENING) :])
            if not port and (proc.poll() is not None or time.monotonic() > deadline):
                raise RuntimeError(f"reference server did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.02)
        yield proc, port
    finally:
        stop_process(proc)


async def raw_open(url: str, on_event: OnEvent | None = None, listen: bool = False) -> Conn:
    """A bench.server_load wire client without the Yichuang hello."""
    ws = await connect(url, open_timeout=30, max_size=2**24, ping_interval=None)
    conn = Conn(ws, on_event)
    conn.reader = asyncio.create_task(conn._read())
    if listen:
        await conn.send({"listen": True})
    return conn


async def raw_open_many(
    url: str, count: int, on_event: OnEvent | None = None, listen: bool = False
) -> list[Conn]:
    return list(await asyncio.gather(*(raw_open(url, on_event, listen) for _ in range(count))))


# ---------------------------------------------------------------------------------------
# Phase 1: saturating requests (the same code for both servers)


@dataclass
class Throughput:
    ok: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    server_cpu_s: float = 0.0

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def summary(self) -> dict[str, Any]:
        lat = [s * 1000 for s in self.latencies]
        return {
            "ok": self.ok,
            "errors": dict(self.errors),
            "seconds": round(self.seconds, 2),
            "per_s": round(self.rate, 1),
            "p50_ms": round(percentile(lat, 50), 2),
            "p99_ms": round(percentile(lat, 99), 2),
            "server_cpu_ms_per_request": round(1000 * self.server_cpu_s / max(1, self.ok), 3),
        }


async def saturate(
    conns: list[Conn],
    depth: int,
    seconds: float,
    request: Request,
    server: psutil.Process,
    limit: int | None = None,
) -> Throughput:
    """`depth` lanes per connection, each sending its next request when the last is
    answered, until `seconds` have passed (or `limit` requests were sent)."""
    result = Throughput()
    numbers = itertools.count()
    deadline = time.monotonic() + seconds

    async def lane(conn: Conn) -> None:
        while time.monotonic() < deadline:
            n = next(numbers)
            if limit is not None and n >= limit:
                return
            reply, took = await conn.send(request(n))
            if accepted(reply):
                result.ok += 1
                result.latencies.append(took)
            else:
                result.errors[str(reply.get("code", "?"))] += 1

    cpu = cpu_seconds(server)
    started = time.perf_counter()
    await asyncio.gather(*(lane(c) for c in conns for _ in range(depth)))
    result.seconds = time.perf_counter() - started
    result.server_cpu_s = cpu_seconds(server) - cpu
    return result


# ---------------------------------------------------------------------------------------
# The Yichuang hall: tickets in stock, calls made


@dataclass
class Hall:
    url: str
    server: psutil.Process
    categories: list[str]
    kiosks: int
    depth: int
    issued: int = 0
    called: Counter[str] = field(default_factory=Counter)  # ticket id -> call_next replies

    @property
    def waiting(self) -> int:
        return self.issued - sum(self.called.values())

    def issue_request(self, n: int) -> dict[str, Any]:
        return {"type": "issue_ticket", "category": self.categories[n % len(self.categories)]}

    async def issue(self, seconds: float, limit: int | None = None) -> Throughput:
        conns = await open_many(self.url, [device_hello("kiosk", KIOSK_TOKEN)] * self.kiosks, 16)
        try:
            result = await saturate(
                conns, self.depth, seconds, self.issue_request, self.server, limit
            )
        finally:
            await close_all(conns)  # kiosks receive queue_changed: none stay connected
        self.issued += result.ok
        return result

    async def stock_up(self, need: int, seconds: float) -> int:
        """Issue (untimed) until `need` tickets wait, for `seconds` at most."""
        missing = need - self.waiting
        if missing <= 0:
            return 0
        result = await self.issue(seconds, limit=missing)
        return result.ok

    async def windows(self, numbers: range, on_event: OnEvent | None = None) -> list[Conn]:
        hellos = [
            {
                "role": "window",
                "user": staff_account(n),
                "password": DEMO_PASSWORD,
                "window": n,
                "client": "bench",
            }
            for n in numbers
        ]
        gate = asyncio.Semaphore(8)  # the server refuses logins beyond a few waiting checks

        async def one(hello: dict[str, Any]) -> Conn:
            async with gate:
                return await login(self.url, hello, on_event)

        results = await asyncio.gather(*(one(h) for h in hellos), return_exceptions=True)
        conns = [r for r in results if isinstance(r, Conn)]
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            await close_all(conns)
            raise ProtocolFailure(f"{len(failures)} window logins failed: {failures[0]!r}")
        return conns


async def login(url: str, hello: dict[str, Any], on_event: OnEvent | None) -> Conn:
    """A window login; a `rate_limited` refusal is retried after the wait it names."""
    deadline = time.monotonic() + HELLO_TIMEOUT
    while True:
        conn = await raw_open(url, on_event)
        reply, _ = await conn.send(
            {"type": "hello", "version": PROTOCOL_VERSION, "batch_events": True, **hello}
        )
        if reply["type"] == "ok":
            return conn
        await conn.close()
        if reply.get("code") != "rate_limited" or time.monotonic() > deadline:
            raise ProtocolFailure(f"hello refused: {reply.get('code')}: {reply.get('message')}")
        await asyncio.sleep(float(reply.get("retry_after_seconds") or 1.0))


# ---------------------------------------------------------------------------------------
# Phase 2: call commands as fast as the replies come


async def call_burst(hall: Hall, staff: list[Conn], seconds: float) -> dict[str, Any]:
    me = psutil.Process()
    errors: Counter[str] = Counter()
    commands = cycles = 0
    ran_out = False
    deadline = time.monotonic() + seconds

    async def work(window: Conn) -> None:
        nonlocal commands, cycles, ran_out
        while not ran_out and time.monotonic() < deadline:
            reply, _ = await window.send({"type": "call_next"})
            commands += 1
            if reply["type"] != "ok":
                errors[f"call_next: {reply.get('code')}"] += 1
                ran_out = ran_out or reply.get("code") == "queue_empty"
                return
            hall.called[reply["ticket"]["id"]] += 1
            for verb in ("start_service", "finish_service"):
                reply, _ = await window.send({"type": verb})
                commands += 1
                if reply["type"] != "ok":
                    errors[f"{verb}: {reply.get('code')}"] += 1
                    return
            cycles += 1

    cpu, my_cpu = cpu_seconds(hall.server), cpu_seconds(me)
    started = time.perf_counter()
    await asyncio.gather(*(work(w) for w in staff))
    elapsed = time.perf_counter() - started
    server_cpu, my_cpu = cpu_seconds(hall.server) - cpu, cpu_seconds(me) - my_cpu
    return {
        "windows": len(staff),
        "seconds": round(elapsed, 2),
        "commands": commands,
        "cycles": cycles,
        "commands_per_s": round(commands / elapsed, 1),
        "cycles_per_s": round(cycles / elapsed, 1),
        "errors": dict(errors),
        "queue_ran_out": ran_out,
        "server_cpu_s": round(server_cpu, 3),
        "server_cpu_ms_per_command": round(1000 * server_cpu / max(1, commands), 3),
        "server_cpu_pct": round(100 * server_cpu / elapsed, 1),
        "loadgen_cpu_pct": round(100 * my_cpu / elapsed, 1),
    }


# ---------------------------------------------------------------------------------------
# Phase 3: paced calls, time to every display


async def paced(
    workers: list[W],
    rate: float,
    seconds: float,
    job: Callable[[W, int], Awaitable[None]],
    rng: random.Random | None = None,
) -> dict[str, Any]:
    """Start job(worker, n) on a Poisson schedule of `rate` per second, each time on the
    worker idle longest; a tick finding none idle waits for one (counted as late). The
    schedule is the same in every run unless `rng` is given."""
    rng = rng or random.Random(20261125)  # the same schedule for both servers
    idle: asyncio.Queue[W] = asyncio.Queue()
    for worker in workers:
        idle.put_nowait(worker)
    tasks: list[asyncio.Task[None]] = []
    late = 0

    async def run(worker: W, n: int) -> None:
        try:
            await job(worker, n)
        finally:
            idle.put_nowait(worker)

    start = due = time.monotonic()
    while (due := due + rng.expovariate(rate)) < start + seconds:
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        late += idle.empty()
        worker = await idle.get()
        tasks.append(asyncio.create_task(run(worker, len(tasks))))
    await asyncio.gather(*tasks)
    return {"started": len(tasks), "per_s": round(len(tasks) / seconds, 2), "late": late}


async def drain(log: CallLog, listeners: int) -> dict[str, Any]:
    """Wait for every listener to receive every call; latencies from send to receipt."""
    log.expected = len(log.sent) * listeners
    log.check()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(log.all_received.wait(), DRAIN_SECONDS)
    latencies = [
        t - log.sent[ticket]
        for ticket, times in log.received.items()
        if ticket in log.sent
        for t in times
    ]
    return {
        "calls": len(log.sent),
        "receipts": len(latencies),
        "expected": log.expected,
        "p50_ms": ms(percentile(latencies, 50)),
        "p99_ms": ms(percentile(latencies, 99)),
        "max_ms": ms(max(latencies, default=0.0)),
        "errors": dict(log.errors),
    }


async def hall_pace(
    hall: Hall, staff: list[Conn], displays: int, rate: float, seconds: float
) -> dict[str, Any]:
    log = CallLog()
    sizes: list[int] = []

    def on_display_event(frame: str, now: float) -> None:
        if '"name":"ticket_called"' in frame:
            sizes.append(len(frame.encode()))
        log.on_display_event(frame, now)

    screens = await open_many(
        hall.url, [device_hello("display", DISPLAY_TOKEN)] * displays, 20, on_display_event
    )
    await asyncio.sleep(1.0)  # the hello replies are out before timing

    async def call(window: Conn, _n: int) -> None:
        sent = time.perf_counter()
        reply, _ = await window.send({"type": "call_next"})
        if reply["type"] != "ok":
            log.error(f"call_next: {reply.get('code')}")
            return
        ticket = reply["ticket"]["id"]
        log.sent[ticket] = sent
        hall.called[ticket] += 1
        for verb in ("start_service", "finish_service"):
            reply, _ = await window.send({"type": verb})
            if reply["type"] != "ok":
                log.error(f"{verb}: {reply.get('code')}")
                return

    try:
        pace = await paced(staff, rate, seconds, call)
        result = await drain(log, displays)
    finally:
        await close_all(screens)
    frame_bytes = round(statistics.median(sizes)) if sizes else 600
    return {**result, **pace, "frame_bytes": frame_bytes}


def reference_event(ticket: str, n: int, size: int) -> str:
    """A ticket_called-shaped event of `size` bytes (CallLog parses it like the real one)."""
    head = json.dumps(
        {"type": "event", "seq": n, "name": "ticket_called", "ticket": {"id": ticket}, "pad": ""},
        separators=(",", ":"),
    )
    return head[:-2] + "x" * max(0, size - len(head)) + '"}'


async def reference_pace(
    url: str, senders: int, displays: int, rate: float, seconds: float, size: int
) -> dict[str, Any]:
    log = CallLog()
    listeners = await raw_open_many(url, displays, log.on_display_event, listen=True)
    workers = await raw_open_many(url, senders)

    async def call(sender: Conn, n: int) -> None:
        ticket = f"ref-{n}"
        log.sent[ticket] = time.perf_counter()
        reply, _ = await sender.send({"broadcast": reference_event(ticket, n, size)})
        if not accepted(reply):
            log.error(str(reply))

    try:
        pace = await paced(workers, rate, seconds, call)
        result = await drain(log, displays)
    finally:
        await close_all(workers)
        await close_all(listeners)
    return {**result, **pace, "frame_bytes": size}


def fsync_probe(directory: Path, rate: float, seconds: float) -> dict[str, Any]:
    """The disk alone: append 1 KiB to a file in `directory` and fsync it, `rate` times a
    second for `seconds` (a commit in WAL mode with synchronous=FULL is one such fsync). On
    a shared virtual disk its tail, not the server, bounds the p99 of anything that waits
    for a commit."""
    times: list[float] = []
    fd = os.open(directory / "fsync-probe", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        due = time.monotonic()
        end = due + seconds
        while due < end:
            time.sleep(max(0.0, due - time.monotonic()))
            os.write(fd, b"x" * 1024)
            started = time.perf_counter()
            os.fsync(fd)
            times.append(time.perf_counter() - started)
            due += 1 / rate
    finally:
        os.close(fd)
    return {
        "fsyncs": len(times),
        "p50_ms": ms(percentile(times, 50)),
        "p99_ms": ms(percentile(times, 99)),
        "max_ms": ms(max(times, default=0.0)),
    }


# ---------------------------------------------------------------------------------------
# Driver


_T0 = time.monotonic()


def say(text: str) -> None:
    print(f"[{time.monotonic() - _T0:5.1f} s] {text}", flush=True)


async def run(
    port: int, pid: int, categories: list[str], workdir: Path, args: argparse.Namespace
) -> dict[str, Any]:
    server = psutil.Process(pid)
    hall = Hall(f"ws://127.0.0.1:{port}", server, categories, args.kiosks, args.depth)
    res: dict[str, Any] = {"rss_baseline_kib": await settle_rss(server, 1.0)}
    s = args.seconds
    # Memory first: a display's hello carries a snapshot of the hall, cheap while it is empty.
    say(f"5. memory: {args.idle} idle display connections")
    res["idle"] = await idle_phase(hall.url, server, args.idle)

    say(f"1. issue_ticket: {args.kiosks} kiosks x {args.depth} in flight, {s:g} s")
    res["issue"] = (await hall.issue(s)).summary()
    say(f"   Yichuang {res['issue']['per_s']} tickets/s")
    for mode, seconds in (("group", s), ("commit", s / 2)):
        with reference_process(mode, workdir) as (ref, ref_port):
            url = f"ws://127.0.0.1:{ref_port}"
            conns = await raw_open_many(url, args.kiosks)
            try:
                ref_result = await saturate(
                    conns, args.depth, seconds, hall.issue_request, psutil.Process(ref.pid)
                )
            finally:
                await close_all(conns)
        res[f"reference_{mode}"] = ref_result.summary()
        say(f"   reference ({mode}) {ref_result.rate:.1f} requests/s")

    stocked = await hall.stock_up(round(1.5 * args.rate * s) + 20, args.stock_seconds)
    say(f"   logging in {HALL_WINDOWS} windows ({hall.waiting} tickets waiting, {stocked} new)")
    login = time.perf_counter()
    staff = await hall.windows(range(1, HALL_WINDOWS + 1))
    res["window_login_s"] = round(time.perf_counter() - login, 2)
    try:
        say(
            f"3. call -> display: {HALL_WINDOWS} windows, {args.displays} displays, "
            f"{args.rate:g} calls/s, {s:g} s (logins took {res['window_login_s']} s)"
        )
        res["display"] = d = await hall_pace(hall, staff, args.displays, args.rate, s)
        say(f"   Yichuang p50 {d['p50_ms']} ms, p99 {d['p99_ms']} ms")
        with reference_process("broadcast", workdir) as (_, ref_port):
            res["reference_broadcast"] = r = await reference_pace(
                f"ws://127.0.0.1:{ref_port}",
                HALL_WINDOWS,
                args.displays,
                args.rate,
                s,
                d["frame_bytes"],
            )
        say(f"   reference p99 {r['p99_ms']} ms")
        # Each call is three commands, each committed: the disk's fsync at that pace.
        res["fsync"] = f = await asyncio.to_thread(fsync_probe, workdir, 3 * args.rate, s)
        say(f"   the disk: fsync p99 {f['p99_ms']} ms, max {f['max_ms']} ms")

        # Phase 2 keeps the first N of these sessions, largest N first, and closes the rest:
        # only the windows of the burst are connected.
        res["call"] = []
        for count in sorted(set(args.call_windows), reverse=True):
            await close_all(staff[count:])
            del staff[count:]
            # Tickets it may need: twice the best cycle rate so far, or before any, the issue
            # rate (a cycle is three commands, an issue one: a margin of about three).
            rates = [c["cycles_per_s"] for c in res["call"]]
            guess = 2 * max(rates) if rates else res["issue"]["per_s"]
            stocked = await hall.stock_up(round(guess * s) + 4 * count, args.stock_seconds)
            say(f"2. calls: {count} windows, {s:g} s ({hall.waiting} waiting, {stocked} new)")
            await asyncio.sleep(0.5)  # the events of the closing and issuing are out
            burst = await call_burst(hall, staff, s)
            res["call"].append(burst)
            say(f"   {burst['commands_per_s']} commands/s, {burst['cycles_per_s']} cycles/s")
    finally:
        await close_all(staff)
    res["call"].sort(key=lambda c: c["windows"])

    res["double_calls"] = sum(1 for n in hall.called.values() if n > 1)
    res["tickets_called"] = len(hall.called)
    return res


def ratio(a: float, b: float) -> str:
    return f"{a / b:.3g}" if b else "-"


def report(res: dict[str, Any], args: argparse.Namespace, wall: float, load: str) -> str:
    i, rg, rc = res["issue"], res["reference_group"], res["reference_commit"]
    d, rb, idle = res["display"], res["reference_broadcast"], res["idle"]
    rows: list[tuple[str, str, str, str]] = [
        ("target / figure", "Yichuang", "reference", "ratio"),
        (
            f"1 issue_ticket, {args.kiosks} kiosks x {args.depth} in flight",
            f"{i['per_s']:.1f} tickets/s",
            f"{rg['per_s']:.1f}/s group commit",
            ratio(i["per_s"], rg["per_s"]),
        ),
        (
            "  reply latency p50 / p99",
            f"{i['p50_ms']:.1f} / {i['p99_ms']:.1f} ms",
            f"{rg['p50_ms']:.1f} / {rg['p99_ms']:.1f} ms",
            "",
        ),
        (
            "  reference, one commit per request",
            "",
            f"{rc['per_s']:.1f}/s",
            ratio(i["per_s"], rc["per_s"]),
        ),
        (
            "  server CPU per request",
            f"{i['server_cpu_ms_per_request']:.2f} ms",
            f"{rg['server_cpu_ms_per_request']:.2f} ms",
            ratio(i["server_cpu_ms_per_request"], rg["server_cpu_ms_per_request"]),
        ),
    ]
    for c in res["call"]:
        flag = " QUEUE RAN OUT" if c["queue_ran_out"] else ""
        rows.append(
            (
                f"2 calls, {c['windows']} windows ({c['seconds']:.1f} s){flag}",
                f"{c['commands_per_s']:.1f} commands/s",
                f"{c['cycles_per_s']:.1f} cycles/s",
                "",
            )
        )
        if c["errors"]:
            rows.append(("  errors", json.dumps(c["errors"], ensure_ascii=False), "", ""))
    rows.append(
        (
            "2 double calls (each ticket id called once)",
            f"{res['double_calls']}",
            f"of {res['tickets_called']} tickets called",
            "",
        )
    )
    rows += [
        (
            f"3 call -> every display, {d['per_s']:.1f} calls/s",
            f"p50 {d['p50_ms']:.1f} ms",
            f"p50 {rb['p50_ms']:.1f} ms",
            ratio(d["p50_ms"], rb["p50_ms"]),
        ),
        (
            f"  {HALL_WINDOWS} windows, {args.displays} displays, {d['frame_bytes']} B frames",
            f"p99 {d['p99_ms']:.1f} ms",
            f"p99 {rb['p99_ms']:.1f} ms",
            ratio(d["p99_ms"], rb["p99_ms"]),
        ),
        (
            f"  the disk alone: fsync at {3 * args.rate:g}/s (p50 / p99 / max)",
            f"{res['fsync']['p50_ms']:.1f} / {res['fsync']['p99_ms']:.1f} / "
            f"{res['fsync']['max_ms']:.1f} ms",
            "",
            "",
        ),
        (
            "  receipts / expected",
            f"{d['receipts']} / {d['expected']}",
            f"{rb['receipts']} / {rb['expected']}",
            "",
        ),
    ]
    if d["errors"] or d["late"]:
        rows.append(("  errors, late ticks", f"{d['errors'] or 'none'}, {d['late']}", "", ""))
    total_cpu = sum(c["server_cpu_s"] for c in res["call"])
    total_commands = sum(c["commands"] for c in res["call"])
    for c in res["call"]:
        rows.append(
            (
                f"4 server CPU per command, {c['windows']} windows",
                f"{c['server_cpu_ms_per_command']:.2f} ms",
                f"server {c['server_cpu_pct']:.0f}% / loadgen {c['loadgen_cpu_pct']:.0f}%",
                "",
            )
        )
    rows.append(
        (
            "4 server CPU per command, phase 2",
            f"{1000 * total_cpu / max(1, total_commands):.2f} ms",
            f"{total_cpu:.2f} s / {total_commands} commands",
            "",
        )
    )
    rows += [
        ("5 server RSS after start", f"{res['rss_baseline_kib'] / 1024:.1f} MiB", "", ""),
        (
            f"5 RSS with {idle['connections']} idle displays",
            f"{idle['rss_with_idle_kib'] / 1024:.1f} MiB",
            f"{idle['per_connection_kib']:.1f} KiB/connection",
            "",
        ),
    ]
    widths = [max(len(r[k]) for r in rows) for k in range(4)]
    lines = [
        f"Yichuang hall core benchmark: {args.seconds:g} s phases, {wall:.0f} s in all, "
        f"{psutil.cpu_count()} CPUs, load avg {load}",
        "ratio = Yichuang / reference (issue: fraction of the yardstick; latency: times slower)",
        "",
    ]
    for n, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench.hall_core",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--seconds", type=float, default=8.0, help="length of each timed phase")
    p.add_argument("--kiosks", type=int, default=8, help="kiosk connections in phase 1")
    p.add_argument("--depth", type=int, default=4, help="requests in flight per kiosk")
    p.add_argument(
        "--call-windows", type=int, nargs="+", default=[8, 30], help="windows per call burst"
    )
    p.add_argument("--displays", type=int, default=20, help="display connections in phase 3")
    p.add_argument("--rate", type=float, default=10.0, help="calls/s across windows in phase 3")
    p.add_argument("--idle", type=int, default=1000, help="idle display connections for RSS")
    p.add_argument(
        "--stock-seconds",
        type=float,
        help="untimed ticket issuing before a phase, at most (default: --seconds)",
    )
    p.add_argument(
        "--store",
        choices=["sqlite", "postgresql"],
        default="sqlite",
        help="the hall's database: a SQLite file in the scratch directory, or a PostgreSQL "
        "cluster started for the run from the Debian binaries (tests/postgres.py); the "
        "reference server always uses SQLite",
    )
    p.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = p.parse_args(argv)
    if args.stock_seconds is None:
        args.stock_seconds = args.seconds
    if min(args.kiosks, args.depth, args.displays, args.idle, *args.call_windows) < 1:
        p.error("counts must be at least 1")
    if max(args.call_windows) > HALL_WINDOWS or args.seconds <= 0 or args.rate <= 0:
        p.error(f"at most {HALL_WINDOWS} windows; --seconds and --rate must be positive")
    return args


@contextlib.contextmanager
def hall_database(store: str, workdir: Path) -> Iterator[str]:
    """The URL of an empty database for the hall, removed afterwards."""
    if store == "sqlite":
        yield f"sqlite:///{workdir / 'hall.db'}"
        return
    from tests.postgres import PostgresCluster, binaries

    found = binaries()
    if found is None:
        raise SystemExit("PostgreSQL is not installed: apt-get install postgresql")
    cluster = PostgresCluster(found).start()
    try:
        yield cluster.database()
    finally:
        cluster.stop()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    load_start = os.getloadavg()[0]
    raise_open_file_limit(args.idle + HALL_WINDOWS + args.displays + args.kiosks + 256)
    with (
        tempfile.TemporaryDirectory(prefix="yichuang-hall-core-") as tmp,
        hall_database(args.store, Path(tmp)) as db_url,
    ):
        workdir = Path(tmp)
        say(f"building the hall ({HALL_WINDOWS} windows) on {db_url} ...")
        categories = build_hall(db_url, HALL_WINDOWS)
        with server_process(db_url, workdir) as (proc, port):
            say(f"queue-server pid {proc.pid} on port {port}")
            try:
                res = asyncio.run(run(port, proc.pid, categories, workdir, args))
            except BaseException:
                log = (workdir / "server.log").read_text(encoding="utf-8", errors="replace")
                print("server log (tail):\n" + log[-3000:], file=sys.stderr)
                raise
    load = f"{load_start:.2f} -> {os.getloadavg()[0]:.2f}"
    print()
    print(f"hall database: {args.store}")
    print(report(res, args, time.monotonic() - started, load))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(res, ensure_ascii=False, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
