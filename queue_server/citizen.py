"""The citizen's ticket status page (issue 18): `GET /t/<ticket id>?k=<secret>` on the
server's own port, and its read-only websocket role `citizen`.

The page (queue_server/static/ticket.html) is one static file, the same for every ticket:
it holds no ticket's data, so serving it costs a file write and tells nothing. Its script
reads the ticket id from the path and the slip's secret from `k`, then says hello as a
`citizen` (auth.py checks the secret against the ticket's stored hash in constant time).
From then on the connection is told about that one ticket only, in `ticket_update` frames
(queue_protocol.messages.CitizenTicketView): its number, category, state, the people ahead
of it and its estimated wait, the window that called it — never another ticket's number
nor any person's name. It may send `rate` for its own ticket (hall/ratings.py), nothing
else of use (roles.py).

One hub subscriber per hall (a `Watch`) reads the hall's events for every status page at
once: each batch marks the tickets it may have changed (their own events; every waiting
ticket of a category whose queue moved; all of them when a window, the configuration or
the day changed), and the views of those are computed together on the database thread,
under the hall's lock (so never from a batch staged but not yet committed). A page is
sent a view only when it differs from the last one it was sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from http import HTTPStatus
from importlib import resources
from typing import TYPE_CHECKING

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from queue_protocol.codec import encode
from queue_protocol.messages import (
    CitizenHelloReply,
    CitizenTicketView,
    Hello,
    Priority,
    Role,
    TicketState,
    TicketUpdate,
)
from queue_protocol.version import PROTOCOL_VERSION
from queue_server.domain.estimate import wait_curve
from queue_server.domain.model import Ticket
from queue_server.hall import loading, ratings, views
from queue_server.hall.work import Work
from queue_server.hub import Subscriber
from queue_server.roles import Principal

if TYPE_CHECKING:
    from queue_server.server import HallHost

log = logging.getLogger(__name__)

PAGE_PREFIX = "/t/"
# A ticket id as numbering.ticket_id makes it: the hall-local date and the number.
TICKET_ID = re.compile(r"^\d{8}-[A-Z0-9]{1,12}$")
# Events after which every watched ticket is looked at again: a window opening, pausing or
# going away changes the estimates; the configuration or the day changes everything. That
# look comes at most every FULL_EVERY seconds; a page's own ticket and the queue of its
# category are looked at as soon as their events come.
EVERY_TICKET = frozenset({"window_changed", "config_changed", "day_closed"})
FULL_EVERY = 1.0
# What the page may be (Content-Security-Policy): its own inline style and script, and
# websocket connections back to this server; no other origin, no frames, no forms.
PAGE_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
    "connect-src 'self' ws: wss:; img-src 'self' data:; media-src 'self' data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
PAGE_HTML = (
    resources.files("queue_server")
    .joinpath("static/ticket.html")
    .read_text("utf-8")
    .replace("__PROTOCOL_VERSION__", str(PROTOCOL_VERSION))
)


# -- the secret is never logged -------------------------------------------------------------


class HideSecrets(logging.Filter):
    """The websockets library logs, at debug level, each request line and a shortened copy
    of each frame: a status page's URL (`?k=`), a citizen's hello and a kiosk's
    issue_ticket reply hold a slip's secret, and the shortening may keep it. Those lines
    are kept, their text replaced."""

    HIDDEN = ("< TEXT", "> TEXT", "< BINARY", "> BINARY", "< GET", "< POST", "< HEAD")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno <= logging.DEBUG and record.getMessage().startswith(self.HIDDEN):
            record.msg, record.args = "(a request line or frame: not logged)", ()
        return True


logging.getLogger("websockets.server").addFilter(HideSecrets())


# -- the page -------------------------------------------------------------------------------


def page(connection: ServerConnection, request: Request) -> Response | None:
    """The status page for `GET /t/<ticket id>`; None for anything else (a websocket
    handshake on that path included). The page is static: the secret in `k` is checked by
    the hello its script sends, and neither it nor the query is logged here."""
    path = request.path.split("?", 1)[0]
    if not path.startswith(PAGE_PREFIX) or "websocket" in request.headers.get("Upgrade", ""):
        return None
    ticket = path[len(PAGE_PREFIX) :]
    if not TICKET_ID.match(ticket):
        return _respond(connection, HTTPStatus.NOT_FOUND, "text/plain", "no such page\n")
    return _respond(connection, HTTPStatus.OK, "text/html; charset=utf-8", PAGE_HTML)


def _respond(
    connection: ServerConnection, status: HTTPStatus, content_type: str, body: str
) -> Response:
    response = connection.respond(status, body)
    del response.headers["Content-Type"]
    response.headers["Content-Type"] = content_type
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the URL holds the slip's secret
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = PAGE_POLICY
    return response


# -- the status pages of one hall -----------------------------------------------------------


@dataclass(eq=False)
class Page:
    """One open status page: its connection, the view it was last sent, the newest one."""

    ws: ServerConnection
    ticket: str
    sent: str = ""
    latest: str = ""
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    sender: asyncio.Task[None] | None = None

    async def send_changes(self) -> None:
        """Send the newest view whenever it differs from the last sent (a slow phone only
        misses views in between, never holds up another page)."""
        with contextlib.suppress(ConnectionClosed):
            while True:
                await self.changed.wait()
                self.changed.clear()
                if self.latest and self.latest != self.sent:
                    text = self.latest
                    await self.ws.send(text)
                    self.sent = text


class Watch:
    """The status pages open at one hall, fed by one subscriber of the hall's hub."""

    def __init__(self, host: HallHost) -> None:
        self.host = host
        self.pages: dict[str, set[Page]] = {}
        self._subscriber: Subscriber | None = None
        self._updater: asyncio.Task[None] | None = None
        self._tickets: set[str] = set()  # marked by events since the last update
        self._categories: set[str] = set()
        self._everything = False
        self._last_full = 0.0  # time.monotonic() of the last look at every page
        self._full_due: asyncio.TimerHandle | None = None
        self._marked = asyncio.Event()
        self._views: dict[str, CitizenTicketView] = {}  # the last view computed, per ticket

    @property
    def count(self) -> int:
        return sum(len(p) for p in self.pages.values())

    # -- connections --------------------------------------------------------------------

    async def open(self, ws: ServerConnection, principal: Principal, hello: Hello) -> bool:
        """Answer a citizen's hello with its ticket's view; then keep the page up to date.
        A ticket of a past day is answered once (`expired`) and its connection closed."""
        assert principal.ticket is not None
        ticket = principal.ticket
        page = Page(ws, ticket)
        self._add(page)  # first: a change from here on reaches it
        try:
            view = (await self.host._in_db(self.views, [ticket]))[ticket]
            if self._views.get(ticket) != view:  # the next update goes to every page of it
                self._views.pop(ticket, None)
            config = self.host.service.cached_config
            reasons = list(config.ratings.reasons) if config is not None else []
            reply = CitizenHelloReply(re=hello.id, status=view, rating_reasons=reasons)
            await ws.send(encode(reply))
        except ConnectionClosed:
            await self.closed(ws)
            return False
        page.sent = page.latest or encode(TicketUpdate(status=view))
        if view.expired and view.rating_until is None:  # an earlier day's slip may rate
            await self.closed(ws)
            await ws.close(1000, "the ticket's day is over")
            return False
        self.host.connections.add(ws)  # closed with the others if the hall moves away
        page.sender = asyncio.create_task(page.send_changes(), name=f"status page {ticket}")
        page.changed.set()  # a change computed while the reply was on its way
        log.debug("status page of %s opened", ticket)
        return True

    async def closed(self, ws: ServerConnection) -> None:
        for ticket, pages in list(self.pages.items()):
            for page in [p for p in pages if p.ws is ws]:
                pages.discard(page)
                if page.sender is not None:
                    page.sender.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await page.sender
            if not pages:
                del self.pages[ticket]
                self._views.pop(ticket, None)
        if not self.pages:
            await self._stop()

    def _add(self, page: Page) -> None:
        self.pages.setdefault(page.ticket, set()).add(page)
        hub = self.host.hub
        if self._subscriber is None and hub is not None:
            # Every event of the hall, a batch a frame; read here, never sent on as it is.
            reader = Principal(role=Role.ADMIN, key="citizen-pages", batch_events=True)
            self._subscriber = hub.subscribe(reader, self._take, hub.head)
            self._updater = asyncio.create_task(self._update(), name="status pages")

    async def _stop(self) -> None:
        subscriber, self._subscriber = self._subscriber, None
        if subscriber is not None and self.host.hub is not None:
            await self.host.hub.unsubscribe(subscriber)
        if self._full_due is not None:
            self._full_due.cancel()
            self._full_due = None
        updater, self._updater = self._updater, None
        if updater is not None:
            updater.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await updater

    # -- events -------------------------------------------------------------------------

    async def _take(self, text: str) -> None:
        """A frame of the hall's events: mark what it may have changed."""
        frame = json.loads(text)
        events = frame["events"] if frame.get("type") == "events" else [frame]
        for event in events:
            name = event.get("name")
            if name in EVERY_TICKET:
                self._everything = True
            elif name == "queue_changed":
                self._categories.update(q["category"] for q in event.get("queues", []))
            ticket = event.get("ticket")
            ticket_id = ticket.get("id") if isinstance(ticket, dict) else None
            if name == "ticket_rated":  # by its window's pad, or by the page itself
                ticket_id = event["rating"]["ticket"]
            if ticket_id in self.pages:
                self._tickets.add(ticket_id)
        if self._everything or self._categories or self._tickets:
            self._marked.set()

    async def _update(self) -> None:
        """Compute the marked pages' views (many batches at once when they come fast) and
        hand each page its view."""
        while True:
            await self._marked.wait()
            self._marked.clear()
            tickets, self._tickets = self._tickets, set()
            categories, self._categories = self._categories, set()
            everything = self._everything and self._full_now()
            wanted = list(self.pages) if everything else self._wanted(tickets, categories)
            if not wanted:
                continue
            try:
                computed = await self.host._in_db(self.views, wanted)
            except Exception:
                log.exception("status pages: computing %d views failed", len(wanted))
                continue
            for ticket, view in computed.items():
                if self._views.get(ticket) == view:
                    continue  # what its pages show has not changed
                self._views[ticket] = view
                text = encode(TicketUpdate(status=view))
                for page in self.pages.get(ticket, ()):
                    page.latest = text
                    page.changed.set()

    def _full_now(self) -> bool:
        """Whether every page is looked at now: at most every FULL_EVERY seconds (a call
        changes a window three times); a later one is set to come when due."""
        wait = self._last_full + FULL_EVERY - time.monotonic()
        if wait > 0:
            if self._full_due is None:
                self._full_due = asyncio.get_running_loop().call_later(wait, self._due)
            return False
        self._everything = False
        self._last_full = time.monotonic()
        return True

    def _due(self) -> None:
        self._full_due = None
        self._marked.set()

    def _wanted(self, tickets: set[str], categories: set[str]) -> list[str]:
        state = self.host.service.hall.cached
        wanted = set(tickets)
        if categories and state is not None:
            for ticket in self.pages:
                live = state.tickets.get(ticket)
                if live is not None and live.ticket.category in categories:
                    wanted.add(ticket)
        return sorted(wanted)

    # -- views (on the database thread) -------------------------------------------------

    def views(self, tickets: list[str]) -> dict[str, CitizenTicketView]:
        """The views of `tickets` as the hall's committed state has them."""
        service = self.host.service
        with service.hall.lock:
            state = service.hall.state()
            work = service.hall.work(state, service.clock())
            today = work.rules.local_day(work.now).isoformat()
            estimates = Estimates(work)
            result: dict[str, CitizenTicketView] = {}
            for ticket_id in tickets:
                live = state.tickets.get(ticket_id) or loading.fetch_ticket(
                    service.engine, state.hall_id, ticket_id
                )
                if live is not None:
                    expired = live.day < today
                    slip = ratings.slip(work, live)
                    result[ticket_id] = view_of(work, live.ticket, expired, slip, estimates)
            return result


class Estimates:
    """hall.views.position for many tickets of one state: each category's window capacity
    (the costly part) is worked out once, not once per ticket (domain.estimate.wait_curve).
    The figures are those of `ticket_status` (tests/integration/test_citizen.py)."""

    def __init__(self, work: Work) -> None:
        self.work = work
        self._curves: dict[str, Callable[[int], float]] = {}

    def position(self, ticket: Ticket) -> tuple[int, float]:
        if ticket.state is not TicketState.WAITING or ticket.priority is Priority.APPOINTMENT:
            return views.position(self.work, ticket)  # an appointment waits for its slot too
        state = self.work.state
        ahead = state.queue(ticket.category).ahead(ticket)
        curve = self._curves.get(ticket.category)
        if curve is None:
            waiting = state.waiting_counts()
            categories = state.config.categories
            curve = self._curves[ticket.category] = wait_curve(
                category=ticket.category,
                windows=self.work.capacity(),
                waiting_by_category=waiting,
                mean_service_minutes=state.service_minutes(ticket.category),
                minutes_by_category={
                    c: state.service_minutes(c) for c in waiting if c in categories
                },
                targets={c: float(cat.target_wait_minutes) for c, cat in categories.items()},
                rank_penalty=state.config.rules.rank_penalty,
            )
        return ahead, curve(ahead)


def view_of(
    w: Work, ticket: Ticket, expired: bool, slip: ratings.Slip, estimates: Estimates
) -> CitizenTicketView:
    """A ticket as its status page shows it. The wait is in whole minutes, as the page
    shows it: a page is sent a view only when what it shows changes."""
    category = w.config.categories.get(ticket.category)
    window = w.state.windows.get(ticket.window) if ticket.window is not None else None
    state: TicketState = ticket.state
    if expired and state in (TicketState.WAITING, TicketState.CALLED, TicketState.SERVING):
        state = TicketState.EXPIRED
    ahead, wait = (0, 0.0) if expired else estimates.position(ticket)
    called_at: datetime | None = ticket.call_times[-1] if ticket.call_times else None
    # Built from the hall's own state: no validation needed (model_construct skips it).
    return CitizenTicketView.model_construct(
        ticket=ticket.id,
        number=ticket.number,
        category=ticket.category,
        category_name=category.name if category is not None else ticket.category,
        hall_name=w.rules.name,
        state=state,
        expired=expired,
        people_ahead=ahead,
        estimated_wait_minutes=float(round(wait)),
        window=ticket.window if state in (TicketState.CALLED, TicketState.SERVING) else None,
        window_name=window.name
        if window is not None and state in (TicketState.CALLED, TicketState.SERVING)
        else None,
        called_at=called_at,
        recall_count=ticket.recall_count,
        rated=slip.rated,
        steps=ticket.steps,
        visit_rated=slip.visit_rated,
        rating_until=slip.until,
    )


# -- the server's hooks ---------------------------------------------------------------------

_watches: weakref.WeakKeyDictionary[HallHost, Watch] = weakref.WeakKeyDictionary()


def watch(host: HallHost) -> Watch:
    found = _watches.get(host)
    if found is None:
        found = _watches[host] = Watch(host)
    return found


async def open_page(
    host: HallHost, ws: ServerConnection, principal: Principal, hello: Hello
) -> bool:
    """A citizen's hello at `host` (server.QueueServer._hello)."""
    return await watch(host).open(ws, principal, hello)


async def closed(host: HallHost, ws: ServerConnection) -> None:
    """A citizen's connection ended (server.HallHost.closed)."""
    found = _watches.get(host)
    if found is not None:
        await found.closed(ws)


def open_pages(host: HallHost) -> int:
    found = _watches.get(host)
    return found.count if found is not None else 0
