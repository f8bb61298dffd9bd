"""The live demo hall as a newcomer starts it: `queue-demo`, run as a process."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

DEMO = Path(sys.executable).with_name("queue-demo")
RUN_FOR = 30.0  # seconds the demo must keep working (the issue's soak time)


def _reader(stream: object, lines: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        lines.put(line.rstrip("\n"))


def test_demo_issues_and_calls_through_the_server_then_stops_on_sigint(tmp_path: Path) -> None:
    """queue-demo runs for 30 s issuing and calling tickets through the real server, and a
    SIGINT stops it cleanly with a report."""
    env = {**os.environ, "YICHUANG_DATA_DIR": str(tmp_path / "data"), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [str(DEMO), "--no-screen", "--port", "0", "--speed", "60", "--data-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_reader, args=(process.stdout, lines), daemon=True).start()
    seen: list[str] = []
    try:
        started = time.monotonic()
        port = None
        while time.monotonic() - started < RUN_FOR:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                assert process.poll() is None, "\n".join(seen[-20:])
                continue
            seen.append(line)
            found = re.search(r"ws://127\.0\.0\.1:(\d+)", line)
            if port is None and found:
                port = int(found.group(1))
        assert port is not None, "\n".join(seen[-20:])
        # The kiosk and the 13 staff bots, logged in (their password checks take a while on
        # a busy machine: waited for, not assumed done).
        deadline = time.monotonic() + 90
        while True:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
                health = json.load(response)
            assert health["status"] == "ok"
            if health["connections"] >= 14 or time.monotonic() > deadline:
                break
            assert process.poll() is None, "\n".join(seen[-20:])
            with contextlib.suppress(queue.Empty):
                seen.append(lines.get(timeout=1))
        assert health["connections"] >= 14, health
        assert process.poll() is None, "the demo stopped by itself"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    while not lines.empty():
        seen.append(lines.get())
    issued = [line for line in seen if line.startswith("取号 ")]
    called = [line for line in seen if line.startswith("叫号 ")]
    assert len(issued) >= 10 and len(called) >= 10, "\n".join(seen[-20:])
    report = [line for line in seen if line.startswith("demo stopped:")]
    assert report, "\n".join(seen[-20:])
    found = re.search(r"(\d+) tickets issued, (\d+) called", report[0])
    assert found is not None, report[0]
    assert (int(found.group(1)), int(found.group(2))) == (len(issued), len(called))
