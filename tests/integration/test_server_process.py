"""The installed `queue-server` console script as a real process: it announces its port,
answers /healthz, keeps what it acknowledged across a restart, stops cleanly on a signal,
and refuses to start without a hall."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from websockets.asyncio.client import connect

from queue_server.hallconfig import demo_hall_path, read_toml
from tests.integration.test_bad_input import KIOSK_HELLO, ask, assert_alive, closed_code, session

QUEUE_SERVER = Path(sys.executable).parent / "queue-server"
START_TIMEOUT = 60.0  # a cold start on a loaded machine imports a lot
STOP_TIMEOUT = 15.0
LISTENING = "queue-server listening on ws://127.0.0.1:"


@dataclass
class Process:
    proc: asyncio.subprocess.Process
    port: int
    stderr: Path

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.stderr.read_text(encoding="utf-8", errors="replace")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The environment of the process: its data directory inside the test's tmp dir."""
    values = {k: v for k, v in os.environ.items() if not k.startswith("YICHUANG_")}
    values["YICHUANG_DATA_DIR"] = str(tmp_path / "data")
    values["PYTHONUNBUFFERED"] = "1"
    return values


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'hall.db'}"


@pytest.fixture
def open_hall(tmp_path: Path) -> Path:
    """The demo hall without opening hours (always open), as a TOML file."""
    data = read_toml(demo_hall_path())
    data["hall"].pop("hours", None)
    path = tmp_path / "open-hall.toml"
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path


async def run_cli(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    """Run one `queue-server` command to its end: exit code, stdout, stderr."""
    proc = await asyncio.create_subprocess_exec(
        str(QUEUE_SERVER),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        stdin=asyncio.subprocess.DEVNULL,
        env=env,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), START_TIMEOUT)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@asynccontextmanager
async def serving(*args: str, env: dict[str, str], log: Path) -> AsyncIterator[Process]:
    """`queue-server serve ARGS` until the block ends; killed if it has not stopped by then."""
    with log.open("wb") as stderr:
        proc = await asyncio.create_subprocess_exec(
            str(QUEUE_SERVER),
            "serve",
            "--port",
            "0",
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
            stdin=asyncio.subprocess.DEVNULL,
            env=env,
        )
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        while True:
            line = (await asyncio.wait_for(proc.stdout.readline(), START_TIMEOUT)).decode()
            assert line, f"exited before listening: {lines}; see {log}"
            lines.append(line)
            if line.startswith(LISTENING):
                port = int(line.strip().rsplit(":", 1)[1])
                break
        yield Process(proc, port, log)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def healthz(port: int) -> tuple[int, str, dict[str, Any]]:
    """GET /healthz: status code, content type and JSON body."""

    def get() -> tuple[int, str, dict[str, Any]]:
        url = f"http://127.0.0.1:{port}/healthz"
        with urllib.request.urlopen(url, timeout=STOP_TIMEOUT) as response:
            content_types = response.headers.get_all("Content-Type")
            assert len(content_types) == 1, content_types
            return response.status, content_types[0], json.loads(response.read())

    return await asyncio.to_thread(get)


async def stop(process: Process, sig: signal.Signals = signal.SIGTERM) -> int:
    """Signal the process and wait for its exit code."""
    process.proc.send_signal(sig)
    return await asyncio.wait_for(process.proc.wait(), STOP_TIMEOUT)


# -- tests ----------------------------------------------------------------------------------


async def test_serve_demo_announces_port_and_answers_healthz(
    tmp_path: Path, env: dict[str, str], db_url: str
) -> None:
    """`serve --demo --port 0` prints its port; /healthz answers 200 JSON with status ok."""
    async with serving("--demo", "--db", db_url, env=env, log=tmp_path / "err.log") as server:
        assert server.port > 0
        status, content_type, body = await healthz(server.port)
        assert status == 200
        assert content_type == "application/json"
        assert body["status"] == "ok"
        assert body["protocol"] == 1
        assert body["seq"] >= 1  # the demo hall's import is an event
        async with session(server.url) as ws:
            await assert_alive(ws)
            _, _, body = await healthz(server.port)
            assert body["connections"] == 1
        assert await stop(server) == 0
    assert (tmp_path / "hall.db").exists()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
async def test_signal_stops_cleanly_and_closes_clients(
    tmp_path: Path, env: dict[str, str], db_url: str, sig: signal.Signals
) -> None:
    """SIGTERM or SIGINT: connected clients see a close (1001) and the process exits 0."""
    async with serving("--demo", "--db", db_url, env=env, log=tmp_path / "err.log") as server:
        async with session(server.url) as kiosk, session(server.url) as other:
            server.proc.send_signal(sig)
            assert await closed_code(kiosk) == 1001
            assert await closed_code(other) == 1001
        code = await asyncio.wait_for(server.proc.wait(), STOP_TIMEOUT)
        assert code == 0, server.log()
        assert "Traceback" not in server.log()


async def test_tickets_survive_a_restart(
    tmp_path: Path, env: dict[str, str], db_url: str, open_hall: Path
) -> None:
    """A ticket acknowledged before SIGTERM is there after a restart; numbering goes on."""
    code, out, err = await run_cli("init", str(open_hall), "--db", db_url, env=env)
    assert code == 0, err
    assert "hall donghu created" in out

    async with serving("--db", db_url, env=env, log=tmp_path / "first.log") as server:
        async with session(server.url) as kiosk:
            issued = await ask(kiosk, {"type": "issue_ticket", "id": "i1", "category": "SW"})
            assert issued["type"] == "ok", issued
            _, _, before = await healthz(server.port)
        assert await stop(server) == 0

    async with serving("--db", db_url, env=env, log=tmp_path / "second.log") as server:
        _, _, after = await healthz(server.port)
        assert after["seq"] == before["seq"]
        async with session(server.url) as kiosk:
            ticket = issued["ticket"]["id"]
            status = await ask(kiosk, {"type": "ticket_status", "id": "t1", "ticket": ticket})
            assert status["type"] == "ok", status
            assert status["ticket"]["state"] == "waiting"
            # The retried request id is still remembered: same reply, no second ticket.
            again = await ask(kiosk, {"type": "issue_ticket", "id": "i1", "category": "SW"})
            assert again == issued
            following = await ask(kiosk, {"type": "issue_ticket", "id": "i2", "category": "SW"})
            assert following["ticket"]["number"] == "C002"
        assert await stop(server) == 0


async def test_serve_without_hall_exits_with_a_clear_message(
    env: dict[str, str], db_url: str
) -> None:
    """`serve` on a database without a hall (and without --demo) exits 1 and says why."""
    code, out, err = await run_cli("serve", "--port", "0", "--db", db_url, env=env)
    assert code == 1
    assert LISTENING not in out
    assert "no hall" in err
    assert "init" in err  # it tells how to create one
    assert "Traceback" not in err


async def test_serve_on_a_busy_port_exits_with_a_clear_message(
    env: dict[str, str], db_url: str
) -> None:
    """`serve` on a port already in use exits 1 with a message, not a traceback."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, out, err = await run_cli(
            "serve", "--demo", "--port", str(port), "--db", db_url, env=env
        )
    assert code == 1
    assert LISTENING not in out
    assert f"cannot listen on 127.0.0.1:{port}" in err
    assert "Traceback" not in err


async def test_default_database_lives_in_the_data_dir(tmp_path: Path, env: dict[str, str]) -> None:
    """Without --db the hall's SQLite file is created under YICHUANG_DATA_DIR."""
    async with serving("--demo", env=env, log=tmp_path / "err.log") as server:
        status, _, body = await healthz(server.port)
        assert (status, body["status"]) == (200, "ok")
        assert await stop(server) == 0
    assert (tmp_path / "data" / "hall.db").exists()


async def test_bad_input_does_not_stop_the_process(
    tmp_path: Path, env: dict[str, str], db_url: str
) -> None:
    """Garbage, an oversized frame and a failed login leave the process serving."""
    async with serving("--demo", "--db", db_url, env=env, log=tmp_path / "err.log") as server:
        async with session(server.url) as ws:
            for frame in ("{", "[]", b"\xff", '{"type": "x", "id": "1"}'):
                reply = await ask(ws, frame)
                assert reply["type"] == "error"
            await ws.send("x" * (2 * 1024 * 1024))
            assert await closed_code(ws) == 1009
        async with connect(server.url) as ws:
            reply = await ask(ws, {**KIOSK_HELLO, "token": "wrong"})
            assert (reply["code"], reply["re"]) == ("auth_failed", "h1")
        async with session(server.url) as ws:
            await assert_alive(ws)
        status, _, body = await healthz(server.port)
        assert (status, body["status"]) == (200, "ok")
        assert await stop(server) == 0
        assert "Traceback" not in server.log()
