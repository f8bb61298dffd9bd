"""Shared helpers of the capture scripts (scenario, edges, checks).

A capture starts a real Yichuang server (`queue_server.server.running` around a
`HallService` on a scratch SQLite file, on a settable `Clock`), talks to it through `Conn`s
and records every frame sent and received. `run` is each capture's entry point: it parses
the command line (`OUT.json`), logs the server to `OUT.log`, runs the capture and writes the
record to `OUT.json`, also when the capture fails half-way.

Every capture runs in a process of its own, so the record is one module-level list, `LOG`.
Its entries are `{"kind", "conn", "frame", "note"}`, where `kind` is one of `request`,
`reply`, `event`, `raw` (a frame sent as is), `closed`, `exception` (a connection's reader
died), `cli` (a `queue-server` command and its output), `http` (a plain HTTP answer) or
`note` (an observation the docs state in prose, such as a close code or a timing).
"""

from __future__ import annotations

import argparse
import asyncio
import faulthandler
import json
import logging
import tempfile
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from websockets.asyncio.client import connect

from queue_server.hallconfig import demo_hall_path, read_toml
from queue_server.service import HallService
from queue_server.store.engine import make_engine

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Every staff account of the demo hall has this password.
PASSWORD = "yichuang"
LOG: list[dict[str, Any]] = []

# A reply's wait: generous, since 40 password checks at once take long on a loaded machine
# (the captures do not depend on how long replies take).
REPLY_SECONDS = 90


class Clock:
    """The server's clock: stands still until a capture moves it (forwards only)."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def set_local(self, y: int, mo: int, d: int, h: int, mi: int = 0, s: int = 0) -> None:
        """Move to a wall-clock time in Shanghai."""
        new = datetime(y, mo, d, h, mi, s, tzinfo=SHANGHAI).astimezone(UTC)
        assert new >= self.now, (new, self.now)
        self.now = new

    def advance(self, **delta: float) -> None:
        """Move on by a `timedelta(**delta)`."""
        self.now += timedelta(**delta)


def record(kind: str, conn: str, frame: Any, note: str = "") -> None:
    LOG.append({"kind": kind, "conn": conn, "frame": frame, "note": note})


def demo_config() -> dict[str, Any]:
    """A fresh copy of the demo hall's configuration, for a capture to edit."""
    return read_toml(demo_hall_path())


def hall_service(db: str, clock: Clock, config: dict[str, Any]) -> HallService:
    """A `HallService` on the database `db`, with `config` imported, on `clock`."""
    service = HallService(make_engine(db), clock=clock)
    service.import_config(config)
    return service


class Conn:
    """A raw websocket connection, named in the record, that records every frame."""

    def __init__(self, name: str, url: str, address: str = "127.0.0.1") -> None:
        self.name, self.url, self.address = name, url, address
        self.events: list[dict[str, Any]] = []
        self.replies: dict[str | None, asyncio.Future[dict[str, Any]]] = {}
        self.unmatched: list[dict[str, Any]] = []
        self.closed: tuple[int | None, str | None] | None = None
        self.closed_event = asyncio.Event()
        self.new_event = asyncio.Event()

    async def open(self) -> Conn:
        """Connect from `address` (so per-address limits can be shown) and start reading."""
        self.ws = await connect(
            self.url,
            local_addr=(self.address, 0),
            open_timeout=10,
            close_timeout=5,
            max_size=None,
        )
        self.reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        try:
            async for text in self.ws:
                frame = json.loads(text)
                if frame["type"] == "event":
                    self.events.append(frame)
                    record("event", self.name, frame)
                    ev, self.new_event = self.new_event, asyncio.Event()
                    ev.set()
                else:
                    record("reply", self.name, frame)
                    fut = self.replies.pop(frame.get("re"), None)
                    if fut is None:
                        self.unmatched.append(frame)
                    else:
                        fut.set_result(frame)
        except Exception as exc:
            # Recorded rather than raised: a reader that dies is part of what is captured.
            record("exception", self.name, repr(exc))
        finally:
            self.closed = (self.ws.close_code, self.ws.close_reason)
            record(
                "closed", self.name, {"code": self.ws.close_code, "reason": self.ws.close_reason}
            )
            self.closed_event.set()

    async def req(self, obj: dict[str, Any], note: str = "") -> dict[str, Any]:
        """Send a request and wait for the reply whose `re` is its `id`."""
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.replies[obj.get("id")] = fut
        record("request", self.name, obj, note)
        await self.ws.send(json.dumps(obj, ensure_ascii=False))
        return await asyncio.wait_for(fut, REPLY_SECONDS)

    async def send_raw(self, data: str | bytes, note: str = "") -> None:
        """Send a frame as is (text or binary) without waiting for anything."""
        shown = data if isinstance(data, str) and len(data) < 300 else f"<{len(data)} bytes>"
        record("raw", self.name, shown, note)
        await self.ws.send(data)

    async def wait_event(self, name: str, timeout: float = 10, **match: Any) -> dict[str, Any]:
        """The first event `name` (past or future) whose fields equal `match`.

        `window=N` matches a window view by its number.
        """
        async with asyncio.timeout(timeout):
            seen = 0
            while True:
                for e in self.events[seen:]:
                    if e["name"] == name and all(_field(e, k) == v for k, v in match.items()):
                        return e
                seen = len(self.events)
                await self.new_event.wait()

    async def close(self) -> None:
        await self.ws.close()
        await self.closed_event.wait()


def _field(event: dict[str, Any], key: str) -> Any:
    value = event.get(key)
    if key == "window" and isinstance(value, dict):
        return value["number"]
    return value


def run(
    capture: Callable[..., Awaitable[None]],
    description: str | None,
    *,
    flags: dict[str, str] | None = None,
    timeout: float = 180,
) -> None:
    """Run `capture(work, **flags)` from the command line and write what it recorded.

    `work` is a scratch directory (removed afterwards) for the capture's databases; each of
    `flags` becomes a `--name` switch, passed on as a bool. A capture that runs longer than
    `timeout` seconds fails, and a watchdog ends the process if even that hangs.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("out", type=Path, help="the JSON file to write (the log goes beside it)")
    for name, help_text in (flags or {}).items():
        parser.add_argument(f"--{name}", action="store_true", help=help_text)
    args = parser.parse_args()
    out: Path = args.out
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=[logging.FileHandler(out.with_suffix(".log"), mode="w", encoding="utf-8")],
    )
    faulthandler.dump_traceback_later(timeout + 15, exit=True)
    options = {name: getattr(args, name) for name in flags or {}}

    async def guarded(work: Path) -> None:
        async with asyncio.timeout(timeout):
            await capture(work, **options)

    try:
        with tempfile.TemporaryDirectory(prefix="yc-protocol-docs-") as work:
            asyncio.run(guarded(Path(work)))
    except BaseException:
        logging.exception("capture failed")
        raise
    finally:
        out.write_text(json.dumps(LOG, ensure_ascii=False, indent=1), encoding="utf-8")
        faulthandler.cancel_dump_traceback_later()
