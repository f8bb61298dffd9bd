"""Supervisor console benchmark: a busy hall's events → the console's board updated.

    .venv/bin/python -m bench.admin_console [--seconds 20 --rate 10 --displays 20]

The real server runs as its own process (`queue-server serve`, bench.server_load) on a
temporary SQLite hall: the demo hall with 100 全科 windows (bench.hall_core's hall) and a
supervisor account. The load runs in a second process (`--load`, this module): 100 window
connections and 20 call screens, the windows calling, starting and finishing tickets at
hall pace on bench.hall_core's Poisson schedule (`hall_pace`). This process holds only the
program measured, so its CPU time is that program's:

1. reference: a bare `QueueClient` admin connection that takes every event and does
   nothing else (what any console must at least do): CPU and event receipt.
2. the console: the real Textual app, headless (`run_test`, 200x50), logged in through its
   login screen, its board redrawn from the events.

Latency is measured per `ticket_called` event, from the event's `at` (the server's clock,
when the command was applied: the same machine's wall clock) to the moment the console's
board has been redrawn with it (after its next redraw, `AdminApp.drawn`), and for the
reference to its receipt; also the console's own part, from the event message reaching
the app to the redraw. CPU is this process's user + system time over the phase, in % of
one core. Prints the figures and the console/reference ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped, unused-ignore]  # no stubs in the dev set
from textual.widgets import Button, DataTable, Input

from admin_console.app import AdminApp
from bench.hall_core import HALL_WINDOWS, Hall, hall_pace
from bench.server_load import (
    DEMO_PASSWORD,
    build_hall,
    percentile,
    raise_open_file_limit,
    server_process,
)
from queue_protocol.client import Credentials, EventReceived, QueueClient
from queue_protocol.messages import Role, TicketCalled
from staff_tui.connection import ServerEvent

SUPERVISOR = "zhuren"


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def summary(values: list[float]) -> dict[str, Any]:
    return {
        "n": len(values),
        "p50_ms": ms(percentile(values, 50)),
        "p99_ms": ms(percentile(values, 99)),
        "max_ms": ms(max(values, default=0.0)),
    }


# -- the load (its own process) ------------------------------------------------------------


async def run_load(
    port: int, server_pid: int, categories: list[str], args: argparse.Namespace
) -> None:
    hall = Hall(f"ws://127.0.0.1:{port}", psutil.Process(server_pid), categories, 8, 4)
    await hall.stock_up(round(1.5 * args.rate * args.seconds) + 50, 30.0)
    staff = await hall.windows(range(1, HALL_WINDOWS + 1))
    print("READY", flush=True)
    if not sys.stdin.readline():  # the measuring process has gone (it failed): stop here
        for conn in staff:
            await conn.close()
        return
    try:
        result = await hall_pace(hall, staff, args.displays, args.rate, args.seconds)
    finally:
        for conn in staff:
            await conn.close()
    print("DONE " + json.dumps(result), flush=True)


def start_load(port: int, server_pid: int, categories: list[str], args: argparse.Namespace) -> Any:
    command = [
        sys.executable,
        "-m",
        "bench.admin_console",
        "--load",
        f"{port},{server_pid},{','.join(categories)}",
        "--seconds",
        str(args.seconds),
        "--rate",
        str(args.rate),
        "--displays",
        str(args.displays),
    ]
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("READY"):
        proc.kill()
        raise RuntimeError(f"the load did not start: {line!r}")
    return proc


def finish_load(proc: Any) -> dict[str, Any]:
    out, _ = proc.communicate(timeout=120)
    done = [line for line in out.splitlines() if line.startswith("DONE ")]
    result: dict[str, Any] = json.loads(done[-1][5:]) if done else {}
    return result


# -- the measured programs -----------------------------------------------------------------


def cpu() -> float:
    times = psutil.Process().cpu_times()
    return float(times.user + times.system)


async def reference_phase(url: str, proc: Any) -> dict[str, Any]:
    client = QueueClient(url, Credentials(role=Role.ADMIN, user=SUPERVISOR, password=DEMO_PASSWORD))
    await client.start()
    latencies: list[float] = []
    events = 0
    try:
        proc.stdin.write("go\n")
        proc.stdin.flush()
        cpu0, wall0 = cpu(), time.monotonic()
        while proc.poll() is None:
            try:
                notice = await client.next_notice(timeout=0.5)
            except TimeoutError:
                continue
            if isinstance(notice, EventReceived):
                events += 1
                if isinstance(notice.event, TicketCalled):
                    latencies.append((datetime.now(UTC) - notice.event.at).total_seconds())
        used, wall = cpu() - cpu0, time.monotonic() - wall0
    finally:
        await client.close()
    return {"events": events, "cpu_pct": round(100 * used / wall, 1), **summary(latencies)}


class MeasuredConsole(AdminApp):
    """The console, noting when each call event reaches it and when the board shows it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.waiting: list[tuple[datetime, float]] = []  # (event at, arrival) not drawn yet
        self.end_to_end: list[float] = []
        self.in_console: list[float] = []
        self.events = 0
        self.drawn.append(self._drawn)

    def on_server_event(self, message: ServerEvent) -> None:
        self.events += 1
        if isinstance(message.event, TicketCalled) and not message.replayed:
            self.waiting.append((message.event.at, time.perf_counter()))
        # No super() call: Textual runs AdminApp's own handler after this one (it calls
        # the handler of every class in the MRO); calling it here applied each event twice.

    def _drawn(self) -> None:
        now, wall = time.perf_counter(), datetime.now(UTC)
        for at, arrived in self.waiting:
            self.end_to_end.append((wall - at).total_seconds())
            self.in_console.append(now - arrived)
        self.waiting.clear()


async def console_phase(url: str, proc: Any, workdir: Path) -> dict[str, Any]:
    console = MeasuredConsole(server=url, settings_path=workdir / "admin.json")
    async with console.run_test(size=(200, 50)) as pilot:
        while console.login_screen is None or not console.screen.query("#account"):
            await pilot.pause(0.05)
        console.screen.query_one("#account", Input).value = SUPERVISOR
        console.screen.query_one("#password", Input).value = DEMO_PASSWORD
        console.screen.query_one("#login", Button).press()
        deadline = time.monotonic() + 30
        while not (console.hall_screen and console.online):
            if time.monotonic() > deadline:
                raise RuntimeError("the console did not log in")
            await pilot.pause(0.05)
        while console.screen.query_one("#windows", DataTable).row_count < HALL_WINDOWS:
            await pilot.pause(0.05)
        proc.stdin.write("go\n")
        proc.stdin.flush()
        cpu0, wall0 = cpu(), time.monotonic()
        while proc.poll() is None:
            await pilot.pause(0.2)
        used, wall = cpu() - cpu0, time.monotonic() - wall0
        board_ok = console.board.events_applied > 0
    return {
        "events": console.events,
        "cpu_pct": round(100 * used / wall, 1),
        "board_updated": board_ok,
        "event_to_board": summary(console.end_to_end),
        "in_console": summary(console.in_console),
    }


async def measure(
    port: int, pid: int, categories: list[str], args: argparse.Namespace, workdir: Path
) -> dict[str, Any]:
    url = f"ws://127.0.0.1:{port}"
    res: dict[str, Any] = {}
    proc = start_load(port, pid, categories, args)
    res["reference"] = await reference_phase(url, proc)
    res["reference_load"] = finish_load(proc)
    proc = start_load(port, pid, categories, args)
    res["console"] = await console_phase(url, proc, workdir)
    res["console_load"] = finish_load(proc)
    return res


def report(res: dict[str, Any], args: argparse.Namespace, load: str) -> str:
    ref, con = res["reference"], res["console"]
    e2e, inside = con["event_to_board"], con["in_console"]
    lines = [
        f"{HALL_WINDOWS} windows, {args.displays} displays, {args.rate:g} calls/s for "
        f"{args.seconds:g} s per phase (load average {load})",
        f"calls made: reference phase {res['reference_load'].get('calls')}, console phase "
        f"{res['console_load'].get('calls')}; display p99 {res['console_load'].get('p99_ms')} ms",
        f"reference (bare QueueClient): {ref['events']} events, event -> received p50 "
        f"{ref['p50_ms']} ms, p99 {ref['p99_ms']} ms; CPU {ref['cpu_pct']}% of a core",
        f"console: {con['events']} events, event -> board updated p50 {e2e['p50_ms']} ms, "
        f"p99 {e2e['p99_ms']} ms, max {e2e['max_ms']} ms (n {e2e['n']}); inside the console "
        f"p50 {inside['p50_ms']} ms, p99 {inside['p99_ms']} ms; CPU {con['cpu_pct']}% of a core",
        f"console / reference: p99 {con_ratio(e2e['p99_ms'], ref['p99_ms'])}, CPU "
        f"{con_ratio(con['cpu_pct'], ref['cpu_pct'])}",
    ]
    return "\n".join(lines)


def con_ratio(a: float, b: float) -> str:
    return f"{a / b:.1f}x" if b else "-"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench.admin_console",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--seconds", type=float, default=20.0, help="length of each phase")
    p.add_argument("--rate", type=float, default=10.0, help="calls/s across the windows")
    p.add_argument("--displays", type=int, default=20, help="call screens connected")
    p.add_argument("--load", help=argparse.SUPPRESS)  # port,pid,categories: the load process
    p.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.load:
        port, pid, *categories = args.load.split(",")
        asyncio.run(run_load(int(port), int(pid), categories, args))
        return 0
    load_start = os.getloadavg()[0]
    raise_open_file_limit(HALL_WINDOWS + args.displays + 256)
    with tempfile.TemporaryDirectory(prefix="yichuang-admin-") as tmp:
        workdir = Path(tmp)
        db_url = f"sqlite:///{workdir / 'hall.db'}"
        categories = build_hall(db_url, HALL_WINDOWS, supervisor=SUPERVISOR)
        with server_process(db_url, workdir) as (server, port):
            try:
                res = asyncio.run(measure(port, server.pid, categories, args, workdir))
            except BaseException:
                log = (workdir / "server.log").read_text(encoding="utf-8", errors="replace")
                print("server log (tail):\n" + log[-3000:], file=sys.stderr)
                raise
    load = f"{load_start:.2f} -> {os.getloadavg()[0]:.2f}"
    print(report(res, args, load))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(res, ensure_ascii=False, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
