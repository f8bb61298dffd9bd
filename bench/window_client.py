"""Window client benchmark: key press "call next" -> ticket shown on the work screen.

    .venv/bin/python -m bench.window_client [--waiting 1000 --calls 200]

The real server runs as its own process (`python -m queue_server serve --port 0`) on a
temporary SQLite hall from the demo configuration (always open, no daily capacities) holding
`--waiting` tickets spread over every category. The real Textual app runs headless
(`run_test`) in this process and logs in at window 1 (全科). Each sample delivers the key N
to the app the way its terminal driver does and stops the clock when the work screen shows
the called ticket's number (the screen's own text, after the reply or the event, whichever
comes first); X (no-show) then frees the window, unmeasured. Pilot's `press` is not used
for the measured key because it also waits for the whole app to go idle.

Prints p50/p90/p99/max and writes bench/results/window_client.json.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from textual import events
from textual.widgets import Input, Static

from queue_protocol.messages import IssueTicket, Role, WindowState
from queue_server.hallconfig import demo_hall_path, read_toml
from queue_server.service import HallService, Principal
from queue_server.store.engine import make_engine
from window_client.app import WindowApp, make_app
from window_client.screens.work import WorkScreen

RESULTS = Path(__file__).resolve().parent / "results" / "window_client.json"
KIOSK = Principal(role=Role.KIOSK, key="device:bench")


def _hall(db: Path, waiting: int) -> HallService:
    data: dict[str, Any] = copy.deepcopy(read_toml(demo_hall_path()))
    data["hall"].pop("hours", None)
    for category in data["categories"]:
        category.pop("daily_capacity", None)  # 1,000 tickets must fit in one day
    service = HallService(make_engine(f"sqlite:///{db}"))
    service.import_config(data)
    codes = [c["code"] for c in data["categories"]]
    for i in range(waiting):
        outcome = service.execute(
            KIOSK, IssueTicket(id=f"bench-{i}", category=codes[i % len(codes)])
        )
        assert outcome.ok, outcome.reply
    return service


@contextmanager
def _server_process(db: Path) -> Iterator[str]:
    command = [
        sys.executable,
        "-m",
        "queue_server",
        "serve",
        "--port",
        "0",
        "--db",
        f"sqlite:///{db}",
        "--rate",
        "10000",
        "--burst",
        "10000",
    ]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # the server prints this line once it listens
            if match := re.search(r"listening on (ws://\S+)", line):
                yield match.group(1)
                break
        else:
            raise RuntimeError("the server exited before listening")
    finally:
        proc.terminate()
        proc.wait(30)


async def _until(app: WindowApp, condition: Any, timeout: float = 10.0) -> None:
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the window client did not get there in time")
        await asyncio.sleep(0.0002)


def _shown(app: WindowApp) -> str:
    screen = app.work_screen
    if screen is None:
        return ""
    return str(screen.query_one("#ticket-state", Static).content)


async def _measure(url: str, calls: int, settings: Path) -> list[float]:
    app = make_app(server=url, settings_path=settings)
    samples: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await _until(app, lambda: app.login_screen is not None and app.login_screen.is_mounted)
        await pilot.pause()
        screen = app.screen
        screen.query_one("#window", Input).value = "1"
        screen.query_one("#account", Input).value = "ck01"
        screen.query_one("#password", Input).value = "yichuang"
        await pilot.click("#login")
        await _until(app, lambda: isinstance(app.screen, WorkScreen) and app.online)
        await pilot.pause()
        driver = app._driver
        assert driver is not None
        for _ in range(calls):
            key = events.Key("n", "n")
            key.set_sender(app)
            start = time.perf_counter()
            driver.send_message(key)
            await _until(
                app,
                lambda: app.desk.current is not None and app.desk.current.number in _shown(app),
            )
            samples.append((time.perf_counter() - start) * 1000)
            await _until(app, lambda: app.busy is None)
            await pilot.press("x")
            await _until(
                app, lambda: app.desk.window_state is WindowState.IDLE and app.busy is None
            )
    return samples


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--waiting", type=int, default=1000, help="tickets waiting at the start")
    parser.add_argument("--calls", type=int, default=200, help="measured call-next presses")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="yichuang-bench-") as tmp:
        began = time.perf_counter()
        service = _hall(Path(tmp) / "hall.db", args.waiting)
        service.engine.dispose()
        print(f"hall ready: {args.waiting} waiting tickets in {time.perf_counter() - began:.1f} s")
        with _server_process(Path(tmp) / "hall.db") as url:
            samples = asyncio.run(_measure(url, args.calls, Path(tmp) / "settings.json"))
    result = {
        "benchmark": "window client: key N -> called ticket shown on the work screen",
        "waiting_tickets": args.waiting,
        "calls": len(samples),
        "p50_ms": round(statistics.median(samples), 2),
        "p90_ms": round(_percentile(samples, 0.90), 2),
        "p99_ms": round(_percentile(samples, 0.99), 2),
        "max_ms": round(max(samples), 2),
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(
        f"call next -> shown, {result['calls']} calls with {args.waiting} waiting: "
        f"p50 {result['p50_ms']} ms, p90 {result['p90_ms']} ms, p99 {result['p99_ms']} ms, "
        f"max {result['max_ms']} ms"
    )


if __name__ == "__main__":
    main()
