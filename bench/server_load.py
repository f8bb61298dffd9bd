"""Server load benchmark: ticket-issue throughput, call -> display latency, memory per connection.

    .venv/bin/python -m bench.server_load [--windows 100 --displays 20 --tickets 2000 --idle 1000]

The real server runs in a separate process (`queue-server serve --port 0`) on a temporary
SQLite hall built from the demo configuration (always open, N 全科 windows, N staff), so
its RSS can be measured with psutil and the load generator does not share its event loop.
The load generator speaks the wire protocol directly over raw websockets (no pydantic
parsing of every event) so that it stays cheaper than the server it measures.

Phases, in order:
  1. issue   kiosk connections issue N tickets in parallel, each keeping a few requests in
             flight; tickets/s and reply latency. A short sequential probe on one connection
             first gives the unloaded latency.
  2. call    W window connections (argon2 logins) and D display connections; every window
             loops call_next -> start_service -> finish_service; for each call, the time from
             sending call_next to each display receiving its ticket_called event.
  3. memory  server RSS with the phase-2 connections gone, then with I idle display
             connections (hello done), per connection.

Prints a compact report and writes bench/results/server_load.json. All traffic stays on
127.0.0.1; every loop is bounded in count and time; the server is always terminated.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import itertools
import json
import os
import platform
import random
import resource
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped, unused-ignore]  # no stubs in the dev set
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from queue_protocol.version import PROTOCOL_VERSION
from queue_server.hallconfig import demo_hall_path, read_toml
from queue_server.service import HallService
from queue_server.store.engine import make_engine

DISPLAY_TOKEN = "demo-display-token"
KIOSK_TOKEN = "demo-kiosk-token"
DEMO_PASSWORD = "yichuang"  # the demo staff's password; its hash is reused for every account
RESULTS = Path(__file__).resolve().parent / "results" / "server_load.json"
EVENT_PREFIX = '{"type":"event"'  # every event frame starts so (pydantic keeps field order)
BATCH_PREFIX = '{"type":"events"'  # several events in one frame (the hello asks for them)
CALLED_MARK = '"name":"ticket_called"'

SERVER_START_TIMEOUT = 60.0
HELLO_TIMEOUT = 180.0  # window logins queue behind argon2 on the server's 2 auth threads
REQUEST_TIMEOUT = 60.0
DRAIN_TIMEOUT = 30.0  # wait for displays to receive the last calls


# ---------------------------------------------------------------------------------------
# Figures


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def latency_summary(seconds: list[float]) -> dict[str, float | int]:
    ms = [s * 1000 for s in seconds]
    return {
        "count": len(ms),
        "p50_ms": round(percentile(ms, 50), 2),
        "p90_ms": round(percentile(ms, 90), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "max_ms": round(max(ms), 2) if ms else 0.0,
    }


@dataclass
class CpuMeter:
    """CPU seconds used by the server and by this load generator over one phase."""

    server: psutil.Process
    me: psutil.Process = field(default_factory=psutil.Process)
    start: float = field(default_factory=time.perf_counter)
    server_cpu: float = 0.0
    my_cpu: float = 0.0

    def __post_init__(self) -> None:
        self.server_cpu = _cpu(self.server)
        self.my_cpu = _cpu(self.me)

    def result(self) -> dict[str, float]:
        wall = max(1e-9, time.perf_counter() - self.start)
        return {
            "wall_s": round(wall, 2),
            "server_cpu_pct": round(100 * (_cpu(self.server) - self.server_cpu) / wall, 1),
            "loadgen_cpu_pct": round(100 * (_cpu(self.me) - self.my_cpu) / wall, 1),
        }


def _cpu(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)


def rss_kib(proc: psutil.Process) -> int:
    return int(proc.memory_info().rss // 1024)


class RssSampler:
    """Peak server RSS, sampled in the background."""

    def __init__(self, proc: psutil.Process, interval: float = 0.25) -> None:
        self.proc, self.interval, self.peak = proc, interval, rss_kib(proc)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(psutil.Error):
                self.peak = max(self.peak, rss_kib(self.proc))
            await asyncio.sleep(self.interval)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


# ---------------------------------------------------------------------------------------
# A thin wire client: hello, replies matched by id, events handed to a callback raw


OnEvent = Callable[[str, float], None]
_ids = itertools.count(1)


class ProtocolFailure(Exception):
    pass


class Conn:
    def __init__(self, ws: ClientConnection, on_event: OnEvent | None) -> None:
        self.ws = ws
        self.on_event = on_event
        self.pending: dict[str, asyncio.Future[tuple[dict[str, Any], float]]] = {}
        self.reader: asyncio.Task[None] | None = None
        self.hello: dict[str, Any] = {}

    @classmethod
    async def open(cls, url: str, hello: dict[str, Any], on_event: OnEvent | None = None) -> Conn:
        ws = await connect(url, open_timeout=30, max_size=2**24, ping_interval=None)
        conn = cls(ws, on_event)
        conn.reader = asyncio.create_task(conn._read())
        try:
            # As queue_protocol.client does: take several events per frame.
            reply, _ = await conn.send(
                {"type": "hello", "version": PROTOCOL_VERSION, "batch_events": True, **hello}
            )
        except BaseException:
            await conn.close()
            raise
        if reply["type"] != "ok":
            await conn.close()
            raise ProtocolFailure(f"hello refused: {reply.get('code')}: {reply.get('message')}")
        conn.hello = reply
        return conn

    async def send(
        self, request: dict[str, Any], timeout: float = REQUEST_TIMEOUT
    ) -> tuple[dict[str, Any], float]:
        """Send one request; returns (reply, seconds from send to reply)."""
        rid = f"b{next(_ids)}"
        future = asyncio.get_running_loop().create_future()
        self.pending[rid] = future
        frame = json.dumps({"id": rid, **request}, ensure_ascii=False)
        sent = time.perf_counter()
        try:
            await self.ws.send(frame)
            reply, received = await asyncio.wait_for(future, timeout)
        finally:
            self.pending.pop(rid, None)
        return reply, received - sent

    async def _read(self) -> None:
        try:
            async for frame in self.ws:
                now = time.perf_counter()
                if not isinstance(frame, str):
                    continue
                if frame.startswith(EVENT_PREFIX):
                    if self.on_event is not None:
                        self.on_event(frame, now)
                    continue
                if frame.startswith(BATCH_PREFIX):
                    if self.on_event is not None:
                        for event in json.loads(frame)["events"]:
                            text = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
                            self.on_event(text, now)
                    continue
                message = json.loads(frame)
                future = self.pending.get(message.get("re") or "")
                if future is not None and not future.done():
                    future.set_result((message, now))
        except ConnectionClosed:
            pass
        finally:
            for future in self.pending.values():
                if not future.done():
                    future.set_exception(ProtocolFailure("connection closed"))

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ws.close(), 5)
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.reader


async def open_many(
    url: str, hellos: list[dict[str, Any]], concurrency: int, on_event: OnEvent | None = None
) -> list[Conn]:
    gate = asyncio.Semaphore(concurrency)

    async def one(hello: dict[str, Any]) -> Conn:
        async with gate:
            return await asyncio.wait_for(Conn.open(url, hello, on_event), HELLO_TIMEOUT)

    results = await asyncio.gather(*(one(h) for h in hellos), return_exceptions=True)
    conns = [r for r in results if isinstance(r, Conn)]
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        await close_all(conns)
        raise ProtocolFailure(f"{len(errors)} of {len(hellos)} connections failed: {errors[0]!r}")
    return conns


async def close_all(conns: list[Conn]) -> None:
    for chunk in range(0, len(conns), 200):
        await asyncio.gather(*(c.close() for c in conns[chunk : chunk + 200]))


def device_hello(role: str, token: str) -> dict[str, Any]:
    return {"role": role, "token": token, "client": "bench"}


# ---------------------------------------------------------------------------------------
# The hall and the server process


def build_hall(db_url: str, windows: int, supervisor: str | None = None) -> list[str]:
    """The demo hall, always open, with `windows` 全科 windows and one staff per window
    (and a `supervisor` account, with the same password, when one is named).

    Returns the categories tickets are issued in (no daily capacity, no one-chain steps, so
    every ticket is called exactly once and issuing never hits a limit).
    """
    data = copy.deepcopy(read_toml(demo_hall_path()))
    data["hall"].pop("hours", None)
    password_hash = data["staff"][0]["password_hash"]  # argon2id of DEMO_PASSWORD
    data["windows"] = [
        {"number": n, "name": f"综合受理{n}号", "zone": "一楼A区", "profile": "全科"}
        for n in range(1, windows + 1)
    ]
    data["staff"] = [
        {"account": staff_account(n), "name": f"员工{n}", "password_hash": password_hash}
        for n in range(1, windows + 1)
    ]
    if supervisor:
        data["staff"].append(
            {
                "account": supervisor,
                "name": "值班主任",
                "role": "supervisor",
                "password_hash": password_hash,
            }
        )
    engine = make_engine(db_url)
    try:
        HallService(engine).import_config(data)
    finally:
        engine.dispose()
    return [
        c["code"]
        for c in data["categories"]
        if not c.get("chain") and c.get("daily_capacity") is None
    ]


def staff_account(n: int) -> str:
    return f"ck{n:03d}"


def server_command(db_url: str) -> list[str]:
    script = Path(sys.executable).parent / "queue-server"
    return [
        str(script),
        "serve",
        "--port",
        "0",
        "--db",
        db_url,
        "--rate",
        "1000000",
        "--burst",
        "1000000",
    ]


@contextlib.contextmanager
def server_process(db_url: str, workdir: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """Start `queue-server serve`, yield (process, port); always terminate it."""
    out, log = workdir / "server.out", workdir / "server.log"
    with out.open("wb") as stdout, log.open("wb") as stderr:
        proc = subprocess.Popen(
            server_command(db_url), stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL
        )
    try:
        port = _wait_for_port(proc, out, log)
        yield proc, port
    finally:
        stop_process(proc)


def _wait_for_port(proc: subprocess.Popen[bytes], out: Path, log: Path) -> int:
    marker = "queue-server listening on ws://127.0.0.1:"
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        for line in out.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith(marker):
                return int(line[len(marker) :].strip())
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
    raise RuntimeError(f"the server did not start (exit code {proc.poll()}):\n{tail}")


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=15)


def raise_open_file_limit(needed: int) -> tuple[int, int]:
    """Raise the soft RLIMIT_NOFILE (inherited by the server process) if it is too low."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


# ---------------------------------------------------------------------------------------
# Phase 1: issuing tickets


async def issue_tickets(
    url: str,
    server: psutil.Process,
    categories: list[str],
    *,
    tickets: int,
    connections: int,
    depth: int,
    time_limit: float,
) -> dict[str, Any]:
    kiosks = await open_many(url, [device_hello("kiosk", KIOSK_TOKEN)] * connections, 16)
    meter = CpuMeter(server)
    latencies: list[float] = []
    errors: dict[str, int] = {}
    issued = 0
    todo = itertools.count()
    deadline = time.monotonic() + time_limit

    async def lane(kiosk: Conn) -> None:
        nonlocal issued
        while time.monotonic() < deadline:
            n = next(todo)
            if n >= tickets:
                return
            category = categories[n % len(categories)]
            reply, seconds = await kiosk.send({"type": "issue_ticket", "category": category})
            if reply["type"] == "ok":
                issued += 1
                latencies.append(seconds)
            else:
                errors[reply.get("code", "?")] = errors.get(reply.get("code", "?"), 0) + 1

    started = time.perf_counter()
    try:
        # `depth` lanes per connection = that many requests in flight on it (pipelined).
        await asyncio.gather(*(lane(k) for k in kiosks for _ in range(depth)))
    finally:
        elapsed = time.perf_counter() - started
        await close_all(kiosks)
    return {
        "connections": connections,
        "in_flight_per_connection": depth,
        "issued": issued,
        "errors": errors,
        "tickets_per_s": round(issued / elapsed, 1) if elapsed else 0.0,
        "latency": latency_summary(latencies),
        "cpu": meter.result(),
        "complete": issued + sum(errors.values()) >= tickets,
    }


# ---------------------------------------------------------------------------------------
# Phase 2: calls and their display events


@dataclass
class CallLog:
    sent: dict[str, float] = field(default_factory=dict)  # ticket id -> call_next sent at
    call_reply: list[float] = field(default_factory=list)  # call_next reply latency
    cycle: list[float] = field(default_factory=list)  # call + start + finish
    received: dict[str, list[float]] = field(default_factory=dict)  # ticket -> display receipts
    receipts: int = 0
    expected: int | None = None  # receipts to wait for, once the calls are over
    all_received: asyncio.Event = field(default_factory=asyncio.Event)
    errors: dict[str, int] = field(default_factory=dict)

    def on_display_event(self, frame: str, now: float) -> None:
        if CALLED_MARK not in frame:
            return
        ticket = json.loads(frame)["ticket"]["id"]
        self.received.setdefault(ticket, []).append(now)
        self.receipts += 1
        self.check()

    def check(self) -> None:
        if self.expected is not None and self.receipts >= self.expected:
            self.all_received.set()

    def error(self, code: str) -> None:
        self.errors[code] = self.errors.get(code, 0) + 1


async def call_phase(
    url: str,
    server: psutil.Process,
    *,
    windows: int,
    displays: int,
    calls: int,
    time_limit: float,
    pause: float = 0.0,
) -> dict[str, Any]:
    """Windows call, start and finish; with `pause`, each window waits an exponential time
    of that mean between citizens (a paced hall), else it calls again at once (saturated)."""
    log = CallLog()
    rng = random.Random(7)
    screens = await open_many(
        url, [device_hello("display", DISPLAY_TOKEN)] * displays, 20, log.on_display_event
    )
    login_started = time.perf_counter()
    try:
        staff = await open_many(
            url,
            [
                {
                    "role": "window",
                    "user": staff_account(n),
                    "password": DEMO_PASSWORD,
                    "window": n,
                    "client": "bench",
                }
                for n in range(1, windows + 1)
            ],
            # The server keeps at most 32 password checks waiting (queue_server.auth).
            8,
        )
    except BaseException:
        await close_all(screens)
        raise
    login_seconds = time.perf_counter() - login_started
    await asyncio.sleep(1.0)  # let the login events reach every display before timing

    meter = CpuMeter(server)
    budget = itertools.count()
    deadline = time.monotonic() + time_limit

    async def work(window: Conn) -> None:
        if pause:  # windows open one after another, not all in the same millisecond
            await asyncio.sleep(rng.uniform(0, 2 * pause))
        while time.monotonic() < deadline and next(budget) < calls:
            t0 = time.perf_counter()
            reply, seconds = await window.send({"type": "call_next"})
            if reply["type"] != "ok":
                log.error(reply.get("code", "?"))
                return  # queue_empty (or a fault): this window is done
            ticket = reply["ticket"]["id"]
            log.sent[ticket] = t0
            log.call_reply.append(seconds)
            for verb in ("start_service", "finish_service"):
                reply, _ = await window.send({"type": verb})
                if reply["type"] != "ok":
                    log.error(f"{verb}: {reply.get('code', '?')}")
                    return
            log.cycle.append(time.perf_counter() - t0)
            if pause:
                await asyncio.sleep(rng.expovariate(1 / pause))

    started = time.perf_counter()
    try:
        await asyncio.gather(*(work(w) for w in staff))
        elapsed = time.perf_counter() - started
        log.expected = len(log.sent) * displays
        log.check()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(log.all_received.wait(), DRAIN_TIMEOUT)
        cpu = meter.result()
    finally:
        await close_all(staff)
        await close_all(screens)

    event_latency = [
        t - log.sent[ticket]
        for ticket, times in log.received.items()
        if ticket in log.sent
        for t in times
    ]
    first = [
        min(times) - log.sent[ticket]
        for ticket, times in log.received.items()
        if ticket in log.sent
    ]
    return {
        "pause_s": pause,
        "windows": windows,
        "displays": displays,
        "window_login_s": round(login_seconds, 2),
        "calls": len(log.sent),
        "errors": log.errors,
        "calls_per_s": round(len(log.sent) / elapsed, 1) if elapsed else 0.0,
        "call_reply_latency": latency_summary(log.call_reply),
        "call_to_display_latency": latency_summary(event_latency),
        "call_to_first_display_latency": latency_summary(first),
        "cycle_latency": latency_summary(log.cycle),
        "display_receipts": {"expected": len(log.sent) * displays, "received": len(event_latency)},
        "cpu": cpu,
    }


# ---------------------------------------------------------------------------------------
# Phase 3: memory per idle connection


async def settle_rss(proc: psutil.Process, seconds: float = 2.0) -> int:
    """RSS after the server has gone quiet (the last of a few readings)."""
    end = time.monotonic() + seconds
    value = rss_kib(proc)
    while time.monotonic() < end:
        await asyncio.sleep(0.25)
        value = rss_kib(proc)
    return value


async def idle_phase(url: str, server: psutil.Process, idle: int) -> dict[str, Any]:
    before = await settle_rss(server)
    started = time.perf_counter()
    conns = await open_many(url, [device_hello("display", DISPLAY_TOKEN)] * idle, 50)
    try:
        open_seconds = time.perf_counter() - started
        with_idle = await settle_rss(server)
    finally:
        await close_all(conns)
    after_close = await settle_rss(server)
    return {
        "connections": idle,
        "open_s": round(open_seconds, 2),
        "hellos_per_s": round(idle / open_seconds, 1) if open_seconds else 0.0,
        "rss_before_kib": before,
        "rss_with_idle_kib": with_idle,
        "rss_after_close_kib": after_close,
        "per_connection_kib": round((with_idle - before) / idle, 1) if idle else 0.0,
    }


# ---------------------------------------------------------------------------------------
# Driver


async def run_load(port: int, pid: int, categories: list[str], args: argparse.Namespace) -> Any:
    url = f"ws://127.0.0.1:{port}"
    server = psutil.Process(pid)
    results: dict[str, Any] = {"rss_baseline_kib": await settle_rss(server, 1.0)}
    sampler = RssSampler(server)
    sampler.start()
    try:
        if args.probe:
            results["issue_unloaded"] = await issue_tickets(
                url,
                server,
                categories,
                tickets=args.probe,
                connections=1,
                depth=1,
                time_limit=args.time_limit,
            )
        results["issue"] = await issue_tickets(
            url,
            server,
            categories,
            tickets=args.tickets,
            connections=args.kiosks,
            depth=args.pipeline,
            time_limit=args.time_limit,
        )
        if args.paced_calls:
            results["call_paced"] = await call_phase(
                url,
                server,
                windows=args.windows,
                displays=args.displays,
                calls=args.paced_calls,
                time_limit=args.time_limit,
                pause=args.pace,
            )
        results["call"] = await call_phase(
            url,
            server,
            windows=args.windows,
            displays=args.displays,
            calls=args.calls or args.tickets + args.probe - args.paced_calls,
            time_limit=args.time_limit,
        )
        results["idle"] = await idle_phase(url, server, args.idle)
    finally:
        await sampler.stop()
    results["rss_peak_kib"] = sampler.peak
    return results


def machine() -> dict[str, Any]:
    freq = psutil.cpu_freq()
    return {
        "cpus_logical": psutil.cpu_count(logical=True),
        "cpus_physical": psutil.cpu_count(logical=False),
        "cpu_mhz": round(freq.current) if freq else None,
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "load_avg_1m_at_start": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def report(data: dict[str, Any]) -> str:
    m, r = data["machine"], data["results"]
    lines = [
        "Yichuang server load benchmark",
        f"  command  {data['command']}",
        f"  machine  {m['cpus_logical']} logical CPUs ({m['cpus_physical']} physical), "
        f"{m['memory_gib']} GiB, Python {m['python']}, {m['platform']}",
        f"  load avg (1 min) at start {m['load_avg_1m_at_start']}, at end "
        f"{m.get('load_avg_1m_at_end', '?')} (other work on the machine skews the figures)",
        f"  server   {data['server']['command']}",
        "",
    ]

    def lat(d: dict[str, Any]) -> str:
        return (
            f"p50 {d['p50_ms']:.1f} ms  p90 {d['p90_ms']:.1f} ms  p99 {d['p99_ms']:.1f} ms  "
            f"max {d['max_ms']:.1f} ms  (n={d['count']})"
        )

    def cpu(d: dict[str, Any], ops: int, what: str) -> str:
        server_ms = d["server_cpu_pct"] * d["wall_s"] * 10 / max(1, ops)
        return (
            f"{d['wall_s']:.1f} s wall; CPU server {d['server_cpu_pct']:.0f}%, "
            f"load generator {d['loadgen_cpu_pct']:.0f}%; "
            f"server CPU {server_ms:.1f} ms per {what}"
        )

    if "issue_unloaded" in r:
        u = r["issue_unloaded"]
        lines += [
            f"issue_ticket, unloaded (1 connection, 1 in flight, {u['issued']} tickets)",
            f"  {u['tickets_per_s']:.0f} tickets/s   latency {lat(u['latency'])}",
        ]
    if "issue" in r:
        i = r["issue"]
        lines += [
            f"issue_ticket, loaded ({i['connections']} kiosk connections x "
            f"{i['in_flight_per_connection']} in flight)",
            f"  {i['issued']} tickets in {i['cpu']['wall_s']:.1f} s = "
            f"{i['tickets_per_s']:.0f} tickets/s   errors {i['errors'] or 'none'}",
            f"  reply latency {lat(i['latency'])}",
            f"  {cpu(i['cpu'], i['issued'], 'ticket')}",
        ]
    for key in ("call_paced", "call"):
        if key not in r:
            continue
        c = r[key]
        pace = (
            f"paced: each window pauses {c['pause_s']:g} s on average between citizens"
            if c.get("pause_s")
            else "saturated: every window calls again at once"
        )
        lines += [
            f"call_next -> ticket_called ({c['windows']} windows, {c['displays']} displays; "
            f"window logins took {c['window_login_s']:.1f} s)",
            f"  {pace}",
            f"  {c['calls']} calls = {c['calls_per_s']:.1f} calls/s "
            f"(each call_next + start + finish)   errors {c['errors'] or 'none'}",
            f"  call -> every display   {lat(c['call_to_display_latency'])}",
            f"  call -> first display   {lat(c['call_to_first_display_latency'])}",
            f"  call_next reply         {lat(c['call_reply_latency'])}",
            f"  whole cycle             {lat(c['cycle_latency'])}",
            f"  display receipts {c['display_receipts']['received']} of "
            f"{c['display_receipts']['expected']} expected",
            f"  {cpu(c['cpu'], c['calls'], 'call cycle')}",
        ]
    lines.append("server memory (RSS)")
    lines.append(f"  baseline after start   {r['rss_baseline_kib'] / 1024:.1f} MiB")
    if "idle" in r:
        d = r["idle"]
        lines += [
            f"  before idle phase      {d['rss_before_kib'] / 1024:.1f} MiB",
            f"  with {d['connections']} idle displays: {d['rss_with_idle_kib'] / 1024:.1f} MiB "
            f"= {d['per_connection_kib']:.1f} KiB per connection "
            f"(hellos: {d['hellos_per_s']:.0f}/s)",
            f"  after closing them     {d['rss_after_close_kib'] / 1024:.1f} MiB",
        ]
    if "rss_peak_kib" in r:
        lines.append(f"  peak during the run    {r['rss_peak_kib'] / 1024:.1f} MiB")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench.server_load", description=__doc__.split("\n")[0]
    )
    p.add_argument("--windows", type=int, default=100, help="全科 windows, one staff each")
    p.add_argument("--displays", type=int, default=20, help="display connections in the call phase")
    p.add_argument("--tickets", type=int, default=2000, help="tickets issued in the loaded phase")
    p.add_argument("--idle", type=int, default=1000, help="idle display connections for RSS")
    p.add_argument("--kiosks", type=int, default=8, help="kiosk connections issuing tickets")
    p.add_argument("--pipeline", type=int, default=4, help="requests in flight per kiosk")
    p.add_argument("--probe", type=int, default=100, help="tickets issued one at a time first")
    p.add_argument(
        "--pace", type=float, default=5.0, help="mean seconds a window pauses between citizens"
    )
    p.add_argument(
        "--paced-calls", type=int, default=500, help="calls in the paced phase (0: skip it)"
    )
    p.add_argument(
        "--calls", type=int, default=0, help="calls in the call phase (default: every ticket)"
    )
    p.add_argument("--time-limit", type=float, default=300.0, help="seconds per phase at most")
    p.add_argument("--output", type=Path, default=RESULTS, help="JSON results file")
    args = p.parse_args(argv)
    for name in ("windows", "displays", "tickets", "idle", "kiosks", "pipeline"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    command = shlex.join([Path(sys.executable).name, "-m", "bench.server_load", *sys.argv[1:]])
    if argv is not None:
        command = shlex.join(["python", "-m", "bench.server_load", *argv])
    limits = raise_open_file_limit(args.idle + args.windows + args.displays + args.kiosks + 256)
    data: dict[str, Any] = {
        "benchmark": "server_load",
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": command,
        "machine": machine(),
        "parameters": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "open_file_limit": list(limits),
    }
    with tempfile.TemporaryDirectory(prefix="yichuang-bench-") as tmp:
        workdir = Path(tmp)
        db_url = f"sqlite:///{workdir / 'hall.db'}"
        print(f"building the hall ({args.windows} windows) in {workdir} ...", flush=True)
        categories = build_hall(db_url, args.windows)
        data["server"] = {"command": shlex.join(server_command("sqlite:///TMP/hall.db"))}
        data["ticket_categories"] = categories
        with server_process(db_url, workdir) as (proc, port):
            print(f"server pid {proc.pid} on port {port}; running the load ...", flush=True)
            try:
                data["results"] = asyncio.run(run_load(port, proc.pid, categories, args))
            except BaseException:
                log = (workdir / "server.log").read_text(encoding="utf-8", errors="replace")
                print("server log (tail):\n" + log[-3000:], file=sys.stderr)
                raise
    data["machine"]["load_avg_1m_at_end"] = round(os.getloadavg()[0], 2)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print()
    print(report(data))
    print(f"\nJSON written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
