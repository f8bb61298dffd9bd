"""Frames at the edges: before hello, limits, close codes, login throttling.

On a server with a low request rate (burst 3, 1 per second): frames before `hello`, frames
that are not JSON or not UTF-8, too large or malformed requests, the rate limit; close codes
seen by a hand-made websocket client (`Raw`); per-address login back-off, the account
lock-out, too many failed hellos on one connection, and `busy` under 40 simultaneous wrong
passwords. `--slow` also waits out the hello and ping timeouts (about 70 s more).
Run by `python -m scripts.protocol_docs`; on its own: `python -m scripts.protocol_docs.edges
OUT.json`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from queue_server.server import Limits, running

from .lib import PASSWORD, Clock, Conn, demo_config, hall_service, record, run

clock = Clock(datetime(2026, 11, 25, 2, 30, 0, tzinfo=UTC))
KIOSK_HELLO = {"type": "hello", "id": "h", "role": "kiosk", "token": "demo-kiosk-token"}
OP_TEXT, OP_CLOSE = 1, 8


def admin_hello(rid: str, password: str = PASSWORD, user: str = "zhuren") -> dict[str, Any]:
    return {
        "type": "hello",
        "id": rid,
        "version": 1,
        "role": "admin",
        "user": user,
        "password": password,
    }


class Raw:
    """A hand-made, blocking websocket client: sends any frame, never answers pings."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += self.sock.recv(4096)
        self.buf = buf.split(b"\r\n\r\n", 1)[1]

    def send(self, opcode: int, payload: bytes) -> None:
        """One final, masked frame."""
        mask = os.urandom(4)
        n = len(payload)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", n)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + body)

    def frames(self, timeout: float) -> list[tuple[int, bytes]]:
        """Read (opcode, payload) frames until the close frame, end of stream or timeout."""
        self.sock.settimeout(timeout)
        out: list[tuple[int, bytes]] = []
        try:
            while True:
                while len(self.buf) < 2:
                    chunk = self.sock.recv(65536)
                    if not chunk:
                        return out
                    self.buf += chunk
                op, n = self.buf[0] & 0x0F, self.buf[1] & 0x7F
                off = 2
                if n == 126:
                    n, off = struct.unpack("!H", self.buf[2:4])[0], 4
                elif n == 127:
                    n, off = struct.unpack("!Q", self.buf[2:10])[0], 10
                while len(self.buf) < off + n:
                    chunk = self.sock.recv(65536)
                    if not chunk:
                        return out
                    self.buf += chunk
                out.append((op, self.buf[off : off + n]))
                self.buf = self.buf[off + n :]
                if op == OP_CLOSE:
                    return out
        except TimeoutError:
            return out


def close_of(frames: list[tuple[int, bytes]]) -> tuple[int, str] | None:
    """The (code, reason) of the close frame among `frames`."""
    for op, data in frames:
        if op == OP_CLOSE:
            return struct.unpack("!H", data[:2])[0], data[2:].decode()
    return None


async def main(work: Path, slow: bool) -> None:
    service = hall_service(f"sqlite:///{work}/hall.db", clock, demo_config())
    async with running(service, port=0, limits=Limits(rate=1.0, burst=3.0)) as srv:
        url = f"ws://127.0.0.1:{srv.port}"
        # -- before hello
        c = await Conn("pre", url).open()
        await c.send_raw("{'type': 'hello'}", "not JSON")
        await asyncio.sleep(0.3)
        await c.req({"type": "call_everyone", "id": "p1"}, "unknown verb")
        await c.req({"type": "snapshot", "id": "s1"}, "valid, not hello")
        await c.req(
            {
                "type": "hello",
                "id": "h1",
                "version": 2,
                "role": "kiosk",
                "token": "demo-kiosk-token",
            },
            "version",
        )
        await c.req({"type": "hello", "id": "h2", "role": "kiosk"}, "no token")
        await c.closed_event.wait()
        record("note", "pre", {"unmatched": c.unmatched})
        # binary non-UTF-8 after hello, too large, bad request, already authenticated
        k = await Conn("kiosk", url).open()
        await k.req(
            {"type": "hello", "id": "kiosk-1", "role": "kiosk", "token": "demo-kiosk-token"}
        )
        await k.send_raw(b"\xff\xfe{", "binary not UTF-8")
        await asyncio.sleep(0.3)
        await k.req({"type": "snapshot", "id": "big", "pad": "x" * 70000}, "too large")
        await asyncio.sleep(1.2)
        await k.req(
            {"type": "issue_ticket", "id": "err-kiosk-45", "category": "SW", "priority": "urgent"},
            "bad request",
        )
        await asyncio.sleep(1.2)
        await k.req(
            {"type": "hello", "id": "err-kiosk-47", "role": "kiosk", "token": "demo-kiosk-token"},
            "already",
        )
        # rate limit: burst 3, 1/s
        for n in range(5):
            await k.req({"type": "ticket_status", "id": f"rl-{80 + n}", "ticket": "Z999"})
        record("note", "kiosk", {"unmatched": k.unmatched})
        await k.close()

        # -- close codes, seen by a hand-made client (blocking, so on executor threads)
        def over_one_mib() -> tuple[int, str] | None:
            r = Raw(srv.port)
            r.send(OP_TEXT, json.dumps(KIOSK_HELLO).encode())
            r.send(OP_TEXT, b'{"type":"snapshot","id":"s","pad":"' + b"x" * (1024 * 1024) + b'"}')
            return close_of(r.frames(5))

        def bad_utf8_text() -> tuple[int, str] | None:
            r = Raw(srv.port)
            r.send(OP_TEXT, b'{"type":"hello","id":"\xff"}')
            return close_of(r.frames(5))

        def exactly_limit() -> list[tuple[int, str]]:
            r = Raw(srv.port)
            r.send(OP_TEXT, json.dumps(KIOSK_HELLO).encode())
            body = b'{"type":"snapshot","id":"s","pad":"'
            body += b"x" * (1024 * 1024 - len(body) - 2) + b'"}'
            r.send(OP_TEXT, body)
            return [(op, d[:160].decode(errors="replace")) for op, d in r.frames(3)]

        record("note", "raw", {"over_1MiB": await asyncio.to_thread(over_one_mib)})
        record("note", "raw", {"invalid_utf8_text": await asyncio.to_thread(bad_utf8_text)})
        record("note", "raw", {"exactly_1MiB": await asyncio.to_thread(exactly_limit)})

        if slow:

            def no_hello() -> tuple[tuple[int, str] | None, float]:
                r = Raw(srv.port)
                t = time.monotonic()
                closed = close_of(r.frames(30))
                return closed, round(time.monotonic() - t, 1)

            def no_pong() -> tuple[tuple[int, str] | None, list[int], float]:
                r = Raw(srv.port)
                r.send(OP_TEXT, json.dumps(KIOSK_HELLO).encode())
                t = time.monotonic()
                frames = r.frames(70)
                return close_of(frames), [op for op, _ in frames], round(time.monotonic() - t, 1)

            a = asyncio.create_task(asyncio.to_thread(no_hello))
            b = asyncio.create_task(asyncio.to_thread(no_pong))
            record("note", "raw", {"no_hello": await a})
            record("note", "raw", {"no_pong": await b})

        # -- login throttling from 127.0.0.2
        for n in range(5):
            c = await Conn(f"a{n}", url, "127.0.0.2").open()
            await c.req(admin_hello(f"h{n}", "wrong-password"))
            await c.close()
        c = await Conn("a5", url, "127.0.0.2").open()
        t = time.monotonic()
        await c.req(admin_hello("h5", "wrong-password"))
        record("note", "a5", {"took": time.monotonic() - t})
        t = time.monotonic()
        await c.req(admin_hello("h6", PASSWORD), "right password during back-off")
        record("note", "a5", {"refusal_took": time.monotonic() - t})
        await c.close()
        c = await Conn("b", url, "127.0.0.3").open()
        await c.req(admin_hello("other-1", PASSWORD), "other address")
        await c.close()
        # on to the lock: 10 wrong passwords for zhuren
        n = 6
        while n < 10:
            clock.advance(minutes=6)
            c = await Conn(f"a{n}", url, "127.0.0.2").open()
            r = await c.req(admin_hello(f"h{n + 1}", "wrong-password"))
            await c.close()
            if r["code"] == "auth_failed":
                n += 1
        clock.advance(minutes=6)
        c = await Conn("locked", url, "127.0.0.3").open()
        await c.req(admin_hello("h20", PASSWORD), "right password, locked account, another address")
        await c.close()
        # failed-hello close: 5 refusals on one connection
        c = await Conn("five", url, "127.0.0.4").open()
        for n in range(5):
            await c.req({"type": "hello", "id": f"f{n}", "role": "kiosk", "token": "wrong"})
        await c.closed_event.wait()
        # busy: 40 simultaneous wrong passwords from 40 addresses
        conns = [await Conn(f"busy{n}", url, f"127.0.1.{n + 1}").open() for n in range(40)]
        replies = await asyncio.gather(
            *(
                x.req(admin_hello(f"busy-{n}", "wrong-password", user="ck15"))
                for n, x in enumerate(conns)
            )
        )
        record("note", "busy", {"codes": [r["code"] for r in replies]})
        for x in conns:
            await x.close()
        c = await Conn("ck15", url, "127.0.0.5").open()
        await c.req(
            {
                "type": "hello",
                "id": "w15-3",
                "version": 1,
                "role": "window",
                "user": "ck15",
                "password": PASSWORD,
                "window": 15,
                "client": "queue-window",
            },
            "locked",
        )
        await c.close()


if __name__ == "__main__":
    run(main, __doc__, flags={"slow": "also wait out the hello and ping timeouts (~70 s)"})
