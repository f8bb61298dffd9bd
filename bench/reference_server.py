"""Reference server: the smallest durable websockets + SQLite server, the yardstick of
bench.hall_core.

    .venv/bin/python -m bench.reference_server --db /tmp/ref.db --mode group [--port 0]

Every request is one JSON text frame with an "id"; the answer is {"re": id}. Modes:

  commit     each request is inserted into one table and committed in a transaction of its
             own; its answer is sent only after that COMMIT has returned
  group      group commit: the requests that arrive while a commit runs wait, and all of
             them go into the next transaction (one INSERT each, one COMMIT per batch); each
             answer is sent only after the COMMIT of its batch has returned
  broadcast  no database: a request {"id": .., "broadcast": TEXT} sends TEXT verbatim to
             every connection that said {"id": .., "listen": true}, with websockets'
             broadcast(), then is answered

SQLite runs as in queue_server/store/engine.py: WAL, synchronous=FULL, BEGIN IMMEDIATE; all
database work happens on one thread, so commits never overlap. Requests on one connection
are handled concurrently (a client may keep several in flight). Prints
"reference-server listening on ws://127.0.0.1:PORT" once it listens; SIGTERM stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.exceptions import ConnectionClosed

LISTENING = "reference-server listening on ws://127.0.0.1:"


class Store:
    """One table; every write is a transaction committed on disk, run on the one DB thread."""

    def __init__(self, path: str) -> None:
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="db")
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS request (seq INTEGER PRIMARY KEY, body TEXT NOT NULL)"
        )

    def _commit(self, bodies: list[str]) -> None:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.executemany("INSERT INTO request (body) VALUES (?)", [(b,) for b in bodies])
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    async def commit(self, bodies: list[str]) -> None:
        """Returns once `bodies` are committed (one transaction)."""
        await asyncio.get_running_loop().run_in_executor(self.thread, self._commit, bodies)


class GroupCommit:
    """Requests queue while a commit runs; each batch is one transaction."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.queued: list[tuple[str, asyncio.Future[None]]] = []
        self.wake = asyncio.Event()

    async def write(self, body: str) -> None:
        done = asyncio.get_running_loop().create_future()
        self.queued.append((body, done))
        self.wake.set()
        await done

    async def run(self) -> None:
        while True:
            await self.wake.wait()
            self.wake.clear()
            batch, self.queued = self.queued, []
            try:
                await self.store.commit([body for body, _ in batch])
            except Exception as exc:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
            else:
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)


class ReferenceServer:
    def __init__(self, mode: str, db: str | None) -> None:
        self.mode = mode
        self.store = Store(db) if db and mode != "broadcast" else None
        self.group = GroupCommit(self.store) if self.store and mode == "group" else None
        self.listeners: set[ServerConnection] = set()
        self.tasks: set[asyncio.Task[None]] = set()

    async def handle(self, ws: ServerConnection) -> None:
        try:
            async for frame in ws:
                message: dict[str, Any] = json.loads(frame)
                if message.get("listen"):
                    self.listeners.add(ws)
                    await ws.send(json.dumps({"re": message.get("id")}))
                    continue
                task = asyncio.create_task(self.answer(ws, str(frame), message))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
        except ConnectionClosed:
            pass
        finally:
            self.listeners.discard(ws)

    async def answer(self, ws: ServerConnection, frame: str, message: dict[str, Any]) -> None:
        if self.mode == "broadcast":
            broadcast(self.listeners, str(message["broadcast"]))
        elif self.group is not None:
            await self.group.write(frame)
        elif self.store is not None:
            await self.store.commit([frame])
        with contextlib.suppress(ConnectionClosed):
            await ws.send(json.dumps({"re": message.get("id")}))


async def main_async(args: argparse.Namespace) -> None:
    server = ReferenceServer(args.mode, args.db)
    committer = asyncio.create_task(server.group.run()) if server.group else None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with serve(
        server.handle, "127.0.0.1", args.port, max_size=2**24, ping_interval=None
    ) as ws_server:
        port = next(iter(ws_server.sockets)).getsockname()[1]
        print(f"{LISTENING}{port}", flush=True)
        await stop.wait()
    if committer is not None:
        committer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await committer


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.reference_server", description=__doc__)
    p.add_argument("--mode", choices=["commit", "group", "broadcast"], default="group")
    p.add_argument("--db", help="SQLite file (required unless --mode broadcast)")
    p.add_argument("--port", type=int, default=0)
    args = p.parse_args(argv)
    if args.mode != "broadcast" and not args.db:
        p.error("--db is required for the durable modes")
    asyncio.run(main_async(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
