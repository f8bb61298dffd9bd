"""The one long-lived connection: QueueClient notices become Textual messages.

`pump` runs inside the app's exclusive connection worker for as long as the staff member
is logged in (queue-window, queue-admin). Before the first successful hello, a failure is a
refused login (wrong password, unknown or taken window, not a supervisor, unreachable
server); after it, a lost connection is reported at once and the client reconnects by
itself, resuming with `since_seq`.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from textual.message import Message
from textual.message_pump import MessagePump

from queue_protocol.client import (
    Connected,
    Disconnected,
    EventReceived,
    LoginFailed,
    NotConnected,
    QueueClient,
    ServerError,
    Stopped,
)
from queue_protocol.errors import ErrorCode
from queue_protocol.messages import AnyEvent, ErrorReply, HelloReply


class ClientMessage(Message):
    """A notice of one QueueClient: the app ignores those of a client it has let go (a
    message posted just before a logout may still arrive after it)."""

    def __init__(self, client: QueueClient) -> None:
        super().__init__()
        self.client = client


class ConnectionUp(ClientMessage):
    """A hello succeeded; `hello.snapshot` is the server's state now."""

    def __init__(self, client: QueueClient, hello: HelloReply, first: bool) -> None:
        super().__init__(client)
        self.hello = hello
        self.first = first


class ConnectionDown(ClientMessage):
    """The connection dropped; the client retries in `retry_in` seconds."""

    def __init__(self, client: QueueClient, reason: str, retry_in: float) -> None:
        super().__init__(client)
        self.reason = reason
        self.retry_in = retry_in


class ServerEvent(ClientMessage):
    def __init__(self, client: QueueClient, event: AnyEvent, replayed: bool) -> None:
        super().__init__(client)
        self.event = event
        self.replayed = replayed


@dataclass(frozen=True)
class Refusal:
    """Why a login (or a later re-login) failed: the server's error reply, whose code and
    fields make the text shown; `error` None means no server answered (unreachable)."""

    error: ErrorReply | None


class LoginRefused(ClientMessage):
    """The very first hello failed; the client has been closed."""

    def __init__(self, client: QueueClient, refusal: Refusal) -> None:
        super().__init__(client)
        self.refusal = refusal


class ConnectionEnded(ClientMessage):
    """The server refused a re-login after a reconnect (e.g. the window was taken over)."""

    def __init__(self, client: QueueClient, refusal: Refusal) -> None:
        super().__init__(client)
        self.refusal = refusal


# The client stopped without an error reply (it does not do so today): an internal fault.
_STOPPED = ErrorReply(code=ErrorCode.INTERNAL, message="the client stopped")


def _refusal(error: ServerError | None) -> Refusal:
    return Refusal(error.reply if error is not None else _STOPPED)


async def _start_quietly(client: QueueClient) -> None:
    # Starting only launches the client's connection task; the outcome arrives as notices.
    with contextlib.suppress(LoginFailed, NotConnected):
        await client.start(timeout=3600.0)


async def pump(client: QueueClient, target: MessagePump) -> None:
    """Forward the client's notices to `target` until the client stops or this is cancelled."""
    starting = asyncio.create_task(_start_quietly(client))
    connected_once = False
    try:
        async for notice in client.notices():
            if isinstance(notice, Connected):
                target.post_message(ConnectionUp(client, notice.hello, first=not connected_once))
                connected_once = True
            elif isinstance(notice, EventReceived):
                target.post_message(ServerEvent(client, notice.event, notice.replayed))
            elif isinstance(notice, Disconnected):
                if not connected_once:  # refused for a while (rate_limited), or unreachable
                    target.post_message(LoginRefused(client, Refusal(notice.refused)))
                    return
                target.post_message(ConnectionDown(client, notice.reason, notice.retry_in))
            elif isinstance(notice, Stopped):
                refusal = _refusal(notice.error)
                message = ConnectionEnded if connected_once else LoginRefused
                target.post_message(message(client, refusal))
                return
    finally:
        starting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await starting
        await client.close()
