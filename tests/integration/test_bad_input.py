"""Bad input against the real server (SPEC §9): every bad frame gets one precise error reply,
the connection and the server stay up, and the database is left exactly as it was."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, bindparam, text
from sqlmodel import SQLModel
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from queue_protocol.errors import ErrorCode
from queue_protocol.version import MAX_REQUEST_BYTES
from queue_server.server import WS_MAX_SIZE, Limits, running
from queue_server.service import HallService
from tests.conftest import KIOSK_TOKEN
from tests.frames import HOSTILE, request_like

pytestmark = pytest.mark.both_stores  # SQLite and a real PostgreSQL

TIMEOUT = 15.0
KIOSK_HELLO = {"type": "hello", "id": "h1", "role": "kiosk", "token": KIOSK_TOKEN, "version": 1}


# -- helpers -------------------------------------------------------------------------------


LOGIN_AUDIT = ("session_opened", "login_refused")


def dump_db(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a stable order: equal dumps mean an unchanged database —
    but for the audit of logins (a hello accepted or refused is recorded, by design): those
    events are left out, and each hall's last_seq counts without them."""
    with engine.connect() as conn:
        # One snapshot of every table: a login's audit may commit between two reads (on
        # SQLite the dump's BEGIN IMMEDIATE holds the writers off already).
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ")
        logins = dict(
            conn.execute(
                text(
                    "SELECT hall_id, count(*) FROM event WHERE name IN :names GROUP BY hall_id"
                ).bindparams(bindparam("names", expanding=True)),
                {"names": list(LOGIN_AUDIT)},
            ).all()
        )
        dump: dict[str, list[tuple[Any, ...]]] = {}
        for table in SQLModel.metadata.sorted_tables:
            result = conn.execute(text(f'SELECT * FROM "{table.name}"'))
            columns = list(result.keys())
            rows = [dict(zip(columns, row, strict=True)) for row in result]
            if table.name == "event":
                rows = [r for r in rows if r["name"] not in LOGIN_AUDIT]
            if table.name == "hall":
                for r in rows:
                    r["last_seq"] -= logins.get(r["id"], 0)
            dump[table.name] = sorted((tuple(r.values()) for r in rows), key=repr)
        return dump


async def next_reply(ws: ClientConnection, timeout: float = TIMEOUT) -> dict[str, Any]:
    """The next reply (ok or error) on a raw connection, skipping events."""
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if message["type"] != "event":
            return message


async def ask(ws: ClientConnection, frame: dict[str, Any] | str | bytes) -> dict[str, Any]:
    """Send one frame (a dict is sent as JSON text) and return the reply to it."""
    await ws.send(frame if isinstance(frame, str | bytes) else json.dumps(frame))
    return await next_reply(ws)


@asynccontextmanager
async def session(url: str, hello: dict[str, Any] = KIOSK_HELLO) -> AsyncIterator[ClientConnection]:
    """A raw websocket connection that has said a valid hello."""
    async with connect(url, open_timeout=TIMEOUT, close_timeout=TIMEOUT) as ws:
        reply = await ask(ws, hello)
        assert reply["type"] == "ok", reply
        yield ws


async def assert_alive(ws: ClientConnection, rid: str = "alive") -> None:
    """The connection still answers a valid request with ok."""
    reply = await ask(ws, {"type": "snapshot", "id": rid})
    assert reply["type"] == "ok", reply
    assert reply["re"] == rid


async def closed_code(ws: ClientConnection) -> int | None:
    """Wait for the server to close the connection; the close code it sent."""
    with pytest.raises(ConnectionClosed):
        while True:
            await asyncio.wait_for(ws.recv(), TIMEOUT)
    assert ws.close_code is not None
    return ws.close_code


# -- malformed frames -------------------------------------------------------------------------

ISSUE = {"type": "issue_ticket", "category": "SW"}

BAD_FRAMES: list[tuple[str, str, ErrorCode, str | None]] = [
    ("truncated JSON", '{"type": "snapshot", "id": "x1"', ErrorCode.BAD_JSON, None),
    ("not JSON at all", "hello, server", ErrorCode.BAD_JSON, None),
    ("empty frame", "", ErrorCode.BAD_JSON, None),
    ("JSON array", '[{"type": "snapshot", "id": "a1"}]', ErrorCode.BAD_JSON, None),
    ("JSON number", "42", ErrorCode.BAD_JSON, None),
    ("JSON string", '"snapshot"', ErrorCode.BAD_JSON, None),
    ("JSON null", "null", ErrorCode.BAD_JSON, None),
    ("deep nesting", "[" * 30_000 + "]" * 30_000, ErrorCode.BAD_JSON, None),
    ("unknown verb", '{"type": "fly_to_the_moon", "id": "v1"}', ErrorCode.UNKNOWN_VERB, "v1"),
    ("missing type", '{"id": "t1", "category": "SW"}', ErrorCode.BAD_REQUEST, "t1"),
    ("type not a string", '{"type": 7, "id": "t2"}', ErrorCode.BAD_REQUEST, "t2"),
    ("missing id", '{"type": "issue_ticket", "category": "SW"}', ErrorCode.BAD_REQUEST, None),
    ("empty id", '{"type": "snapshot", "id": ""}', ErrorCode.BAD_REQUEST, None),
    ("id too long", json.dumps({"type": "snapshot", "id": "x" * 65}), ErrorCode.BAD_REQUEST, None),
    ("id not a string", '{"type": "snapshot", "id": 5}', ErrorCode.BAD_REQUEST, None),
    ("missing category", '{"type": "issue_ticket", "id": "r1"}', ErrorCode.BAD_REQUEST, "r1"),
    ("missing ticket", '{"type": "ticket_status", "id": "r2"}', ErrorCode.BAD_REQUEST, "r2"),
    (
        "category not a string",
        '{"type": "issue_ticket", "id": "r3", "category": 5}',
        ErrorCode.BAD_REQUEST,
        "r3",
    ),
    (
        "unknown priority",
        json.dumps({**ISSUE, "id": "r4", "priority": "vip"}),
        ErrorCode.BAD_REQUEST,
        "r4",
    ),
    (
        "extra unknown field",
        json.dumps({**ISSUE, "id": "r5", "colour": "red"}),
        ErrorCode.BAD_REQUEST,
        "r5",
    ),
    (
        "category too long",
        json.dumps({"type": "issue_ticket", "id": "r6", "category": "S" * 33}),
        ErrorCode.BAD_REQUEST,
        "r6",
    ),
    (
        "appointment priority without a booking",
        json.dumps({**ISSUE, "id": "r7", "priority": "appointment"}),
        ErrorCode.BAD_REQUEST,
        "r7",
    ),
    (
        "unknown category",
        json.dumps({"type": "issue_ticket", "id": "r8", "category": "ZZ"}),
        ErrorCode.NOT_FOUND,
        "r8",
    ),
    (
        "unknown ticket",
        json.dumps({"type": "ticket_status", "id": "r9", "ticket": "Z999"}),
        ErrorCode.NOT_FOUND,
        "r9",
    ),
    (
        "NaN in a field",
        '{"type": "issue_ticket", "id": "r10", "category": "SW", "priority": NaN}',
        ErrorCode.BAD_REQUEST,
        "r10",
    ),
]


@pytest.mark.parametrize(
    ("frame", "code", "re"),
    [pytest.param(frame, code, re, id=name) for name, frame, code, re in BAD_FRAMES],
)
async def test_bad_frame_gets_error_and_connection_stays_open(
    url: str, service: HallService, frame: str, code: ErrorCode, re: str | None
) -> None:
    """A bad frame gets one error with the precise code and id; nothing changes; it goes on."""
    async with session(url) as ws:
        before = dump_db(service.engine)
        reply = await ask(ws, frame)
        assert reply["type"] == "error"
        assert reply["code"] == code
        assert reply["re"] == re
        assert reply["message"]
        await assert_alive(ws)
        assert dump_db(service.engine) == before


async def test_mistyped_window_fields_are_refused(url: str, service: HallService) -> None:
    """A window request with a string, bool, float or out-of-range window number is refused."""
    hello = {
        "type": "hello",
        "id": "h1",
        "role": "window",
        "user": "ck03",
        "password": "yichuang",
        "window": 3,
        "version": 1,
    }
    async with session(url, hello) as ws:
        before = dump_db(service.engine)
        for n, window in enumerate(["3", True, 3.0, 0, 10_000, -1, None, [3]]):
            frame = {"type": "call_next", "id": f"w{n}", "window": window}
            if window is None:
                frame = {"type": "pause_window", "id": f"w{n}"}  # `reason` is missing
            reply = await ask(ws, frame)
            assert (reply["type"], reply["code"], reply["re"]) == (
                "error",
                ErrorCode.BAD_REQUEST,
                f"w{n}",
            ), (window, reply)
        reply = await ask(ws, {"type": "pause_window", "id": "p1", "reason": ""})
        assert (reply["code"], reply["re"]) == (ErrorCode.BAD_REQUEST, "p1")
        assert dump_db(service.engine) == before
        await assert_alive(ws)


# -- oversized frames ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "item",
    [
        pytest.param("x" * (MAX_REQUEST_BYTES + 1), id="ascii"),
        pytest.param("办" * (MAX_REQUEST_BYTES // 3 + 10), id="multibyte-under-64k-chars"),
        pytest.param("x" * (WS_MAX_SIZE - 1000), id="just-under-1MiB"),
    ],
)
async def test_frame_over_64k_gets_too_large(url: str, service: HallService, item: str) -> None:
    """A frame over 64 KiB (counted in UTF-8 bytes) gets too_large; the connection stays."""
    async with session(url) as ws:
        before = dump_db(service.engine)
        frame = json.dumps({**ISSUE, "id": "big1", "item": item}, ensure_ascii=False)
        assert len(frame.encode()) > MAX_REQUEST_BYTES
        reply = await ask(ws, frame)
        assert reply["type"] == "error"
        assert reply["code"] == ErrorCode.TOO_LARGE
        assert reply["re"] == "big1"
        await assert_alive(ws)
        assert dump_db(service.engine) == before


async def test_frame_just_under_64k_is_parsed(url: str, service: HallService) -> None:
    """A frame just under the limit is parsed normally (here refused for its too-long item)."""
    async with session(url) as ws:
        head = '{"type": "issue_ticket", "id": "edge", "category": "SW", "item": "'
        frame = head + "x" * (MAX_REQUEST_BYTES - len(head) - 2) + '"}'
        assert len(frame.encode()) == MAX_REQUEST_BYTES
        reply = await ask(ws, frame)
        assert (reply["code"], reply["re"]) == (ErrorCode.BAD_REQUEST, "edge")


async def test_frame_over_1mib_closes_with_1009(url: str, service: HallService) -> None:
    """A frame over 1 MiB closes that connection with 1009; the server serves others on."""
    async with session(url) as ws:
        before = dump_db(service.engine)
        await ws.send(json.dumps({**ISSUE, "id": "huge", "item": "x" * (WS_MAX_SIZE + 1)}))
        assert await closed_code(ws) == 1009
    async with session(url) as other:
        await assert_alive(other)
    assert dump_db(service.engine) == before


# -- binary and non-UTF-8 frames ----------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b"\xff\xfe\x00\x01", id="non-utf8"),
        pytest.param(b'{"type": "snapshot", "id": "\xe5\x8a"}', id="truncated-utf8-in-json"),
        pytest.param(b"\x00\x00\x00\x00", id="nul-bytes"),
        pytest.param(b"plain bytes", id="utf8-not-json"),
    ],
)
async def test_binary_garbage_gets_bad_json(url: str, service: HallService, payload: bytes) -> None:
    """A binary frame that is not UTF-8 JSON gets bad_json and the connection stays open."""
    async with session(url) as ws:
        before = dump_db(service.engine)
        reply = await ask(ws, payload)
        assert (reply["type"], reply["code"], reply["re"]) == ("error", ErrorCode.BAD_JSON, None)
        await assert_alive(ws)
        assert dump_db(service.engine) == before


async def test_binary_frame_with_bad_request_is_answered_by_id(url: str) -> None:
    """A binary frame holding UTF-8 JSON is read like text: its errors still carry its id."""
    async with session(url) as ws:
        reply = await ask(ws, b'{"type": "no_such_verb", "id": "bin1"}')
        assert (reply["code"], reply["re"]) == (ErrorCode.UNKNOWN_VERB, "bin1")
        reply = await ask(ws, b'{"type": "snapshot", "id": "bin2"}')
        assert (reply["type"], reply["re"]) == ("ok", "bin2")


async def test_text_frame_with_invalid_utf8_closes_with_1007(
    url: str, service: HallService
) -> None:
    """A text frame that is not UTF-8 is a protocol violation (RFC 6455): closed with 1007."""
    async with session(url) as ws:
        before = dump_db(service.engine)
        await ws.send(b'{"type": "snapshot", "id": "\xff"}', text=True)
        assert await closed_code(ws) == 1007
    async with session(url) as other:
        await assert_alive(other)
    assert dump_db(service.engine) == before


# -- floods -------------------------------------------------------------------------------------


async def _flood(ws: ClientConnection, frames: list[str]) -> dict[str, dict[str, Any]]:
    """Send every frame without waiting while collecting replies; replies by `re`."""
    replies: dict[str, dict[str, Any]] = {}
    duplicates: list[str] = []

    async def receive() -> None:
        while len(replies) + len(duplicates) < len(frames):
            reply = await next_reply(ws, 60)
            if reply["re"] in replies:
                duplicates.append(reply["re"])
            replies[reply["re"]] = reply

    async def send() -> None:
        for frame in frames:
            await ws.send(frame)

    await asyncio.gather(send(), receive())
    assert duplicates == []
    return replies


async def test_flood_of_bad_requests_gets_one_error_each(url: str, service: HallService) -> None:
    """1,000 bad requests sent at once each get one error; others are served meanwhile."""
    async with session(url) as ws:
        before = dump_db(service.engine)
        kinds = [
            ({"type": "issue_ticket", "category": "SW", "priority": "vip"}, ErrorCode.BAD_REQUEST),
            ({"type": "teleport"}, ErrorCode.UNKNOWN_VERB),
            ({"type": "call_next"}, ErrorCode.FORBIDDEN),
            ({"type": "ticket_status", "ticket": "Q404"}, ErrorCode.NOT_FOUND),
            ({"type": "issue_ticket", "category": "NOPE"}, ErrorCode.NOT_FOUND),
        ]
        frames = [json.dumps({**kinds[i % 5][0], "id": f"f{i}"}) for i in range(1000)]
        expected = {f"f{i}": kinds[i % 5][1] for i in range(1000)}

        async def bystander() -> None:
            async with session(url) as other:
                await assert_alive(other, "bystander")

        replies, _ = await asyncio.gather(_flood(ws, frames), bystander())
        assert set(replies) == set(expected)
        assert {rid: r["code"] for rid, r in replies.items()} == expected
        await assert_alive(ws)
        assert dump_db(service.engine) == before


async def test_rate_limited_flood_answers_each_request_once(service: HallService) -> None:
    """Over the rate limit each request still gets one reply, ok or rate_limited."""
    # A slow refill, so that even on a loaded machine 1,000 requests outrun the allowance.
    limits = Limits(rate=5, burst=100)
    async with running(service, port=0, limits=limits, poll_interval=0.05) as server:
        url = f"ws://127.0.0.1:{server.port}"
        async with session(url) as kiosk:
            issued = await ask(kiosk, {**ISSUE, "id": "issue1"})
            assert issued["type"] == "ok", issued
        ticket = issued["ticket"]["id"]
        before = dump_db(service.engine)
        frames = [
            json.dumps({"type": "ticket_status", "id": f"s{i}", "ticket": ticket})
            for i in range(1000)
        ]
        started = time.monotonic()  # before the connection's bucket is filled
        async with session(url) as ws:
            replies = await _flood(ws, frames)
            elapsed = time.monotonic() - started
            assert set(replies) == {f"s{i}" for i in range(1000)}
            ok = [r for r in replies.values() if r["type"] == "ok"]
            limited = [r for r in replies.values() if r["type"] == "error"]
            assert all(r["code"] == ErrorCode.RATE_LIMITED for r in limited)
            assert all(r["ticket"]["id"] == ticket for r in ok)
            assert limits.burst <= len(ok) <= limits.burst + limits.rate * elapsed + 1
            assert limited, "1,000 requests at once must exceed a burst of 100"

            # Another connection has its own allowance and is served at once.
            async with session(url) as other:
                await assert_alive(other, "other")

            # The flooding connection is still open and is served again once it slows down.
            async def served_again() -> None:
                for n in range(1000):
                    reply = await ask(ws, {"type": "snapshot", "id": f"again{n}"})
                    if reply["type"] == "ok":
                        return
                    assert reply["code"] == ErrorCode.RATE_LIMITED
                    await asyncio.sleep(1 / limits.rate)  # the bucket refills with time

            await asyncio.wait_for(served_again(), TIMEOUT)
        assert dump_db(service.engine) == before


# -- idempotent request ids ---------------------------------------------------------------------


async def test_same_request_id_twice_issues_one_ticket(url: str, service: HallService) -> None:
    """The same issue_ticket sent twice with one id gets the identical reply and one ticket."""
    frame = json.dumps({**ISSUE, "id": "retry-1"})
    async with session(url) as ws:
        seq_before = service.last_seq()
        await ws.send(frame)
        first = await asyncio.wait_for(_raw_reply(ws), TIMEOUT)
        after_first = dump_db(service.engine)
        await ws.send(frame)
        second = await asyncio.wait_for(_raw_reply(ws), TIMEOUT)
        assert json.loads(first)["type"] == "ok"
        assert second == first
        assert dump_db(service.engine) == after_first
    assert len(after_first["ticket"]) == 1
    assert service.last_seq() == seq_before + 2  # ticket_issued + queue_changed, once

    # A retry on a new connection (the kiosk reconnected) is answered the same way.
    async with session(url) as again:
        await again.send(frame)
        assert await asyncio.wait_for(_raw_reply(again), TIMEOUT) == first
    assert dump_db(service.engine) == after_first


async def test_request_id_reused_for_another_request(url: str, service: HallService) -> None:
    """An id reused for a different request gets id_reused and changes nothing."""
    async with session(url) as ws:
        first = await ask(ws, {**ISSUE, "id": "dup-1"})
        assert first["type"] == "ok"
        before = dump_db(service.engine)
        for other in (
            {"type": "issue_ticket", "category": "GC"},
            {**ISSUE, "priority": "green"},
            {**ISSUE, "item": "食品经营许可"},
        ):
            reply = await ask(ws, {**other, "id": "dup-1"})
            assert (reply["type"], reply["code"], reply["re"]) == (
                "error",
                ErrorCode.ID_REUSED,
                "dup-1",
            )
        await assert_alive(ws)
        assert dump_db(service.engine) == before


async def test_request_ids_are_per_principal(url: str, service: HallService) -> None:
    """Two principals may use the same request id: each request is carried out."""
    admin_hello = {
        "type": "hello",
        "id": "h1",
        "role": "admin",
        "user": "zhuren",
        "password": "yichuang",
        "version": 1,
    }
    async with session(url) as kiosk, session(url, admin_hello) as admin:
        one = await ask(kiosk, {**ISSUE, "id": "same"})
        two = await ask(admin, {**ISSUE, "id": "same"})
        assert one["type"] == two["type"] == "ok"
        assert one["ticket"]["id"] != two["ticket"]["id"]
    assert len(dump_db(service.engine)["ticket"]) == 2


async def _raw_reply(ws: ClientConnection) -> str:
    """The text of the next reply frame, skipping events."""
    while True:
        frame = await ws.recv()
        assert isinstance(frame, str)
        if json.loads(frame)["type"] != "event":
            return frame


# -- hostile frames and fuzzing --------------------------------------------------------------

HOSTILE_FRAMES: list[tuple[str, str, ErrorCode, str | None]] = [
    ("lone surrogate in the id", '{"type":"snapshot","id":"sur\\ud800"}', ErrorCode.BAD_JSON, None),
    (
        "integer of 5,000 digits",
        '{"type":"snapshot","id":"n1","x":' + "9" * 5000 + "}",
        ErrorCode.BAD_JSON,
        "n1",
    ),
    (
        "nesting of 980 levels",
        '{"type":"snapshot","id":"n2","x":' + "[" * 980 + "]" * 980 + "}",
        ErrorCode.BAD_JSON,
        "n2",
    ),
    (
        "nesting of 5,000 levels after the id",
        '{"type":"snapshot","id":"n3","x":' + "[" * 5000 + "]" * 5000 + "}",
        ErrorCode.BAD_JSON,
        "n3",
    ),
    (
        "lone surrogate in a field",
        '{"type":"issue_ticket","id":"n4","category":"\\udfff"}',
        ErrorCode.BAD_JSON,
        "n4",
    ),
]


async def _replies_until_probe(ws: ClientConnection, probe: str) -> list[dict[str, Any]]:
    """Every reply received before the reply to `probe` (events skipped)."""
    replies = []
    while True:
        reply = await next_reply(ws)
        if reply.get("re") == probe:
            assert reply["type"] == "ok", reply
            return replies
        replies.append(reply)


@pytest.mark.parametrize(
    ("frame", "code", "re"),
    [pytest.param(frame, code, re, id=name) for name, frame, code, re in HOSTILE_FRAMES],
)
async def test_hostile_frame_gets_exactly_one_reply(
    url: str, service: HallService, frame: str, code: ErrorCode, re: str | None
) -> None:
    """Frames that once closed the connection with 1011 get one error each, before and after
    hello, and the connection carries on."""
    async with connect(url, open_timeout=TIMEOUT, close_timeout=TIMEOUT) as ws:
        reply = await ask(ws, frame)
        assert (reply["type"], reply["code"], reply["re"]) == ("error", code, re)
        assert (await ask(ws, KIOSK_HELLO))["type"] == "ok"
        before = dump_db(service.engine)
        await ws.send(frame)
        await ws.send(json.dumps({"type": "snapshot", "id": "probe"}))
        replies = await _replies_until_probe(ws, "probe")
        assert [(r["code"], r["re"]) for r in replies] == [(code, re)]
        assert dump_db(service.engine) == before


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    frames=st.lists(request_like() | st.sampled_from(HOSTILE) | st.text(max_size=50), max_size=6)
)
async def test_random_frames_each_get_one_reply(url: str, frames: list[str]) -> None:
    """Whatever frames a logged-in kiosk sends, each gets exactly one reply and the
    connection stays open."""
    async with session(url) as ws:
        for n, frame in enumerate(frames):
            await ws.send(frame)
            probe = f"probe-{n}"
            await ws.send(json.dumps({"type": "snapshot", "id": probe}))
            replies = await _replies_until_probe(ws, probe)
            assert len(replies) == 1, (frame[:80], replies)
