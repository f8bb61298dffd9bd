"""Who is on the other end of a `hello`: credentials checked off the write path (SPEC §9).

A login never holds the database's write lock: the account or device is read in a short
read-only transaction, and the password is checked afterwards, outside any transaction, on
threads of low CPU priority (argon2id costs about 0.16 s of two cores and releases the GIL;
run niced, it yields to the hall's own work instead of stalling it).

What unauthenticated clients can make the server do is bounded three ways:
- per address: after `FREE_FAILURES` failed logins, each further attempt must wait a back-off
  (1 s, doubling up to 5 min); until then it is refused without a password check, the
  refusal held back up to TARPIT_SECONDS so that a flooding connection is paced by itself;
- per account: after `HallRules.lock_after_failures` wrong passwords the account is locked
  for `lock_minutes` (even the right password is refused until then);
- globally: at most `MAX_CONCURRENT_CHECKS` password checks run at once, and at most
  `MAX_WAITING_CHECKS` wait; beyond that a login is refused at once as busy.
Every failed login is logged with the account and the address, never the password.
Failures are remembered in memory, per server process; a restart forgets them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import select

from queue_protocol.errors import ErrorCode, ProtocolError
from queue_protocol.messages import Hello, Role, StaffRole
from queue_server import security
from queue_server.service import Principal
from queue_server.store.engine import read_session
from queue_server.store.tables import DeviceRow, HallRow, StaffRow, TicketRow

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

FREE_FAILURES = 5  # failed logins from one address before its back-off starts
BACKOFF_FIRST = timedelta(seconds=1)
BACKOFF_MAX = timedelta(minutes=5)
FORGET_AFTER = timedelta(minutes=15)  # failures older than this no longer count
TARPIT_SECONDS = 2.0  # the longest a refusal without a password check is held back
MAX_CONCURRENT_CHECKS = 2
MAX_WAITING_CHECKS = 32
CHECKER_NICENESS = 10  # the password checkers' CPU priority, below the server's
MAX_TRACKED = 50_000  # addresses and accounts remembered before the oldest are dropped


# ---------------------------------------------------------------------------------------
# Reading credentials and deciding (also used synchronously by the CLI and tests)


@dataclass(frozen=True)
class LockRules:
    """The hall's account lock-out: `[hall] lock_after_failures`, `lock_minutes`."""

    after_failures: int = 10
    minutes: int = 15


def read_lock_rules(engine: Engine, hall_id: int) -> LockRules:
    with read_session(engine) as session:
        hall = session.get(HallRow, hall_id)
        if hall is None:
            return LockRules()
        return LockRules(hall.lock_after_failures, hall.lock_minutes)


def read_staff(engine: Engine, hall_id: int, account: str) -> StaffRow | None:
    with read_session(engine) as session:
        return session.get(StaffRow, (hall_id, account))


def read_device(engine: Engine, hall_id: int, token: str) -> DeviceRow | None:
    """The hall's device of this token (a token of another hall's device is no token of
    this hall's)."""
    with read_session(engine) as session:
        return session.exec(
            select(DeviceRow).where(
                DeviceRow.token_hash == security.hash_token(token), DeviceRow.hall_id == hall_id
            )
        ).first()


def read_device_hall(engine: Engine, token: str) -> int | None:
    with read_session(engine) as session:
        return session.exec(
            select(DeviceRow.hall_id).where(DeviceRow.token_hash == security.hash_token(token))
        ).first()


def read_ticket_secret(engine: Engine, hall_id: int, ticket: str) -> str | None:
    """The hash of a ticket's slip secret (None: no such ticket of this hall, or none)."""
    with read_session(engine) as session:
        return session.exec(
            select(TicketRow.secret_hash).where(
                TicketRow.hall_id == hall_id, TicketRow.id == ticket
            )
        ).first()


def citizen_principal(hello: Hello, secret_hash: str | None) -> Principal:
    """A status page's principal: the slip's secret matches its ticket's (in constant time).
    A wrong secret and an unknown ticket are refused alike."""
    assert hello.ticket is not None and hello.secret is not None
    if secret_hash is None or not security.token_matches(secret_hash, hello.secret):
        raise ProtocolError(
            ErrorCode.AUTH_FAILED, "this is not the slip of that ticket", reason="bad_secret"
        )
    return Principal(role=Role.CITIZEN, key=f"citizen:{hello.ticket}", ticket=hello.ticket)


def check_form(hello: Hello) -> None:
    """What a hello must carry for its role, before any credential is looked at."""
    if hello.role is Role.CITIZEN:
        if not hello.ticket or not hello.secret:
            raise ProtocolError(
                ErrorCode.BAD_REQUEST, "a status page says its ticket and the slip's secret"
            )
    elif hello.role in (Role.WINDOW, Role.ADMIN):
        if not hello.user or not hello.password:
            raise ProtocolError(ErrorCode.BAD_REQUEST, "staff log in with user and password")
        if hello.role is Role.WINDOW and hello.window is None:
            raise ProtocolError(ErrorCode.BAD_REQUEST, "a window login needs 'window'")
    elif not hello.token:
        raise ProtocolError(ErrorCode.BAD_REQUEST, "devices log in with a token")


def staff_principal(hello: Hello, staff: StaffRow | None, password_ok: bool) -> Principal:
    """The principal of a staff hello whose password has been checked; AUTH_FAILED does not
    say which part was wrong."""
    if staff is None or not password_ok:
        raise ProtocolError(ErrorCode.AUTH_FAILED, "wrong account or password")
    if staff.disabled:  # the right password: say why, not "wrong password"
        raise ProtocolError(
            ErrorCode.AUTH_FAILED, f"{staff.account} is disabled", reason="account_disabled"
        )
    staff_role = StaffRole(staff.role)
    if hello.role is Role.ADMIN and staff_role is StaffRole.STAFF:
        raise ProtocolError(
            ErrorCode.FORBIDDEN,
            f"{staff.account} is not a supervisor or administrator",
            reason="not_supervisor",
        )
    return Principal(
        role=hello.role,
        key=f"staff:{staff.account}",
        staff=staff.account,
        staff_name=staff.name,
        staff_role=staff_role,
        window=hello.window if hello.role is Role.WINDOW else None,
    )


def device_principal(hello: Hello, device: DeviceRow | None) -> Principal:
    import json

    if device is None or device.revoked or device.kind != hello.role.value:
        raise ProtocolError(ErrorCode.AUTH_FAILED, "unknown or revoked device token")
    windows = frozenset(json.loads(device.windows))
    return Principal(
        role=hello.role,
        key=f"device:{device.name}",
        device=device.name,
        zone=device.zone,
        windows=windows,
        # A rating pad is bound to its one window (hallconfig checks it has exactly one).
        window=min(windows) if hello.role is Role.RATER and windows else None,
    )


def authenticate(engine: Engine, hello: Hello, hall_id: int = 1) -> Principal:
    """Check a hello's credentials at the hall `hall_id` here and now (no throttling): for
    the CLI and tests."""
    check_form(hello)
    if hello.role in (Role.WINDOW, Role.ADMIN):
        assert hello.user is not None and hello.password is not None
        staff = read_staff(engine, hall_id, hello.user)
        ok = security.verify_password(staff.password_hash if staff else None, hello.password)
        return staff_principal(hello, staff, ok)
    if hello.role is Role.CITIZEN:
        assert hello.ticket is not None
        return citizen_principal(hello, read_ticket_secret(engine, hall_id, hello.ticket))
    assert hello.token is not None
    return device_principal(hello, read_device(engine, hall_id, hello.token))


# ---------------------------------------------------------------------------------------
# Throttling and lock-out


@dataclass
class _Failures:
    count: int = 0
    last: datetime | None = None
    blocked_until: datetime | None = None


class LoginGuard:
    """Failed logins per address (back-off) and per account (lock-out), in memory."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._addresses: dict[str, _Failures] = {}
        self._accounts: dict[str, _Failures] = {}

    def check(self, account: str | None, address: str, rules: LockRules) -> None:
        """Refuse at once (no password check) a login that must wait or is locked. A try on
        a locked account counts as a failure of its address."""
        now = self.clock()
        waiting = self._current(self._addresses, address, now)
        if waiting is not None and waiting.blocked_until and waiting.blocked_until > now:
            seconds = (waiting.blocked_until - now).total_seconds()
            raise ProtocolError(
                ErrorCode.RATE_LIMITED,
                "too many failed logins from this address; wait before trying again",
                reason="login_backoff",
                retry_after_seconds=round(seconds, 1),
            )
        if account is not None:
            locked = self._current(self._accounts, account, now)
            if locked is not None and locked.blocked_until and locked.blocked_until > now:
                self.failed(None, address, rules)
                raise ProtocolError(
                    ErrorCode.ACCOUNT_LOCKED,
                    "this account is locked after repeated wrong passwords",
                    at=locked.blocked_until,
                )

    def failed(self, account: str | None, address: str, rules: LockRules) -> None:
        now = self.clock()
        entry = self._entry(self._addresses, address, now)
        entry.count += 1
        entry.last = now
        beyond = entry.count - FREE_FAILURES
        if beyond > 0:
            entry.blocked_until = now + min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** (beyond - 1))
        if account is None:
            return
        staff = self._entry(self._accounts, account, now)
        staff.count += 1
        staff.last = now
        if rules.after_failures and staff.count >= rules.after_failures:
            staff.blocked_until = now + timedelta(minutes=rules.minutes)
            staff.count = 0
            log.warning(
                "account %s locked until %s after %d wrong passwords (last from %s)",
                account,
                staff.blocked_until.isoformat(timespec="seconds"),
                rules.after_failures,
                address,
            )

    def succeeded(self, account: str | None, address: str) -> None:
        self._addresses.pop(address, None)
        if account is not None:
            self._accounts.pop(account, None)

    def locked_until(self, account: str) -> datetime | None:
        entry = self._current(self._accounts, account, self.clock())
        return entry.blocked_until if entry else None

    def _current(self, table: dict[str, _Failures], key: str, now: datetime) -> _Failures | None:
        entry = table.get(key)
        if entry is None:
            return None
        stale = entry.last is not None and now - entry.last > FORGET_AFTER
        if stale and (entry.blocked_until is None or entry.blocked_until <= now):
            del table[key]
            return None
        return entry

    def _entry(self, table: dict[str, _Failures], key: str, now: datetime) -> _Failures:
        entry = self._current(table, key, now)
        if entry is None:
            if len(table) >= MAX_TRACKED:  # a flood of made-up accounts cannot grow memory
                del table[next(iter(table))]
            entry = table[key] = _Failures()
        return entry


# ---------------------------------------------------------------------------------------
# Password checks on niced threads


def _lower_priority() -> None:
    """Run this checker thread (and the lane threads argon2 starts from it, which inherit its
    priority) below the server's own threads: Linux keeps a nice value per thread."""
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), CHECKER_NICENESS)


def checker_threads() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(
        max_workers=MAX_CONCURRENT_CHECKS,
        thread_name_prefix="yichuang-password",
        initializer=_lower_priority,
    )


Verify = Callable[[str | None, str], bool]


class PasswordChecks:
    """At most `concurrent` checks at once on `executor` (argon2 releases the GIL), at most
    MAX_WAITING_CHECKS waiting."""

    def __init__(
        self,
        executor: Executor,
        verify: Verify = security.verify_password,
        concurrent: int = MAX_CONCURRENT_CHECKS,
    ) -> None:
        self._verify = verify
        self._executor = executor
        self._slots = asyncio.Semaphore(concurrent)
        self._waiting = 0

    @property
    def waiting(self) -> int:
        """Checks running or waiting for a slot."""
        return self._waiting

    async def verify(self, password_hash: str | None, password: str) -> bool:
        if self._waiting >= MAX_WAITING_CHECKS:
            raise ProtocolError(
                ErrorCode.RATE_LIMITED,
                "the server is busy with other logins; try again in a moment",
                reason="login_busy",
                retry_after_seconds=1.0,
            )
        self._waiting += 1
        try:
            async with self._slots:
                loop = asyncio.get_running_loop()
                return await loop.run_in_executor(
                    self._executor, self._verify, password_hash, password
                )
        finally:
            self._waiting -= 1


# ---------------------------------------------------------------------------------------
# The server's login path


class Authenticator:
    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        reads: Executor,
        checks: Executor,
        tarpit: float = TARPIT_SECONDS,
    ) -> None:
        self.engine = engine
        self.tarpit = tarpit
        self.guard = LoginGuard(clock)
        self.checks = PasswordChecks(checks)
        self._reads = reads  # threads for the short credential reads

    async def device_hall(self, token: str) -> int | None:
        """The hall of the device with this token (a hello that names no hall)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._reads, read_device_hall, self.engine, token)

    async def login(self, hello: Hello, address: str, hall_id: int) -> Principal:
        """The principal of a hello to the hall `hall_id`, or a ProtocolError; never holds
        a database lock while
        a password is checked. A refusal without a check is sent only after a short delay
        (at most `tarpit` seconds), so a client that ignores the retry time is paced by its
        own connection instead of costing the hall a reply per millisecond."""
        check_form(hello)
        loop = asyncio.get_running_loop()
        rules = await loop.run_in_executor(self._reads, read_lock_rules, self.engine, hall_id)
        staff_login = hello.role in (Role.WINDOW, Role.ADMIN)
        user = hello.user if staff_login else None
        account = f"{hall_id}:{user}" if user is not None else None  # locked out per hall
        try:
            self.guard.check(account, address, rules)
        except ProtocolError as exc:
            await asyncio.sleep(min(self.tarpit, exc.details.get("retry_after_seconds", 1.0)))
            raise
        if staff_login:
            assert user is not None and account is not None and hello.password is not None
            staff = await loop.run_in_executor(self._reads, read_staff, self.engine, hall_id, user)
            ok = await self.checks.verify(staff.password_hash if staff else None, hello.password)
            try:
                principal = staff_principal(hello, staff, ok)
            except ProtocolError as exc:
                if exc.code is ErrorCode.AUTH_FAILED:
                    self.guard.failed(account, address, rules)
                    log.warning("login failed: account %r from %s", user[:64], address)
                raise
            self.guard.succeeded(account, address)
            return principal
        if hello.role is Role.CITIZEN:  # the ticket id may be logged, never the secret
            assert hello.ticket is not None
            secret_hash = await loop.run_in_executor(
                self._reads, read_ticket_secret, self.engine, hall_id, hello.ticket
            )
            try:
                return citizen_principal(hello, secret_hash)
            except ProtocolError:
                self.guard.failed(None, address, rules)
                log.warning("status page refused: ticket %r from %s", hello.ticket, address)
                raise
        assert hello.token is not None
        device = await loop.run_in_executor(
            self._reads, read_device, self.engine, hall_id, hello.token
        )
        try:
            return device_principal(hello, device)
        except ProtocolError:
            self.guard.failed(None, address, rules)
            log.warning("login failed: %s token from %s", hello.role.value, address)
            raise
