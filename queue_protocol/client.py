"""The one websocket client every Yichuang program uses.

It says hello, matches replies to requests by id, keeps the connection up (reconnecting
with back-off: the first retry within a second, then up to a few seconds apart), resumes
the event stream with `since_seq` so nothing is missed or seen twice, and re-sends a
request whose reply was lost with the same id, which the server answers without acting
again.

    async with QueueClient(url, Credentials(role=Role.KIOSK, token=...)) as client:
        reply = await client.request(IssueTicket, category="QY")
        async for notice in client.notices():   # Connected / Disconnected / EventReceived
            ...
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

from pydantic import ValidationError
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from queue_protocol.codec import decode_server_message, encode, parse_error, parse_event
from queue_protocol.errors import CLOSE_HALL_RETIRED, CLOSE_LOGGED_IN_ELSEWHERE, ErrorCode
from queue_protocol.messages import (
    REPLY_FOR,
    AnyEvent,
    ErrorReply,
    Hello,
    HelloReply,
    Role,
    _Reply,
    _Request,
)

log = logging.getLogger(__name__)

R = TypeVar("R", bound=_Request)

# Errors that retrying the same hello cannot fix: the client stops and says why.
FATAL_HELLO_ERRORS = frozenset(
    {
        ErrorCode.AUTH_FAILED,
        ErrorCode.ACCOUNT_LOCKED,
        ErrorCode.STAFF_ELSEWHERE,
        ErrorCode.FORBIDDEN,
        ErrorCode.NOT_FOUND,
        ErrorCode.WINDOW_TAKEN,
        ErrorCode.VERSION_MISMATCH,
        ErrorCode.BAD_REQUEST,
    }
)


class ServerError(Exception):
    """The server answered a request with an error reply."""

    def __init__(self, error: ErrorReply) -> None:
        super().__init__(f"{error.code}: {error.message}")
        self.code = error.code
        self.message = error.message  # for logs; show the user text made from `reply`
        self.reply = error  # the code and its structured fields (reason, at, window, …)


class LoginFailed(ServerError):
    """The server refused the hello; the client has stopped."""


class NotConnected(Exception):
    """No connection could be made within the time allowed."""


@dataclass(frozen=True)
class Credentials:
    role: Role
    user: str | None = None
    password: str | None = None
    token: str | None = None
    window: int | None = None
    hall: str | None = None  # the hall's code; None: the server's one hall, or the token's
    client: str = "yichuang"


@dataclass(frozen=True)
class Backoff:
    first: float = 0.3  # seconds before the first retry (must stay under 1 s)
    factor: float = 2.0
    cap: float = 3.0
    jitter: float = 0.2

    def delays(self) -> AsyncIterator[float]:
        async def gen() -> AsyncIterator[float]:
            delay = self.first
            while True:
                yield delay * (1 + random.uniform(-self.jitter, self.jitter))
                delay = min(self.cap, delay * self.factor)

        return gen()


@dataclass(frozen=True)
class Connected:
    """A (re)connection is up; `hello.snapshot` is the state as of `hello.snapshot.seq`."""

    hello: HelloReply


@dataclass(frozen=True)
class Disconnected:
    """The connection is down; the client retries in `retry_in` seconds. `refused` is the
    server's answer when it turned the hello away for a while (rate_limited, with its
    retry time), so a program can say why instead of "the server cannot be reached"."""

    reason: str
    retry_in: float
    refused: ErrorReply | None = None


@dataclass(frozen=True)
class EventReceived:
    """An event; `replayed` is true for one the server sent again after a reconnect (its
    effect is already in the snapshot just received)."""

    event: AnyEvent
    replayed: bool = False


@dataclass(frozen=True)
class Stopped:
    """The client gave up for good (login refused, or closed)."""

    error: ServerError | None = None


Notice = Connected | Disconnected | EventReceived | Stopped


@dataclass
class _Pending:
    frame: str
    reply_type: type[_Reply]
    future: asyncio.Future[_Reply] = field(repr=False)


def _session_ended(close_code: int | None, hall: str | None) -> ErrorReply | None:
    """The refusal a close code means when the session must not be resumed: a newer login
    of the same staff member at the window (4001), or the hall retired (4002)."""
    if close_code == CLOSE_LOGGED_IN_ELSEWHERE:
        return ErrorReply(
            code=ErrorCode.WINDOW_TAKEN,
            message="logged in again elsewhere; this session ended",
            reason="logged_in_elsewhere",
        )
    if close_code == CLOSE_HALL_RETIRED:
        return ErrorReply(
            code=ErrorCode.NOT_FOUND, message="the hall was retired", reason="hall", hall=hall
        )
    return None


class QueueClient:
    def __init__(
        self,
        url: str,
        credentials: Credentials,
        *,
        since_seq: int | None = None,
        backoff: Backoff | None = None,
        max_queue: int = 10_000,
        also: Sequence[str] = (),
    ) -> None:
        """`also`: other server processes of the same database (a district's), tried in
        turn when `url` (or the last one reached) cannot be reached or closes."""
        self.url = url
        self.urls = [url, *also]
        self.credentials = credentials
        self.backoff = backoff or Backoff()
        self.last_seq: int | None = since_seq
        self.hello: HelloReply | None = None
        self._ws: ClientConnection | None = None
        self._connected = asyncio.Event()
        self._stopped: ServerError | None = None
        self._closing = False
        self._retry_after = 0.0  # seconds the server asked us to wait (rate_limited hello)
        self._refused: ErrorReply | None = None  # that refusal, for the Disconnected notice
        self._pending: dict[str, _Pending] = {}
        self._updates: asyncio.Queue[Notice] = asyncio.Queue(max_queue)
        self._task: asyncio.Task[None] | None = None
        self._replay_until = 0

    # -- lifecycle ------------------------------------------------------------------------

    async def __aenter__(self) -> QueueClient:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self, timeout: float = 10.0) -> HelloReply:
        """Connect and say hello; raises LoginFailed or NotConnected."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"queue client {self.url}")
        return await self.wait_connected(timeout)

    async def wait_connected(self, timeout: float | None = None) -> HelloReply:
        try:
            await asyncio.wait_for(self._connected.wait(), timeout)
        except TimeoutError as exc:
            if self._stopped:
                raise self._stopped from None
            raise NotConnected(f"could not reach {self.url}") from exc
        if self._stopped:
            raise self._stopped
        assert self.hello is not None
        return self.hello

    async def close(self) -> None:
        self._closing = True
        if self._ws is not None:
            await self._ws.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for pending in self._pending.values():
            if not pending.future.done():
                pending.future.cancel()

    @property
    def connected(self) -> bool:
        return self._connected.is_set() and not self._stopped

    # -- requests ---------------------------------------------------------------------------

    @staticmethod
    def new_id() -> str:
        return uuid.uuid4().hex

    @overload
    async def request(self, request: type[R], *, timeout: float = ..., **fields: Any) -> Any: ...
    @overload
    async def request(self, request: R, *, timeout: float = ...) -> Any: ...

    async def request(self, request: Any, *, timeout: float = 30.0, **fields: Any) -> Any:
        """Send a request and return its typed reply; raises ServerError on an error reply.

        Pass a request class and fields (a new id is made), or a built request whose id you
        chose: sending it again, even after a reconnect, never acts twice. If the connection
        drops before the reply, the request is re-sent on the next connection.
        """
        if isinstance(request, type):
            request = request(id=self.new_id(), **fields)
        if self._stopped:
            raise self._stopped
        verb = request.type
        pending = self._pending.get(request.id)
        if pending is None:
            future: asyncio.Future[_Reply] = asyncio.get_running_loop().create_future()
            pending = _Pending(encode(request), REPLY_FOR[verb], future)
            self._pending[request.id] = pending
            if self._ws is not None and self._connected.is_set():
                with contextlib.suppress(ConnectionClosed):
                    await self._ws.send(pending.frame)
        try:
            return await asyncio.wait_for(asyncio.shield(pending.future), timeout)
        finally:
            # Done, or timed out: either way stop re-sending it; the caller may retry the
            # same request (same id) and the server will answer it without acting twice.
            self._pending.pop(request.id, None)

    # -- notices ----------------------------------------------------------------------------

    async def notices(self) -> AsyncIterator[Notice]:
        """Connection changes and events, in order, until the client stops."""
        while True:
            notice = await self._updates.get()
            yield notice
            if isinstance(notice, Stopped):
                return

    async def next_notice(self, timeout: float | None = None) -> Notice:
        return await asyncio.wait_for(self._updates.get(), timeout)

    def _notify(self, notice: Notice) -> None:
        try:
            self._updates.put_nowait(notice)
        except asyncio.QueueFull:
            # A consumer that stopped reading must not stall the connection; the next
            # snapshot (on reconnect) brings it back to the current state.
            log.warning("notice queue full; dropping %s", type(notice).__name__)

    # -- the connection loop ----------------------------------------------------------------

    async def _run(self) -> None:
        delays = self.backoff.delays()
        while not self._closing:
            reason = "closed"
            reached = False
            try:
                async with connect(
                    self.url, open_timeout=5, max_size=2**24, ping_interval=20, ping_timeout=20
                ) as ws:
                    if await self._hello(ws):
                        reached = True
                        delays = self.backoff.delays()
                        try:
                            await self._receive(ws)
                        finally:
                            ended = _session_ended(ws.close_code, self.credentials.hall)
                            if ended is not None:
                                self._stop(LoginFailed(ended))
                    if self._stopped:
                        return
            except (OSError, TimeoutError, InvalidHandshake, ConnectionClosed) as exc:
                reason = str(exc) or type(exc).__name__
            except (InvalidURI, ValueError) as exc:  # ValueError: e.g. a port over 65535
                self._stop(
                    ServerError(
                        ErrorReply(
                            code=ErrorCode.BAD_REQUEST, message=str(exc), reason="bad_address"
                        )
                    )
                )
                return
            finally:
                self._ws = None
                self._connected.clear()
            if self._closing or self._stopped:
                return
            if not reached and len(self.urls) > 1:  # the next process, in turn
                self.url = self.urls[(self.urls.index(self.url) + 1) % len(self.urls)]
            delay = max(await anext(delays), self._retry_after)  # as the server asked
            self._notify(Disconnected(reason, delay, self._refused))
            self._retry_after, self._refused = 0.0, None
            await asyncio.sleep(delay)

    async def _hello(self, ws: ClientConnection) -> bool:
        c = self.credentials
        hello = Hello(
            id=self.new_id(),
            role=c.role,
            user=c.user,
            password=c.password,
            token=c.token,
            window=c.window,
            hall=c.hall,
            since_seq=self.last_seq,
            client=c.client,
            batch_events=True,
        )
        await ws.send(encode(hello))
        while True:
            raw = decode_server_message(await ws.recv())
            if raw["type"] in ("event", "events"):
                continue  # cannot happen before the hello reply; ignore defensively
            if raw.get("re") != hello.id:
                continue
            if raw["type"] == "error":
                error = parse_error(raw)
                if error.code in FATAL_HELLO_ERRORS:
                    self._stop(LoginFailed(error))
                    return False
                self._retry_after = error.retry_after_seconds or 0.0
                self._refused = error
                raise ConnectionClosed(None, None)  # transient: retry later
            reply = HelloReply.model_validate(raw)
            break
        self.hello = reply
        self._replay_until = reply.snapshot.seq
        if self.last_seq is None:
            self.last_seq = reply.snapshot.seq
        self._ws = ws
        self._connected.set()
        self._notify(Connected(reply))
        for pending in list(self._pending.values()):  # re-send what may have been lost
            await ws.send(pending.frame)
        return True

    async def _receive(self, ws: ClientConnection) -> None:
        async for frame in ws:
            try:
                raw = decode_server_message(frame)
            except ValueError:
                log.warning("ignoring a frame that is not a server message")
                continue
            if raw["type"] == "event":
                self._on_event(raw)
                continue
            if raw["type"] == "events":  # a batch (hello said batch_events)
                for event in raw.get("events") or []:
                    if isinstance(event, dict):
                        self._on_event(event)
                continue
            pending = self._pending.get(raw.get("re") or "")
            if pending is None or pending.future.done():
                continue
            try:
                if raw["type"] == "error":
                    pending.future.set_exception(ServerError(parse_error(raw)))
                else:
                    pending.future.set_result(pending.reply_type.model_validate(raw))
            except ValidationError as exc:
                pending.future.set_exception(exc)

    def _on_event(self, raw: dict[str, Any]) -> None:
        seq = raw.get("seq")
        if not isinstance(seq, int) or (self.last_seq is not None and seq <= self.last_seq):
            return  # already seen
        try:
            event = parse_event(raw)
        except ValidationError:
            log.info("ignoring unknown event %s", raw.get("name"))
            self.last_seq = max(self.last_seq or 0, seq)
            return
        self.last_seq = max(self.last_seq or 0, seq)
        self._notify(EventReceived(event, replayed=seq <= self._replay_until))

    def _stop(self, error: ServerError | None) -> None:
        self._stopped = error
        self._connected.set()  # wake waiters so they see the error
        for pending in self._pending.values():
            if not pending.future.done() and error is not None:
                pending.future.set_exception(error)
        self._notify(Stopped(error))
