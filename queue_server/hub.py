"""Connections, visibility and the event stream: broadcast and replay by `seq`.

Every committed event enters one in-memory log in `seq` order. Each connection has its own
pump task that reads the log from its cursor and sends what its principal may see (all it
finds at once in one `events` frame, for a client whose hello asked for batches), so a
slow client only delays itself (websockets' broadcast has no back-pressure; here each
client's back-pressure stays its own). A client whose cursor fell behind the in-memory
log, or that resumes with an old `since_seq`, is fed from the event table instead.
Events written by another process (the CLI, a second server) are read from the event
table when a PostgreSQL notification announces them, or by the poller on SQLite
(server.py, store/notify.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from queue_protocol.messages import Role
from queue_server.service import Principal, Published

log = logging.getLogger(__name__)

LOG_SIZE = 4096
REPLAY_BATCH = 500
EVENTS_PER_FRAME = 100  # events in one `events` frame at most (well under a client's 1 MiB)

ReadEvents = Callable[[int, int], Awaitable[list[Published]]]
Send = Callable[[str], Awaitable[None]]


@dataclass(eq=False)
class Subscriber:
    principal: Principal
    send: Send
    cursor: int  # last seq this subscriber has been sent (or did not need)
    close: Callable[[], Awaitable[None]] | None = field(default=None, repr=False)
    revoke: Callable[[], Awaitable[None]] | None = field(default=None, repr=False)
    task: asyncio.Task[None] | None = field(default=None, repr=False)


class Hub:
    def __init__(self, read_events: ReadEvents, head: int) -> None:
        self._read_events = read_events
        self._log: deque[Published] = deque(maxlen=LOG_SIZE)
        self._pending: dict[int, Published] = {}
        self.head = head  # highest seq with every seq up to it in the log
        self._wakeup = asyncio.Event()
        self._wakeup_first = asyncio.Event()  # what the call screens' pumps wait on
        self.subscribers: set[Subscriber] = set()

    # -- publishing -----------------------------------------------------------------------

    def publish(self, events: Iterable[Published]) -> None:
        """Take committed events (in any order, duplicates ignored) and wake the pumps."""
        for event in events:
            if event.seq > self.head:
                self._pending[event.seq] = event
        advanced = False
        while self.head + 1 in self._pending:
            self.head += 1
            self._log.append(self._pending.pop(self.head))
            advanced = True
        if advanced:
            # Call screens first: citizens watch them, and a window has its own reply.
            first, self._wakeup_first = self._wakeup_first, asyncio.Event()
            wakeup, self._wakeup = self._wakeup, asyncio.Event()
            first.set()
            wakeup.set()

    @property
    def missing(self) -> bool:
        """Events were committed beyond a gap (by another process) and await the poller."""
        return bool(self._pending)

    async def _after(self, cursor: int) -> list[Published]:
        if self._log and self._log[0].seq <= cursor + 1:
            start = cursor + 1 - self._log[0].seq
            return [self._log[i] for i in range(start, min(len(self._log), start + REPLAY_BATCH))]
        return await self._read_events(cursor, REPLAY_BATCH)

    # -- subscribers ------------------------------------------------------------------------

    def subscribe(
        self,
        principal: Principal,
        send: Send,
        cursor: int,
        close: Callable[[], Awaitable[None]] | None = None,
        revoke: Callable[[], Awaitable[None]] | None = None,
    ) -> Subscriber:
        sub = Subscriber(principal, send, cursor, close, revoke)
        sub.task = asyncio.create_task(self._pump(sub), name=f"pump {principal.key}")
        self.subscribers.add(sub)
        return sub

    async def unsubscribe(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)
        if sub.task is not None:
            sub.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sub.task

    def windows_in_use(self, window: int) -> list[Subscriber]:
        return [s for s in self.subscribers if s.principal.window == window]

    async def _pump(self, sub: Subscriber) -> None:
        try:
            first = sub.principal.role is Role.DISPLAY
            while True:
                wakeup = self._wakeup_first if first else self._wakeup
                if sub.cursor >= self.head:
                    await wakeup.wait()
                    continue
                batch = await self._after(sub.cursor)
                if not batch:  # head moved past what the store shows yet; wait for more
                    await wakeup.wait()
                    continue
                texts: list[str] = []
                last = sub.cursor
                for event in batch:
                    if event.seq > self.head:
                        break
                    if sub.principal.may_see(event.name, event.window, event.zone, event.also):
                        texts.append(event.text)
                    last = event.seq
                if sub.principal.batch_events:
                    for start in range(0, len(texts), EVENTS_PER_FRAME):
                        await sub.send(_frame(texts[start : start + EVENTS_PER_FRAME]))
                else:
                    for text in texts:
                        await sub.send(text)
                sub.cursor = last
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a closed connection ends its pump, nothing else
            log.debug("event pump for %s stopped: %r", sub.principal.key, exc)


def _frame(texts: list[str]) -> str:
    """One event as it is, several as an EventBatch (queue_protocol.messages), built from the
    events' own encodings."""
    if len(texts) == 1:
        return texts[0]
    return '{"type":"events","events":[' + ",".join(texts) + "]}"
