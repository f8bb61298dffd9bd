"""The websockets front: hello/auth, dispatch, error replies, /healthz, clean shutdown.

One process serves one hall or several of one database (a district, SPEC §7): each hall
has its own writer, event log (hub) and window watch (`HallHost`); a connection belongs to
the hall its hello names (a device's token names its hall), and nothing of one hall
reaches another's connections.

Each hall's writer runs its commands on the event loop and waits for each commit on a thread
of its own: every command that arrives while a batch is being committed waits for the
next batch, and each batch is committed at once (group commit, queue_server/hall/core.py);
replies and events leave only after their batch's commit. Password checks run on niced
threads of their own (queue_server.auth), so a login never delays a call. Other
processes' events reach the hub by PostgreSQL's LISTEN/NOTIFY (store/notify.py) or, on
SQLite, by the store poller.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import gc
import json
import logging
import signal
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from http import HTTPStatus
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlmodel import Session, col, delete, select
from websockets.asyncio.client import connect as ws_connect
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.http11 import Request, Response

from queue_protocol.codec import RequestError, decode_request, encode, request_id_of
from queue_protocol.errors import (
    CLOSE_HALL_RETIRED,
    CLOSE_LOGGED_IN_ELSEWHERE,
    ErrorCode,
    ProtocolError,
)
from queue_protocol.messages import AnyRequest, DeviceStatus, ErrorReply, Hello, OkReply, VoiceState
from queue_protocol.version import PROTOCOL_VERSION
from queue_server.auth import Authenticator, checker_threads
from queue_server.hall import loading
from queue_server.hall.alerts import DeviceFacts
from queue_server.hall.core import Staged, failed
from queue_server.hub import Hub
from queue_server.roles import CONFIG_READS, CONFIG_VERBS, VERB_ROLES
from queue_server.service import Batch, HallService, Outcome, Principal, Published
from queue_server.store import lease, notify
from queue_server.store.lease import Leases
from queue_server.store.tables import EventRow, RequestRow

log = logging.getLogger(__name__)
T = TypeVar("T")

HELLO_TIMEOUT = 15.0  # seconds a new connection has to say hello
MAX_HELLO_FAILURES = 5  # then the connection is closed (slows password guessing)
WS_MAX_SIZE = 1024 * 1024  # frames above this close the connection (1009); 64 KiB get an error
REQUEST_LOG_DAYS = 2  # how long request ids are remembered for idempotent retries
PRUNE_EVERY = 3600.0  # seconds between prunings of the request log
# A window's client gone this long (a reconnect takes well under it) no longer counts.
DISCONNECT_GRACE = timedelta(seconds=10)
MAX_BATCH = 512  # commands committed together at most
# Refused logins written to a hall's audit, at most, per second; the codes that are audited.
LOGINS_AUDITED = 20
AUDITED_REFUSALS = frozenset({ErrorCode.AUTH_FAILED, ErrorCode.ACCOUNT_LOCKED, ErrorCode.FORBIDDEN})
ALERTS_EVERY = 2.0  # seconds between checks of the hall's alerts (hall/alerts.py)
HALLS_EVERY = 2.0  # seconds between looks for halls added or retired (follow_halls)


@dataclass
class Limits:
    """Per-connection request rate: a token bucket of `burst` refilled at `rate` per second."""

    rate: float = 50.0
    burst: float = 200.0


class _Bucket:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.tokens = limits.burst
        self.stamp = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.limits.burst, self.tokens + (now - self.stamp) * self.limits.rate)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class HallHost:
    """One hall served by this process: its writer, its event log (hub) and the watch of
    its windows whose client went away."""

    def __init__(self, server: QueueServer, service: HallService) -> None:
        self.server = server
        self.service = service
        self.code = ""
        self.hall_id = 0  # the hall's row, read at start
        self.hub: Hub | None = None
        self._catching_up = asyncio.Lock()
        self._window_locks: dict[int, asyncio.Lock] = {}
        # Windows whose last client connection went away, and since when (hall clock); those
        # already reported offline. See watch_windows.
        self._gone: dict[int, datetime] = {}
        self._offline: set[int] = set()
        # Devices (displays, kiosks) whose last connection went away, and since when; what
        # the connected displays report of their voice (device_status). For the alerts.
        self._devices_gone: dict[str, datetime] = {}
        self._voices: dict[str, VoiceState] = {}
        self._alerts_checked = 0.0  # time.monotonic() of the last check
        self._refusals: list[float] = []  # when refused logins were audited, the last second
        self._refused: list[tuple[Hello, str, ProtocolError]] = []  # still to be written
        # Commands waiting for the next batch, each with the future its connection awaits.
        self._queued: list[tuple[Principal, AnyRequest, asyncio.Future[Outcome]]] = []
        self._queued_now = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self.connections: set[ServerConnection] = set()  # logged in to this hall here

    async def start(self) -> None:
        if not self.hall_id:  # QueueServer._add has read it; fails early on an unknown hall
            self.hall_id = await self._in_db(self.service.hall_id)
        self.code = self.service.code
        await self._in_db(self.prune_request_log)
        # A close-out owed since the server last ran (it was down across midnight) comes
        # first; then no window has its client yet, so each is watched from now on.
        await self._in_db(self.service.close_out_if_due)
        await self._in_db(self.service.windows_disconnected)
        started = self.service.clock()
        self._gone = dict.fromkeys(await self._in_db(self.service.open_windows), started)
        self.hub = Hub(self._read_events, head=await self._in_db(self.service.last_seq))
        self._writer = asyncio.create_task(self._write(), name=f"hall writer {self.code}")

    async def stop(self) -> None:
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
        # Requests queued for a writer that is gone get no reply: their connections close.
        for _, _, done in self._queued:
            done.cancel()
        self._queued = []

    async def _in_db(self, fn: Callable[..., T], *args: Any) -> T:
        return await self.server._in_db(fn, *args)

    def publish(self, events: list[Published]) -> None:
        assert self.hub is not None
        self.hub.publish(events)
        if any(e.name == "config_changed" for e in events):
            # A revoked token or a disabled account must not keep even a silent connection.
            self.server._background(self._drop_revoked())

    async def _drop_revoked(self) -> None:
        assert self.hub is not None
        subscribers = list(self.hub.subscribers)
        allowed = await self._in_db(self.service.still_allowed, [s.principal for s in subscribers])
        for sub, ok in zip(subscribers, allowed, strict=True):
            if not ok:
                await self.hub.unsubscribe(sub)
                if sub.revoke is not None:
                    await sub.revoke()

    def _read_events_sync(self, after: int, limit: int) -> list[Published]:
        with Session(self.service.engine) as session:
            rows = session.exec(
                select(EventRow)
                .where(EventRow.hall_id == self.hall_id, EventRow.seq > after)
                .order_by(col(EventRow.seq))
                .limit(limit)
            ).all()
            return [
                Published(
                    r.seq, r.name, r.window, r.zone, r.payload, r.at, _also(r.name, r.payload)
                )
                for r in rows
            ]

    async def _read_events(self, after: int, limit: int) -> list[Published]:
        return await self._in_db(self._read_events_sync, after, limit)

    async def poll(self, listening: bool) -> None:
        """Carry out a day close-out that has come due, watch windows whose client went
        away, and (unless other processes' events are announced) pick up what they
        committed (CLI changes, a second server)."""
        self.publish((await self._in_db(self.service.close_out_if_due)).events)
        await self.watch_windows()
        if self._refused:
            refused, self._refused = self._refused, []
            self.publish((await self._in_db(self.service.logins_refused, refused)).events)
        if time.monotonic() - self._alerts_checked >= ALERTS_EVERY:
            self._alerts_checked = time.monotonic()
            facts = DeviceFacts(dict(self._devices_gone), dict(self._voices))
            self.publish((await self._in_db(self.service.check_alerts, facts)).events)
        if not listening:  # SQLite, or PostgreSQL's listener is reconnecting
            await self.caught_up_to(await self._in_db(self.service.last_seq))

    async def caught_up_to(self, seq: int) -> None:
        """Publish what other processes committed up to `seq`, read from the event table."""
        assert self.hub is not None
        async with self._catching_up:
            while seq > self.hub.head:
                head = self.hub.head
                self.publish(await self._read_events(head, 10_000))
                if self.hub.head == head:  # not readable yet: the next notice or poll
                    return

    async def caught_up_to_head(self) -> None:
        try:
            await self.caught_up_to(await self._in_db(self.service.last_seq))
        except Exception:
            log.exception("catching up with the store failed; the next notice retries")

    async def watch_windows(self) -> None:
        """A window whose client has been gone DISCONNECT_GRACE no longer counts as capacity
        and shows as offline; gone `window_offline_minutes`, it is closed (a ghost: the
        client quit, lost its terminal or crashed). A login in between ends the watch."""
        assert self.hub is not None
        config = self.service.cached_config
        if not self._gone or config is None:
            return
        now = self.service.clock()
        close_after = timedelta(minutes=config.rules.window_offline_minutes)
        for number, since in sorted(self._gone.items()):
            if self.hub.windows_in_use(number):
                del self._gone[number]
                continue
            if number not in self._offline and now - since >= DISCONNECT_GRACE:
                self._offline.add(number)
                self.publish((await self._in_db(self.service.window_disconnected, number)).events)
            if now - since >= close_after:
                del self._gone[number]
                self._offline.discard(number)
                outcome = await self._in_db(self.service.close_offline_window, number)
                self.publish(outcome.events)

    def prune_request_log(self) -> None:
        cutoff = self.service.clock() - timedelta(days=REQUEST_LOG_DAYS)
        with Session(self.service.engine) as session, session.begin():
            session.exec(
                delete(RequestRow).where(
                    col(RequestRow.hall_id) == self.hall_id, col(RequestRow.at) < cutoff
                )
            )

    # -- commands ---------------------------------------------------------------------------

    async def answer(self, principal: Principal, request: AnyRequest) -> Outcome:
        """Queue a connection's request for the hall's writer; its outcome once committed."""
        if isinstance(request, DeviceStatus):
            return self._device_status(principal, request)
        if request.type in CONFIG_VERBS:  # a transaction of its own, on the database thread
            connected = (
                frozenset(s.principal.device for s in self.hub.subscribers if s.principal.device)
                if self.hub is not None
                else frozenset()
            )
            outcome = await self._in_db(self.service.configure, principal, request, connected)
            if outcome.ok and request.type not in CONFIG_READS:
                await self.caught_up_to_head()  # its config_changed, to every client now
            return outcome
        done: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._queued.append((principal, request, done))
        self._queued_now.set()
        return await done

    async def _write(self) -> None:
        """The hall's writer: run what the connections sent, a batch at a time, in the order
        it arrived; publish each batch's events, then release its replies."""
        while True:
            await self._queued_now.wait()
            self._queued_now.clear()
            while self._queued:
                batch, self._queued = self._queued[:MAX_BATCH], self._queued[MAX_BATCH:]
                requests = [(p, r) for p, r, _ in batch]
                try:
                    # The commands run here, on the event loop; only the commit (the wait
                    # for the disk) goes to a thread. Python work on a second thread made
                    # every socket send wait for the GIL, up to its 5 ms switch interval.
                    staged = self.service.stage_batch(requests)
                    result: Batch = await self.server._commit(staged)
                except asyncio.CancelledError:
                    # The server is stopping: no reply for this batch (a retry gets it), and
                    # its connections must not wait for one, or they never close.
                    for _, _, done in batch:
                        done.cancel()
                    raise
                except Exception:
                    log.exception("a batch of %d requests failed", len(batch))
                    result = failed([r.id for _, r in requests])
                self.publish(result.events)
                for (_, _, done), outcome in zip(batch, result.outcomes, strict=True):
                    if not done.done():
                        done.set_result(outcome)

    def login_refused(self, hello: Hello, address: str, error: ProtocolError) -> None:
        """Keep a refused login for the hall's audit, written with the next poll; at most
        LOGINS_AUDITED a second (a flood of them is in the log, and slowed by the back-off;
        the refusal itself never waits for the disk)."""
        now = time.monotonic()
        self._refusals = [t for t in self._refusals if now - t < 1.0]
        if len(self._refusals) < LOGINS_AUDITED:
            self._refusals.append(now)
            self._refused.append((hello, address, error))

    def _device_status(self, principal: Principal, request: DeviceStatus) -> Outcome:
        """A device's report of itself: kept here (it is about this connection), not in the
        hall's log; the alerts read it."""
        if principal.role not in VERB_ROLES["device_status"] or principal.device is None:
            message = f"role {principal.role.value} may not device_status"
            return Outcome(
                _error(request.id, ErrorCode.FORBIDDEN, message), error=ErrorCode.FORBIDDEN
            )
        self._voices[principal.device] = request.voice
        return Outcome(encode(OkReply(re=request.id)))

    # -- window logins ----------------------------------------------------------------------

    def device_gone(self, device: str) -> bool:
        """The device's last connection has ended (the alerts count its time away)."""
        return device in self._devices_gone

    def window_gone(self, window: int) -> bool:
        """No client is connected for `window` and the server is watching it go."""
        assert self.hub is not None
        return not self.hub.windows_in_use(window) and window in self._gone

    def window_lock(self, window: int | None) -> asyncio.Lock | contextlib.nullcontext[None]:
        """Window logins are decided one at a time per window, so two staff members logging
        in at the same window at the same moment cannot both get it."""
        if window is None:
            return contextlib.nullcontext()
        return self._window_locks.setdefault(window, asyncio.Lock())

    async def open(self, ws: ServerConnection, principal: Principal, request: Hello) -> bool:
        """Log in, send the hello reply with its snapshot, then start the event stream."""
        assert self.hub is not None
        takeover = True
        if principal.window is not None:
            holders = self.hub.windows_in_use(principal.window)
            takeover = all(h.principal.staff == principal.staff for h in holders)
        live = frozenset(
            s.principal.window for s in self.hub.subscribers if s.principal.window is not None
        )
        outcome = await self._in_db(
            functools.partial(
                self.service.open_session,
                principal,
                request,
                takeover=takeover,
                live_windows=live,
                address=_address(ws),
            )
        )
        if principal.window is not None:
            self._gone.pop(principal.window, None)
            self._offline.discard(principal.window)
        if principal.device is not None:
            self._devices_gone.pop(principal.device, None)
        self.publish(outcome.events)
        snapshot_seq = json.loads(outcome.reply)["snapshot"]["seq"]
        cursor = snapshot_seq
        if request.since_seq is not None:
            cursor = min(request.since_seq, snapshot_seq)
        # The same staff member logging in again replaces their older connection.
        if principal.window is not None:
            for old in self.hub.windows_in_use(principal.window):
                if old.principal.staff != principal.staff:
                    continue  # someone who closed the window earlier; they can act no more
                await self.hub.unsubscribe(old)
                if old.close is not None:
                    await old.close()
        try:
            await ws.send(outcome.reply)
        except ConnectionClosed:
            return False
        self.hub.subscribe(
            principal,
            ws.send,
            cursor,
            close=lambda: ws.close(CLOSE_LOGGED_IN_ELSEWHERE, "logged in elsewhere"),
            revoke=lambda: ws.close(1008, "credentials revoked"),
        )
        self.connections.add(ws)
        log.info("hello: %s (%s) at %s", principal.key, principal.role.value, self.code)
        return True

    async def closed(self, ws: ServerConnection, principal: Principal) -> None:
        """A connection of this hall ended."""
        self.connections.discard(ws)
        if self.hub is None:
            return
        for sub in [s for s in self.hub.subscribers if s.send == ws.send]:
            await self.hub.unsubscribe(sub)
        window = principal.window
        if window is not None and not self.hub.windows_in_use(window):
            self._gone.setdefault(window, self.service.clock())
        device = principal.device
        if device is not None and not any(
            s.principal.device == device for s in self.hub.subscribers
        ):
            self._devices_gone[device] = self.service.clock()
            self._voices.pop(device, None)


class QueueServer:
    def __init__(
        self,
        service: HallService | Sequence[HallService],
        *,
        host: str = "127.0.0.1",
        port: int = 8765,
        limits: Limits | None = None,
        poll_interval: float = 0.25,
        ssl: Any = None,
        advertise: str | None = None,
        follow_halls: bool = False,
    ) -> None:
        """Serve the hall of `service`, or the halls of `service`s of one database. On
        PostgreSQL each hall is served while this process holds its lease (store/lease.py),
        and the connections of a hall another process owns are forwarded to it; the others
        reach this process at `advertise` (default: the address it listens on). With
        `follow_halls` it also serves the halls added to the database later, and stops
        serving those retired."""
        services = [service] if isinstance(service, HallService) else list(service)
        if not services:
            raise ValueError("a server serves at least one hall")
        self.engine = services[0].engine
        self.clock = services[0].clock
        self._hosts = [HallHost(self, s) for s in services]
        self.halls: dict[str, HallHost] = {}  # the halls this process owns, by code
        self._by_id: dict[int, HallHost] = {}
        self._codes: dict[str, int] = {}  # every hall it serves (or forwards), code -> id
        self._standby: dict[int, HallHost] = {}  # halls another process owns, by id
        self.advertise = advertise
        self.follow_halls = follow_halls
        self.leases: Leases | None = None
        self._lease_keeper: asyncio.Task[None] | None = None
        self.host, self.port = host, port
        self.limits = limits or Limits()
        self.poll_interval = poll_interval
        self.ssl = ssl
        self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="yichuang-db")
        # The writers' commits: apart from _db, whose work may be waiting for a hall's
        # lock that a batch holds until its commit is done.
        self._commits = ThreadPoolExecutor(max_workers=1, thread_name_prefix="yichuang-commit")
        # Short credential reads for logins; the password checks on niced threads of their own.
        self._reads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="yichuang-auth")
        self._checks = checker_threads()
        self.auth: Authenticator | None = None
        self._server: Server | None = None
        self._poller: asyncio.Task[None] | None = None
        # PostgreSQL: other processes' events are announced (store/notify.py), not polled.
        self._listener: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()  # set while other processes' events are announced
        self.connections_changed = asyncio.Condition()  # notified when a connection ends
        self.halls_changed = asyncio.Condition()  # notified when a hall is taken or let go
        self._tasks: set[asyncio.Task[None]] = set()

    # -- the one hall of a single-hall server (tests, the demo, benchmarks) ---------------

    @property
    def first(self) -> HallHost:
        return self._hosts[0]

    @property
    def service(self) -> HallService:
        return self.first.service

    @property
    def hub(self) -> Hub | None:
        return self.first.hub

    def window_gone(self, window: int) -> bool:
        return self.first.window_gone(window)

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> int:
        """Listen; returns the bound port (useful with port 0)."""
        self._server = await serve(
            self._handle,
            self.host,
            self.port,
            process_request=self._http,
            max_size=WS_MAX_SIZE,
            # Events are small and go to every screen on the hall's own network: compressing
            # each copy per connection cost a third of the event loop's time (bench/).
            compression=None,
            ping_interval=20,
            ping_timeout=20,
            ssl=self.ssl,
            start_serving=False,  # until the halls are up
        )
        self.port = self._server.sockets[0].getsockname()[1] if self._server.sockets else self.port
        scheme = "wss" if self.ssl else "ws"
        if notify.can_listen(self.engine):
            address = self.advertise or f"{scheme}://{self.host}:{self.port}"
            self.leases = Leases(self.engine, address)
        for hall in self._hosts:
            await self._add(hall)
        self.auth = Authenticator(self.engine, self.clock, self._reads, self._checks)
        self._poller = asyncio.create_task(self._poll_store(), name="store poller")
        if self.leases is not None:
            self._lease_keeper = asyncio.create_task(self._keep_leases(), name="hall leases")
        if notify.can_listen(self.engine):
            self._listener = asyncio.create_task(
                notify.listen(
                    self.engine,
                    frozenset(h.service.hall.writer for h in self._hosts),
                    self._announced,
                    self._listening_changed,
                ),
                name="store listener",
            )
        await self._server.start_serving()
        log.info(
            "listening on %s://%s:%d for %s%s",
            scheme,
            self.host,
            self.port,
            ", ".join(self.halls) or "no hall yet",
            f" (owned elsewhere: {', '.join(h.service.code for h in self._standby.values())})"
            if self._standby
            else "",
        )
        return self.port

    async def _add(self, hall: HallHost) -> None:
        """Serve `hall`: at once if its lease is this process's (or there are no leases),
        else on standby, forwarding its connections to its owner."""
        hall.hall_id = hall_id = await self._in_db(hall.service.hall_id)
        code = hall.service.code
        if code in self._codes:
            raise ValueError(f"the hall {code!r} is served twice")
        self._codes[code] = hall_id
        if self.leases is None or await self.leases.take(hall_id):
            await self._own(hall)
        else:
            self._standby[hall_id] = hall

    async def _follow_halls(self) -> None:
        """Serve the halls added to the database since the start; stop serving those
        retired (their connections are closed: `hall_retired`)."""
        codes = set(await self._in_db(loading.hall_codes, self.engine))
        for code in sorted(codes - set(self._codes)):
            hall = HallHost(self, HallService(self.engine, clock=self.clock, hall=code))
            self._hosts.append(hall)
            await self._add(hall)
            log.info("a new hall: %s", code)
        for code in sorted(set(self._codes) - codes):
            hall_id = self._codes.pop(code)
            owned = hall_id in self._by_id
            hall = self._by_id.pop(hall_id) if owned else self._standby.pop(hall_id)
            self.halls.pop(code, None)
            self._hosts.remove(hall)
            await hall.stop()
            for ws in list(hall.connections):
                await ws.close(CLOSE_HALL_RETIRED, "the hall was retired")
            if self.leases is not None:
                await self.leases.give_up(hall_id)
            log.info("the hall %s was retired", code)
            await self._halls_changed()

    async def _own(self, hall: HallHost) -> None:
        await hall.start()
        self.halls[hall.code] = self._by_id[hall.hall_id] = hall
        await self._halls_changed()

    async def _halls_changed(self) -> None:
        async with self.halls_changed:
            self.halls_changed.notify_all()

    async def _keep_leases(self) -> None:
        """Every RETRY_SECONDS: give up the halls whose lease is lost, take the halls whose
        owner has gone (rebuilt from the database, hall/loading.py)."""
        assert self.leases is not None
        while True:
            await asyncio.sleep(lease.RETRY_SECONDS)
            try:
                if self.leases.held and not await self.leases.alive():
                    await self._lose_halls()
                for hall_id, hall in sorted(self._standby.items()):
                    if await self.leases.take(hall_id):
                        del self._standby[hall_id]
                        hall.service.hall.invalidate()  # another process wrote to it
                        await self._own(hall)
                        log.info("took over the hall %s", hall.code)
            except Exception:
                log.exception("keeping the hall leases failed; retrying")

    async def _lose_halls(self) -> None:
        """The leases are gone: stop writing to those halls at once, and close their
        connections so that their clients reconnect to the new owner."""
        for code, hall in list(self.halls.items()):
            await hall.stop()
            for ws in list(hall.connections):
                await ws.close(1013, "the hall moved to another server; reconnect")
            del self.halls[code], self._by_id[hall.hall_id]
            fresh = HallHost(self, hall.service)
            self._hosts[self._hosts.index(hall)] = fresh
            self._standby[self._codes[code]] = fresh
            log.error("gave up the hall %s (its lease was lost)", code)
        await self._halls_changed()

    async def stop(self) -> None:
        for task in (self._poller, self._listener, self._lease_keeper):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        for hall in self._hosts:
            await hall.stop()
        if self.leases is not None:
            await self.leases.close()  # another process may take the halls at once
        if self._server is not None:
            self._server.close()  # closes every connection with 1001 (going away)
            await self._server.wait_closed()
        self._db.shutdown(wait=True)
        self._commits.shutdown(wait=True)
        self._reads.shutdown(wait=True)
        self._checks.shutdown(wait=True)

    async def serve_until_signalled(self, ready: Callable[[int], None] | None = None) -> None:
        """Run until SIGTERM or SIGINT, then stop cleanly (the server's own process)."""
        port = await self.start()
        freeze_long_lived()
        if ready is not None:
            ready(port)
        stop = asyncio.get_running_loop().create_future()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, _resolve, stop)
        try:
            await stop
        finally:
            log.info("shutting down")
            await self.stop()

    # -- plumbing ---------------------------------------------------------------------------

    async def _in_db(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._db, fn, *args)

    def _background(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _commit(self, staged: Staged) -> Batch:
        """Wait for a staged batch's commit on the commit thread, then finish it. Even when
        the writer is cancelled (the server stopping) the batch is finished, so the hall's
        lock is let go; its replies are then never sent (a client's retry gets them)."""
        commit = self._commits.submit(staged.commit)
        try:
            await asyncio.wrap_future(commit)
        finally:
            commit.result()  # at once, unless cancelled mid-commit: then wait for the disk
            batch = staged.done()
        return batch

    async def _poll_store(self) -> None:
        """A few times a second, each hall's housekeeping (HallHost.poll)."""
        pruned = followed = time.monotonic()
        while True:
            await asyncio.sleep(self.poll_interval)
            prune = time.monotonic() - pruned > PRUNE_EVERY
            if prune:
                pruned = time.monotonic()
            if self.follow_halls and time.monotonic() - followed > HALLS_EVERY:
                followed = time.monotonic()
                try:
                    await self._follow_halls()
                except Exception:
                    log.exception("following the database's halls failed; retrying")
            for hall in list(self.halls.values()):
                try:
                    if prune:
                        await self._in_db(hall.prune_request_log)
                    await hall.poll(self.listening.is_set())
                except Exception:
                    log.exception("polling the store for %s failed; retrying", hall.code)

    async def _announced(self, hall_id: int, seq: int) -> None:
        hall = self._by_id.get(hall_id)
        if hall is not None:  # another hall's events are not this process's business
            await hall.caught_up_to(seq)

    def _listening_changed(self, listening: bool) -> None:
        if not listening:
            self.listening.clear()
            return
        self.listening.set()
        for hall in self.halls.values():  # what was committed before LISTEN
            self._background(hall.caught_up_to_head())

    def _http(self, connection: ServerConnection, request: Request) -> Response | None:
        if request.path == "/healthz":
            halls = {
                h.code: {
                    "seq": h.hub.head if h.hub else 0,
                    "connections": len(h.hub.subscribers) if h.hub else 0,
                }
                for h in self.halls.values()
            }
            body = json.dumps(
                {
                    "status": "ok",
                    "seq": halls[self.first.code]["seq"] if self.first.code in halls else 0,
                    "elsewhere": sorted(h.service.code for h in self._standby.values()),
                    "connections": sum(h["connections"] for h in halls.values()),
                    "halls": halls,
                    "protocol": PROTOCOL_VERSION,
                }
            )
            response = connection.respond(HTTPStatus.OK, body + "\n")
            del response.headers["Content-Type"]  # Headers is a multidict: replace, not append
            response.headers["Content-Type"] = "application/json"
            return response
        return None

    # -- one connection -------------------------------------------------------------------

    async def _handle(self, ws: ServerConnection) -> None:
        principal = await self._hello(ws)
        if principal is None:
            return
        hall = self.halls[principal.hall]  # the hall object of this connection's session
        bucket = _Bucket(self.limits)
        try:
            async for frame in ws:
                if not bucket.take():
                    await ws.send(
                        _error(
                            _peek_id(frame), ErrorCode.RATE_LIMITED, "too many requests; slow down"
                        )
                    )
                    continue
                outcome = await self._answer(principal, frame)
                await ws.send(outcome.reply)
                if outcome.error is ErrorCode.AUTH_FAILED:  # revoked or disabled meanwhile
                    await ws.close(1008, "credentials revoked")
                    return
        except ConnectionClosed:
            pass
        finally:
            await hall.closed(ws, principal)
            async with self.connections_changed:
                self.connections_changed.notify_all()

    async def _answer(self, principal: Principal, frame: str | bytes) -> Outcome:
        try:
            request = decode_request(frame)
        except RequestError as exc:
            return Outcome(_error(exc.request_id, exc.code, exc.message), error=exc.code)
        hall = self.halls.get(principal.hall)
        if hall is None:  # its lease was lost: the connection is being closed
            return Outcome(
                _error(request.id, ErrorCode.INTERNAL, "the hall moved"), error=ErrorCode.INTERNAL
            )
        return await hall.answer(principal, request)

    async def _hello(self, ws: ServerConnection) -> Principal | None:
        """Wait for a valid hello; answer bad ones with errors; give up after a few."""
        failures = 0
        while failures < MAX_HELLO_FAILURES:
            try:
                frame = await asyncio.wait_for(ws.recv(), HELLO_TIMEOUT)
            except (TimeoutError, ConnectionClosed):
                await ws.close(1008, "no hello")
                return None
            rid: str | None = None
            try:
                try:
                    request = decode_request(frame)
                except RequestError as exc:
                    rid = exc.request_id
                    raise
                rid = request.id
                if not isinstance(request, Hello):
                    raise ProtocolError(ErrorCode.NOT_AUTHENTICATED, "say hello first")
                if request.version != PROTOCOL_VERSION:
                    raise ProtocolError(
                        ErrorCode.VERSION_MISMATCH,
                        f"server speaks protocol {PROTOCOL_VERSION}, client {request.version}",
                    )
                hall_id = await self._hall_of(request)
                if hall_id not in self._by_id:  # another process owns the hall
                    await self._forward(ws, frame, hall_id)
                    return None
                hall = self._by_id[hall_id]
                assert self.auth is not None
                try:
                    principal = await self.auth.login(request, _address(ws), hall.hall_id)
                except ProtocolError as exc:
                    if exc.code in AUDITED_REFUSALS:
                        hall.login_refused(request, _address(ws), exc)
                    raise
                principal = dataclasses.replace(
                    principal, hall=hall.code, batch_events=request.batch_events
                )
                async with hall.window_lock(principal.window):
                    if await hall.open(ws, principal, request):
                        return principal
                    return None
            except ProtocolError as exc:
                failures += 1
                with contextlib.suppress(ConnectionClosed):
                    await ws.send(_error(rid, exc.code, exc.message, **exc.details))
                continue
            except ConnectionClosed:
                return None
            except Exception:
                log.exception("hello failed")
                failures += 1
                with contextlib.suppress(ConnectionClosed):
                    await ws.send(_error(rid, ErrorCode.INTERNAL, "login failed on the server"))
                continue
        await ws.close(1008, "too many failed hellos")
        return None

    async def _hall_of(self, hello: Hello) -> int:
        """The id of the hall a hello is for: the one it names; else this server's one
        hall; else, for a device, the hall its token belongs to."""
        if hello.hall is not None:
            if hello.hall not in self._codes:
                raise ProtocolError(
                    ErrorCode.NOT_FOUND,
                    f"this server does not serve the hall {hello.hall!r}",
                    reason="hall",
                    hall=hello.hall,
                )
            return self._codes[hello.hall]
        if len(self._codes) == 1:
            return next(iter(self._codes.values()))
        if hello.token is not None:
            assert self.auth is not None
            hall_id = await self.auth.device_hall(hello.token)
            if hall_id is not None and hall_id in self._codes.values():
                return hall_id
            raise ProtocolError(ErrorCode.AUTH_FAILED, "unknown or revoked device token")
        raise ProtocolError(
            ErrorCode.BAD_REQUEST,
            "this server serves several halls: the hello must name one ('hall')",
            reason="hall_needed",
            halls=sorted(self._codes),
        )

    async def _forward(self, ws: ServerConnection, hello: str | bytes, hall_id: int) -> None:
        """Relay a connection to the process that owns its hall, from its hello on, both
        ways, until either side closes; its close code and reason are passed on (a 4001
        must reach the client). With no owner to reach (the hall is moving), the
        connection is closed with 1013: the client reconnects, soon to the new owner."""
        address = await self._in_db(lease.owner_of, self.engine, hall_id)
        if address is None or address == (self.leases.address if self.leases else None):
            await ws.close(1013, "the hall is moving to another server; reconnect")
            return
        try:
            async with ws_connect(
                address, max_size=WS_MAX_SIZE, compression=None, open_timeout=5
            ) as upstream:
                await upstream.send(hello)

                async def down() -> None:
                    async for message in upstream:
                        await ws.send(message)

                async def up() -> None:
                    async for message in ws:
                        await upstream.send(message)

                relays = [asyncio.create_task(down()), asyncio.create_task(up())]
                try:
                    await asyncio.wait(relays, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for relay in relays:
                        relay.cancel()
                    await asyncio.gather(*relays, return_exceptions=True)
                code, reason = upstream.close_code, upstream.close_reason
        except (OSError, TimeoutError, InvalidHandshake, ConnectionClosed) as exc:
            log.warning(
                "forwarding to the owner of hall %d at %s failed: %r", hall_id, address, exc
            )
            code, reason = 1013, "the hall's server cannot be reached; reconnect"
        if ws.close_code is None:  # the client is still there: close as the owner did
            await ws.close(code or 1013, reason or "")


def freeze_long_lived() -> None:
    """Keep what a server process has loaded (the code, the libraries, the hall's state)
    out of the garbage collector's full passes: a full pass over it took ~80 ms on this
    project's machine, a stall every call screen would see (bench/hall_core.py, p99)."""
    gc.collect()
    gc.freeze()


def _address(ws: ServerConnection) -> str:
    remote = ws.remote_address
    return str(remote[0]) if remote else "?"


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _peek_id(frame: str | bytes) -> str | None:
    if len(frame) > WS_MAX_SIZE:  # read the id of any frame the socket accepted
        return None
    try:
        return request_id_of(json.loads(frame))
    except (ValueError, RecursionError):
        return None


def _also(name: str, payload: str) -> int | None:
    """The second window an event concerns, for routing (a transfer's named target)."""
    if name != "ticket_transferred":
        return None
    to_window = json.loads(payload).get("transfer", {}).get("to_window")
    return to_window if isinstance(to_window, int) else None


def _error(rid: str | None, code: ErrorCode, message: str, **details: Any) -> str:
    return encode(ErrorReply(re=rid, code=code, message=message, **details))


@contextlib.asynccontextmanager
async def running(service: HallService, **options: Any) -> AsyncIterator[QueueServer]:
    """A started server for tests and embedding: `async with running(svc, port=0) as s`."""
    server = QueueServer(service, **options)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def serve_forever(engine: Engine, **options: Any) -> None:
    service = HallService(engine)
    asyncio.run(QueueServer(service, **options).serve_until_signalled())
