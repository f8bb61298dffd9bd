"""Ticket status pages at hall pace: what 1,000 open pages cost the server, and how soon a
page shows a call, against the same hall without them, in the same run.

    .venv/bin/python -m bench.citizen_pages [--pages 1000 --rate 2 --seconds 20]

The server runs in its own process (`queue-server serve`, bench.server_load's hall of 100
全科 windows on a scratch SQLite file); this process drives it over raw websockets. Tickets
are issued first (their slips' secrets kept), 100 windows and 20 call screens log in, then:

  A. without pages  calls on a Poisson schedule of --rate calls/s in total, each on the
                    next idle window, then its start_service and finish_service (as
                    bench.hall_core's hall pace, the same schedule): server CPU over the
                    phase, call -> ticket_called at every display (p50/p99).
  P. open pages     --pages status-page connections (role citizen, each with its ticket's
                    id and secret) for tickets still waiting: server RSS before and after,
                    per page; hellos/s.
  B. with pages     the same schedule again: server CPU, the displays' p50/p99, and for the
                    pages: call_next sent -> the called ticket's own page showing the call
                    (state called), and -> each other page of that category showing its
                    people ahead fall (timed from the category's last call sent before it);
                    frames sent to pages per call.
  A'. without       the pages closed, the schedule once more (the hall has changed a
                    little: fewer tickets wait), to bracket A.

Every loop is bounded in count and time; all traffic stays on 127.0.0.1; the server is
always terminated. Compare the ratios within a run: the machine is shared.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped, unused-ignore]  # no stubs in the dev set
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bench.hall_core import HALL_WINDOWS, Hall, paced, say
from bench.server_load import (
    DISPLAY_TOKEN,
    KIOSK_TOKEN,
    CallLog,
    Conn,
    close_all,
    device_hello,
    open_many,
    percentile,
    raise_open_file_limit,
    rss_kib,
    server_process,
    settle_rss,
)
from queue_protocol.version import PROTOCOL_VERSION

DRAIN_SECONDS = 10.0


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


@dataclass
class Slip:
    ticket: str
    category: str
    secret: str


@dataclass
class PageLog:
    """What the pages received, and when each category's calls were sent."""

    calls: dict[str, float] = field(default_factory=dict)  # ticket id -> call_next sent
    category_calls: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    own: list[float] = field(default_factory=list)  # call -> the called ticket's page
    moved: list[float] = field(default_factory=list)  # call -> people ahead fell on a page
    frames: int = 0
    watched: set[str] = field(default_factory=set)  # the tickets with a page open
    expected_own: int | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def check(self) -> None:
        if self.expected_own is not None and len(self.own) >= self.expected_own:
            self.done.set()


class Page:
    """One open status page: a `citizen` connection and its ticket's last view."""

    def __init__(self, ws: ClientConnection, slip: Slip, log: PageLog) -> None:
        self.ws, self.slip, self.log = ws, slip, log
        self.ahead: int | None = None
        self.state = "waiting"
        self.reader: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, url: str, slip: Slip, log: PageLog) -> Page:
        ws = await connect(url, open_timeout=30, ping_interval=None)
        hello = {
            "type": "hello",
            "id": "page",
            "version": PROTOCOL_VERSION,
            "role": "citizen",
            "ticket": slip.ticket,
            "secret": slip.secret,
        }
        await ws.send(json.dumps(hello))
        reply = json.loads(await asyncio.wait_for(ws.recv(), 60))
        if reply.get("type") != "ok":
            await ws.close()
            raise RuntimeError(f"status page refused: {reply.get('code')} {reply.get('reason')}")
        page = cls(ws, slip, log)
        page.ahead = reply["status"]["people_ahead"]
        page.state = reply["status"]["state"]
        page.reader = asyncio.create_task(page._read())
        return page

    async def _read(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for frame in self.ws:
                now = time.perf_counter()
                status = json.loads(frame)["status"]
                self.log.frames += 1
                if status["state"] == "called" and self.state == "waiting":
                    sent = self.log.calls.get(self.slip.ticket)
                    if sent is not None:
                        self.log.own.append(now - sent)
                        self.log.check()
                elif self.ahead is not None and status["people_ahead"] < self.ahead:
                    before = [t for t in self.log.category_calls[self.slip.category] if t < now]
                    if before:
                        self.log.moved.append(now - before[-1])
                self.state, self.ahead = status["state"], status["people_ahead"]

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ws.close(), 5)
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.reader


async def issue(url: str, categories: list[str], count: int, kiosks: int = 8) -> list[Slip]:
    """Issue `count` tickets (round robin over the categories), keeping their secrets."""
    conns = await open_many(url, [device_hello("kiosk", KIOSK_TOKEN)] * kiosks, kiosks)
    slips: list[Slip] = []
    numbers = iter(range(count))

    async def kiosk(conn: Conn) -> None:
        for n in numbers:
            category = categories[n % len(categories)]
            reply, _ = await conn.send({"type": "issue_ticket", "category": category})
            if reply["type"] != "ok":
                raise RuntimeError(f"issue_ticket: {reply.get('code')}")
            slips.append(Slip(reply["ticket"]["id"], category, reply["secret"]))

    try:
        await asyncio.gather(*(kiosk(c) for c in conns))
    finally:
        await close_all(conns)
    return slips


async def open_pages(url: str, slips: list[Slip], log: PageLog) -> list[Page]:
    gate = asyncio.Semaphore(50)

    async def one(slip: Slip) -> Page:
        async with gate:
            return await Page.open(url, slip, log)

    return list(await asyncio.gather(*(one(s) for s in slips)))


async def pace(
    hall: Hall,
    staff: list[Conn],
    displays: int,
    rate: float,
    seconds: float,
    pages: PageLog | None,
    category_of: dict[str, str],
) -> dict[str, Any]:
    """bench.hall_core's hall pace, with the calls' times also given to the pages."""
    log = CallLog()
    screens = await open_many(
        hall.url, [device_hello("display", DISPLAY_TOKEN)] * displays, 20, log.on_display_event
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
        if pages is not None:  # (a page may show the call before the window hears of it)
            pages.calls[ticket] = sent
            category = category_of.get(ticket, reply["ticket"]["category"])
            calls = pages.category_calls[category]
            calls.append(sent)
            calls.sort()
        for verb in ("start_service", "finish_service"):
            reply, _ = await window.send({"type": verb})
            if reply["type"] != "ok":
                log.error(f"{verb}: {reply.get('code')}")
                return

    server = hall.server
    cpu_before = server.cpu_times()
    started = time.perf_counter()
    try:
        schedule = await paced(staff, rate, seconds, call)
        wall = time.perf_counter() - started
        cpu_after = server.cpu_times()
        log.expected = len(log.sent) * displays
        log.check()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(log.all_received.wait(), DRAIN_SECONDS)
        if pages is not None:
            pages.expected_own = sum(1 for t in log.sent if t in pages.watched)
            pages.check()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(pages.done.wait(), DRAIN_SECONDS)
    finally:
        await close_all(screens)
    cpu = (cpu_after.user + cpu_after.system) - (cpu_before.user + cpu_before.system)
    display = [t - log.sent[k] for k, times in log.received.items() if k in log.sent for t in times]
    result: dict[str, Any] = {
        **schedule,
        "calls": len(log.sent),
        "server_cpu_pct": round(100 * cpu / wall, 1),
        "server_cpu_ms_per_call": round(1000 * cpu / max(1, len(log.sent)), 2),
        "display_receipts": len(display),
        "display_expected": len(log.sent) * displays,
        "display_p50_ms": ms(percentile(display, 50)),
        "display_p99_ms": ms(percentile(display, 99)),
        "errors": dict(log.errors),
    }
    if pages is not None:
        result |= {
            "own_pages": len(pages.own),
            "own_expected": pages.expected_own,
            "own_p50_ms": ms(percentile(pages.own, 50)),
            "own_p99_ms": ms(percentile(pages.own, 99)),
            "moved_updates": len(pages.moved),
            "moved_p50_ms": ms(percentile(pages.moved, 50)),
            "moved_p99_ms": ms(percentile(pages.moved, 99)),
            "page_frames": pages.frames,
            "page_frames_per_call": round(pages.frames / max(1, len(log.sent)), 1),
        }
    return result


async def run(port: int, pid: int, categories: list[str], args: argparse.Namespace) -> Any:
    server = psutil.Process(pid)
    hall = Hall(f"ws://127.0.0.1:{port}", server, categories, 8, 4)
    calls = round(args.rate * args.seconds * 1.6) + 20  # three phases' calls, and a margin
    res: dict[str, Any] = {"rss_start_kib": await settle_rss(server, 1.0)}
    say(f"issuing {args.pages + 3 * calls} tickets ...")
    slips = await issue(hall.url, categories, args.pages + 3 * calls)
    hall.issued = len(slips)
    category_of = {s.ticket: s.category for s in slips}
    say(f"logging in {HALL_WINDOWS} windows ...")
    staff = await hall.windows(range(1, HALL_WINDOWS + 1))
    try:
        say(f"A. {args.rate:g} calls/s for {args.seconds:g} s, no status pages")
        res["without"] = a = await pace(
            hall, staff, args.displays, args.rate, args.seconds, None, category_of
        )
        say(f"   server CPU {a['server_cpu_pct']} %, display p99 {a['display_p99_ms']} ms")

        waiting = [s for s in slips if s.ticket not in hall.called]
        # The pages of the tickets next in line, so that the calls of phase B reach them.
        chosen = waiting[: args.pages]
        say(f"P. opening {len(chosen)} status pages ...")
        log = PageLog(watched={s.ticket for s in chosen})
        before = await settle_rss(server)
        opened = time.perf_counter()
        pages = await open_pages(hall.url, chosen, log)
        open_s = time.perf_counter() - opened
        with_pages = await settle_rss(server)
        res["pages"] = {
            "pages": len(pages),
            "open_s": round(open_s, 2),
            "hellos_per_s": round(len(pages) / open_s, 1),
            "rss_before_kib": before,
            "rss_with_pages_kib": with_pages,
            "per_page_kib": round((with_pages - before) / max(1, len(pages)), 1),
        }
        log.frames = 0
        try:
            say(f"B. {args.rate:g} calls/s for {args.seconds:g} s, {len(pages)} pages open")
            res["with"] = b = await pace(
                hall, staff, args.displays, args.rate, args.seconds, log, category_of
            )
            res["with"]["rss_peak_kib"] = rss_kib(server)
        finally:
            for start in range(0, len(pages), 200):
                await asyncio.gather(*(page.close() for page in pages[start : start + 200]))
        say(
            f"   server CPU {b['server_cpu_pct']} %, display p99 {b['display_p99_ms']} ms, "
            f"own page p99 {b['own_p99_ms']} ms"
        )
        await settle_rss(server)
        say(f"A'. {args.rate:g} calls/s for {args.seconds:g} s, the pages closed")
        res["without_again"] = a2 = await pace(
            hall, staff, args.displays, args.rate, args.seconds, None, category_of
        )
        say(f"   server CPU {a2['server_cpu_pct']} %, display p99 {a2['display_p99_ms']} ms")
    finally:
        await close_all(staff)
    res["double_calls"] = sum(1 for n in hall.called.values() if n > 1)
    return res


def report(res: dict[str, Any], args: argparse.Namespace) -> str:
    a, b, a2, p = res["without"], res["with"], res["without_again"], res["pages"]
    base_cpu = (a["server_cpu_ms_per_call"] + a2["server_cpu_ms_per_call"]) / 2
    base_p99 = (a["display_p99_ms"] + a2["display_p99_ms"]) / 2
    lines = [
        f"status pages: {p['pages']} open, {args.rate:g} calls/s for {args.seconds:g} s, "
        f"{HALL_WINDOWS} windows, {args.displays} displays",
        "",
        "| figure | without pages (A / A') | with pages (B) | ratio B / mean(A, A') |",
        "|---|---|---|---|",
        f"| server CPU per call (call, start, finish) | {a['server_cpu_ms_per_call']} / "
        f"{a2['server_cpu_ms_per_call']} ms | {b['server_cpu_ms_per_call']} ms | "
        f"{b['server_cpu_ms_per_call'] / base_cpu:.2f}× |",
        f"| server CPU | {a['server_cpu_pct']} / {a2['server_cpu_pct']} % | "
        f"{b['server_cpu_pct']} % | |",
        f"| call → every display, p50 / p99 | {a['display_p50_ms']} / {a['display_p99_ms']}; "
        f"{a2['display_p50_ms']} / {a2['display_p99_ms']} ms | {b['display_p50_ms']} / "
        f"{b['display_p99_ms']} ms | p99 {b['display_p99_ms'] / base_p99:.2f}× |",
        f"| call → its own page shows it, p50 / p99 | — | {b['own_p50_ms']} / "
        f"{b['own_p99_ms']} ms ({b['own_pages']} of {b['own_expected']} calls of a ticket "
        "with a page) | |",
        f"| call → a page of its category shows fewer ahead, p50 / p99 | — | "
        f"{b['moved_p50_ms']} / {b['moved_p99_ms']} ms ({b['moved_updates']} updates) | |",
        f"| frames sent to pages per call | — | {b['page_frames_per_call']} | |",
        f"| server RSS | {p['rss_before_kib'] / 1024:.1f} MiB | "
        f"{p['rss_with_pages_kib'] / 1024:.1f} MiB = {p['per_page_kib']} KiB per page | |",
        f"| opening the pages | — | {p['hellos_per_s']} hellos/s | |",
        "",
        f"calls: {a['calls']} / {b['calls']} / {a2['calls']}; late starts "
        f"{a['late']} / {b['late']} / {a2['late']}; display receipts "
        f"{a['display_receipts']}/{a['display_expected']}, "
        f"{b['display_receipts']}/{b['display_expected']}, "
        f"{a2['display_receipts']}/{a2['display_expected']}; errors "
        f"{a['errors'] or '-'} / {b['errors'] or '-'} / {a2['errors'] or '-'}; "
        f"double calls {res['double_calls']}",
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.citizen_pages", description=__doc__)
    parser.add_argument("--pages", type=int, default=1000, help="status pages (default 1000)")
    parser.add_argument(
        "--rate", type=float, default=2.0, help="calls per second in the hall (default 2)"
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="per phase (default 20)")
    parser.add_argument("--displays", type=int, default=20, help="call screens (default 20)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    raise_open_file_limit(args.pages + HALL_WINDOWS + args.displays + 256)
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="yichuang-pages-") as tmp:
        from bench.server_load import build_hall

        workdir = Path(tmp)
        db_url = f"sqlite:///{workdir / 'hall.db'}"
        say(f"building the hall ({HALL_WINDOWS} windows) ...")
        categories = build_hall(db_url, HALL_WINDOWS)
        with server_process(db_url, workdir) as (proc, port):
            try:
                res = asyncio.run(run(port, proc.pid, categories, args))
            except BaseException:
                log = (workdir / "server.log").read_text(encoding="utf-8", errors="replace")
                print("server log (tail):\n" + log[-3000:], file=sys.stderr)
                raise
    print()
    print(report(res, args))
    print(f"load average {load:.2f} -> {os.getloadavg()[0]:.2f}")
    if args.json:
        args.json.write_text(json.dumps(res, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
