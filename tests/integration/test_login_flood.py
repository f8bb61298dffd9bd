"""Staff logins never freeze the hall (issue "A correct hall day", defect 4): passwords are
checked outside any database lock, failures back off per address, repeated wrong passwords
lock the account for a while, password checks are capped, and every failure is logged."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from websockets.asyncio.client import connect

from queue_protocol.errors import ErrorCode, ProtocolError
from queue_protocol.messages import Hello, Role
from queue_server import auth
from queue_server.server import QueueServer
from tests.conftest import DEMO_PASSWORD, Clock
from tests.integration.test_bad_input import KIOSK_HELLO, TIMEOUT, ask

pytestmark = pytest.mark.hall_clock


def admin_hello(password: str, user: str = "zhuren", rid: str = "h1") -> dict[str, Any]:
    return {"type": "hello", "id": rid, "role": "admin", "user": user, "password": password}


async def hello_from(url: str, address: str, hello: dict[str, Any]) -> dict[str, Any]:
    """Say one hello on a fresh connection from the loopback address `address`."""
    async with connect(
        url, open_timeout=TIMEOUT, close_timeout=TIMEOUT, local_addr=(address, 0)
    ) as ws:
        return await ask(ws, hello)


async def test_password_is_checked_while_the_database_is_locked(
    server: QueueServer, db_url: str
) -> None:
    """A login's credential read and password check need no write lock: they finish while
    another connection holds SQLite's write lock."""
    path = db_url.removeprefix("sqlite:///")
    blocker = sqlite3.connect(path, isolation_level=None, timeout=30)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        assert server.auth is not None
        hello = Hello(id="h", role=Role.ADMIN, user="zhuren", password=DEMO_PASSWORD)
        principal = await asyncio.wait_for(
            server.auth.login(hello, "10.0.0.1", server.first.hall_id), TIMEOUT
        )
        assert principal.staff == "zhuren"
        wrong = Hello(id="h", role=Role.ADMIN, user="zhuren", password="not-the-password")
        with pytest.raises(ProtocolError) as refused:
            await asyncio.wait_for(
                server.auth.login(wrong, "10.0.0.1", server.first.hall_id), TIMEOUT
            )
        assert refused.value.code is ErrorCode.AUTH_FAILED
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()


async def test_failed_logins_from_one_address_back_off(
    url: str, server: QueueServer, clock: Clock
) -> None:
    """After five failures from an address, the next login from it is refused at once with a
    retry time, even with the right password; other addresses are not affected; after the
    wait it is accepted."""
    for n in range(auth.FREE_FAILURES):
        reply = await hello_from(url, "127.0.0.2", admin_hello("wrong-password", rid=f"w{n}"))
        assert reply["code"] == ErrorCode.AUTH_FAILED
    reply = await hello_from(url, "127.0.0.2", admin_hello("wrong-password"))
    assert reply["code"] == ErrorCode.AUTH_FAILED  # the sixth is still checked …
    refused = await hello_from(url, "127.0.0.2", admin_hello(DEMO_PASSWORD))
    assert (refused["code"], refused["reason"]) == (ErrorCode.RATE_LIMITED, "login_backoff")
    assert 0 < refused["retry_after_seconds"] <= 1.0  # … and starts a one-second back-off
    other = await hello_from(url, "127.0.0.3", admin_hello(DEMO_PASSWORD))
    assert other["type"] == "ok"
    clock.advance(seconds=1.5)
    again = await hello_from(url, "127.0.0.2", admin_hello(DEMO_PASSWORD))
    assert again["type"] == "ok"


async def test_back_off_doubles_with_each_further_failure(
    url: str, server: QueueServer, clock: Clock
) -> None:
    """Each failure beyond the free ones doubles the wait: 1 s, 2 s."""
    waits = []
    for n in range(auth.FREE_FAILURES + 2):
        reply = await hello_from(url, "127.0.0.4", admin_hello("wrong-password", rid=f"w{n}"))
        assert reply["code"] == ErrorCode.AUTH_FAILED, reply
        if n >= auth.FREE_FAILURES:
            refused = await hello_from(url, "127.0.0.4", admin_hello("wrong-password"))
            assert refused["code"] == ErrorCode.RATE_LIMITED
            waits.append(refused["retry_after_seconds"])
            clock.advance(seconds=refused["retry_after_seconds"] + 0.1)
    assert waits == [1.0, 2.0]


async def test_repeated_wrong_passwords_lock_the_account(
    url: str, server: QueueServer, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    """Ten wrong passwords for one account, from ten addresses, lock it for 15 minutes: the
    right password is refused with account_locked and the time the lock ends; then it works.
    Each failure is logged with account and address, never the password."""
    caplog.set_level(logging.WARNING, logger="queue_server.auth")
    for n in range(10):
        reply = await hello_from(url, f"127.0.1.{n + 1}", admin_hello("guess-number-" + str(n)))
        assert reply["code"] == ErrorCode.AUTH_FAILED
    locked = await hello_from(url, "127.0.2.1", admin_hello(DEMO_PASSWORD))
    assert locked["code"] == ErrorCode.ACCOUNT_LOCKED
    assert locked["at"] is not None
    other_account = await hello_from(url, "127.0.2.1", admin_hello(DEMO_PASSWORD, user="admin"))
    assert other_account["type"] == "ok"
    clock.advance(minutes=15, seconds=1)
    assert (await hello_from(url, "127.0.2.2", admin_hello(DEMO_PASSWORD)))["type"] == "ok"

    failures = [r.getMessage() for r in caplog.records if "login failed" in r.getMessage()]
    assert len(failures) == 10
    assert all("zhuren" in line and "127.0.1." in line for line in failures)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "guess-number" not in logged
    assert any("locked until" in r.getMessage() for r in caplog.records)


async def test_lock_after_failures_comes_from_the_hall_configuration(
    url: str, server: QueueServer, clock: Clock
) -> None:
    """`lock_after_failures` in the hall TOML sets how many wrong passwords lock an account."""
    data = server.service.export_config()
    data["hall"]["lock_after_failures"] = 3
    data["hall"]["lock_minutes"] = 2
    server.service.import_config(data)
    for n in range(3):
        await hello_from(url, f"127.0.3.{n + 1}", admin_hello("wrong-password"))
    locked = await hello_from(url, "127.0.3.9", admin_hello(DEMO_PASSWORD))
    assert locked["code"] == ErrorCode.ACCOUNT_LOCKED
    clock.advance(minutes=2, seconds=1)
    assert (await hello_from(url, "127.0.3.9", admin_hello(DEMO_PASSWORD)))["type"] == "ok"


async def test_wrong_device_tokens_back_off_too(url: str, server: QueueServer) -> None:
    """Guessing device tokens backs off like guessing passwords; a valid kiosk elsewhere
    logs in."""
    bad = {"type": "hello", "id": "h1", "role": "kiosk", "token": "guess"}
    for _ in range(auth.FREE_FAILURES + 1):
        assert (await hello_from(url, "127.0.4.1", bad))["code"] == ErrorCode.AUTH_FAILED
    refused = await hello_from(url, "127.0.4.1", KIOSK_HELLO)
    assert refused["code"] == ErrorCode.RATE_LIMITED
    assert (await hello_from(url, "127.0.4.2", KIOSK_HELLO))["type"] == "ok"


async def test_password_checks_are_capped_and_the_overflow_is_refused_at_once() -> None:
    """With every check slot busy and the waiting line full, one more login is refused at
    once as busy instead of queueing without bound."""
    release = threading.Event()

    def slow_verify(password_hash: str | None, password: str) -> bool:
        release.wait(TIMEOUT)
        return False

    with ThreadPoolExecutor(max_workers=auth.MAX_WAITING_CHECKS + 2) as pool:
        checks = auth.PasswordChecks(pool, verify=slow_verify, concurrent=2)
        waiting = [
            asyncio.create_task(checks.verify(None, "x")) for _ in range(auth.MAX_WAITING_CHECKS)
        ]
        await asyncio.sleep(0)  # each task runs up to its first wait, counted as waiting
        assert checks.waiting == auth.MAX_WAITING_CHECKS
        with pytest.raises(ProtocolError) as busy:
            await checks.verify(None, "x")
        assert (busy.value.code, busy.value.details["reason"]) == (
            ErrorCode.RATE_LIMITED,
            "login_busy",
        )
        release.set()
        assert await asyncio.wait_for(asyncio.gather(*waiting), TIMEOUT) == [False] * len(waiting)


async def test_a_kiosk_is_served_while_wrong_passwords_flood(url: str, server: QueueServer) -> None:
    """While eight connections keep sending wrong passwords, a kiosk's requests are all
    answered (the flood is throttled; figures: bench/login_flood.py)."""
    stop = asyncio.Event()

    async def flood(n: int) -> None:
        while not stop.is_set():
            async with connect(url, open_timeout=TIMEOUT) as ws:
                for k in range(5):
                    if stop.is_set():
                        return
                    await ws.send(json.dumps(admin_hello("wrong-password", rid=f"f{n}-{k}")))
                    reply = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
                    assert reply["type"] == "error"

    async with connect(url, open_timeout=TIMEOUT) as kiosk:
        assert (await ask(kiosk, KIOSK_HELLO))["type"] == "ok"
        flooders = [asyncio.create_task(flood(n)) for n in range(8)]
        try:
            for n in range(30):
                frame = {"type": "issue_ticket", "id": f"i{n}", "category": "SW"}
                reply = await asyncio.wait_for(ask(kiosk, frame), TIMEOUT)
                assert reply["type"] == "ok", reply
        finally:
            stop.set()
            await asyncio.gather(*flooders, return_exceptions=True)


def test_unknown_accounts_cannot_grow_memory_without_bound(clock: Clock) -> None:
    """Failures for ever new made-up accounts keep at most MAX_TRACKED entries."""
    guard = auth.LoginGuard(clock)
    rules = auth.LockRules()
    for n in range(auth.MAX_TRACKED + 10):
        guard.failed(f"made-up-{n}", f"10.{n // 65536}.{n // 256 % 256}.{n % 256}", rules)
    assert len(guard._accounts) <= auth.MAX_TRACKED
    assert len(guard._addresses) <= auth.MAX_TRACKED
    clock.advance(minutes=16)
    guard.check("made-up-1", "10.0.0.1", rules)  # forgotten: no back-off, no lock
    assert guard.locked_until("made-up-1") is None


async def test_the_client_says_why_a_login_is_held_back(url: str, server: QueueServer) -> None:
    """A client whose hello is held back by the address's back-off gets the refusal (its code
    and retry time) with its Disconnected notice, not a bare "cannot reach the server"."""
    from queue_protocol.client import Credentials, Disconnected, QueueClient

    for n in range(auth.FREE_FAILURES + 1):
        await hello_from(url, "127.0.0.1", admin_hello("wrong-password", rid=f"w{n}"))
    client = QueueClient(url, Credentials(role=Role.ADMIN, user="zhuren", password=DEMO_PASSWORD))
    starting = asyncio.create_task(client.start(timeout=TIMEOUT))
    try:
        notice = await client.next_notice(TIMEOUT)
        assert isinstance(notice, Disconnected)
        assert notice.refused is not None
        assert (notice.refused.code, notice.refused.reason) == (
            ErrorCode.RATE_LIMITED,
            "login_backoff",
        )
        assert notice.retry_in >= (notice.refused.retry_after_seconds or 0)
    finally:
        starting.cancel()
        await client.close()
