"""The installed `queue-server` and `queue-window` programs, run as a user would, under tmux."""

from __future__ import annotations

import asyncio
import os
import re
import selectors
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import tomli_w

from queue_protocol.client import Credentials, QueueClient
from queue_protocol.messages import IssueTicket, Role
from queue_server.hallconfig import demo_hall_path, read_toml
from tests.conftest import KIOSK_TOKEN

BIN = Path(sys.executable).parent
LISTENING = re.compile(r"queue-server listening on (ws://\S+)")

if shutil.which("tmux") is None and os.environ.get("CI") != "true":
    pytest.skip("tmux is not installed (CI installs it)", allow_module_level=True)


def _read_line_matching(
    proc: subprocess.Popen[str], pattern: re.Pattern[str], timeout: float
) -> str:
    """The first match of `pattern` in the process's output, within `timeout` seconds. The
    pipe is read by the file descriptor, not the buffered reader: its buffer may already
    hold the line while the descriptor has nothing more to select."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    deadline = time.monotonic() + timeout
    seen = b""
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if not selector.select(deadline - time.monotonic()):
                break
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            seen += chunk
            if match := pattern.search(seen.decode("utf-8", errors="replace")):
                return match.group(1)
    raise AssertionError(f"the server did not report {pattern.pattern!r}: {seen!r}")


@pytest.fixture
def hall_env(tmp_path: Path) -> dict[str, str]:
    """An environment whose data and config live in tmp_path, never in the real home."""
    env = dict(os.environ)
    env.update(
        YICHUANG_DATA_DIR=str(tmp_path / "data"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        LANG="C.UTF-8",
        LC_ALL="C.UTF-8",
        TERM="xterm-256color",
    )
    env.pop("YICHUANG_DATABASE_URL", None)
    env.pop("TMUX", None)
    return env


@pytest.fixture
def server_url(tmp_path: Path, hall_env: dict[str, str]) -> Iterator[str]:
    """`queue-server init` + `queue-server serve --port 0` on a demo hall that never closes."""
    data = read_toml(demo_hall_path())
    data["hall"].pop("hours", None)
    hall = tmp_path / "hall.toml"
    hall.write_text(tomli_w.dumps(data), encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'hall.db'}"
    subprocess.run(
        [BIN / "queue-server", "init", str(hall), "--db", db],
        env=hall_env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    with (tmp_path / "server.log").open("w") as log:  # stderr: the server's log, kept apart
        proc = subprocess.Popen(
            [BIN / "queue-server", "serve", "--port", "0", "--db", db],
            env=hall_env,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        try:
            yield _read_line_matching(proc, LISTENING, timeout=30)
        finally:
            proc.terminate()
            proc.wait(10)


class Tmux:
    """One tmux server on a private socket, holding one window of the given size."""

    def __init__(self, env: dict[str, str]) -> None:
        self.socket = f"yichuang-test-{uuid.uuid4().hex[:8]}"
        self.env = env

    def run(self, *args: str) -> str:
        result = subprocess.run(
            ["tmux", "-u", "-L", self.socket, *args],
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
            timeout=10,
        )
        return result.stdout

    def start(self, command: str) -> None:
        self.run("new-session", "-d", "-s", "desk", "-x", "120", "-y", "40", command)

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", "desk", *keys)

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "desk")

    def wait_for(self, text: str, timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if text in screen:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never appeared; the screen shows:\n{screen}")
            time.sleep(0.05)  # polling the terminal, not waiting for the test to pass

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], env=self.env, check=False)


async def _issue(url: str, category: str) -> str:
    async with QueueClient(url, Credentials(role=Role.KIOSK, token=KIOSK_TOKEN)) as kiosk:
        reply = await kiosk.request(IssueTicket, category=category)
        return str(reply.ticket.number)


def test_staff_log_in_and_serve_a_ticket_in_the_terminal(
    server_url: str, hall_env: dict[str, str], tmp_path: Path
) -> None:
    """queue-window in a real terminal: log in by typing, call, start and finish one ticket."""
    tmux = Tmux(hall_env)
    try:
        tmux.start(f"{BIN / 'queue-window'} --server {server_url} --window 11 --user ck11")
        tmux.wait_for("窗口登录")
        # The form is filled in but for the password, where the cursor waits.
        tmux.keys("-l", "yichuang")
        tmux.wait_for("•" * 8)
        tmux.keys("Enter")
        tmux.wait_for("徐丽")
        tmux.wait_for("按 N 呼叫下一位")
        number = asyncio.run(_issue(server_url, "SW"))
        tmux.keys("n")
        screen = tmux.wait_for(f"呼叫中 · {number}")
        assert "社会事务" in screen
        tmux.keys("s")
        tmux.wait_for(f"办理中 · {number}")
        tmux.keys("f")
        tmux.wait_for("已办结 1")
        settings = tmp_path / "config" / "yichuang" / "window-client.json"
        assert '"window": 11' in settings.read_text(encoding="utf-8")
    finally:
        tmux.kill()
