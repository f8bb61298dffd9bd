"""The ticket kiosk app: how a citizen gets in line (SPEC §2, §3).

One long-lived worker keeps the connection (role kiosk, device token) and the hall's
snapshot current; every citizen action builds one request with one id, so pressing
"retry" after a network fault re-sends that same request and the server answers it
without issuing a second ticket. Printing happens after the ticket is issued, off the
UI thread; a printer fault is shown and logged but never un-issues the ticket.

Citizens tap while screens change. A request from a screen counts only while that screen
is the one shown (a tap queued just before a change, or the reset timer of a screen being
left, acts on nothing), and one ticket request at a time is in flight: a second tap while
the server answers issues nothing and cancels nothing.

What the citizen reads is built from the reply's fields and the error's code and
structured fields (`ErrorReply`), never from the server's message text.

Booking an appointment (kiosk/booking.py) reads the places of the days ahead with
`appointment_slots` and books with one `book_appointment` request, whose id a retry
after a network fault sends again: one booking, however often the citizen presses retry.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from textual import events, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import Screen

from kiosk.booking import (
    DAYS_AHEAD,
    BookCategoryScreen,
    BookDayScreen,
    Booked,
    BookedScreen,
    BookingScreen,
    BookSlotScreen,
    Draft,
    Offer,
)
from kiosk.i18n import Texts
from kiosk.printing import AppointmentSlip, TicketPrinter, TicketSlip
from kiosk.screens import (
    AdminExitScreen,
    CheckInScreen,
    ClosedScreen,
    IssuedTicket,
    KioskScreen,
    NoticeScreen,
    ServiceScreen,
    StartScreen,
    TicketScreen,
    chain_text,
    state_text,
)
from queue_protocol.client import (
    Connected,
    Credentials,
    Disconnected,
    EventReceived,
    LoginFailed,
    NotConnected,
    QueueClient,
    ServerError,
    Stopped,
)
from queue_protocol.errors import ErrorCode
from queue_protocol.messages import (
    AppointmentReply,
    AppointmentSlots,
    AppointmentSlotsReply,
    BookAppointment,
    CategoryView,
    CheckIn,
    CheckInReply,
    ErrorReply,
    GetSnapshot,
    IssueTicket,
    Priority,
    QueueChanged,
    Role,
    ServiceItemView,
    SlotView,
    Snapshot,
    TicketReply,
    TicketState,
)

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
TicketRequest = IssueTicket | CheckIn
# Priority classes a citizen may choose at the kiosk; appointment tickets come from check-in.
KIOSK_PRIORITIES = (Priority.NORMAL, Priority.GREEN, Priority.ASSISTED)
SNAPSHOT_REFRESH = 60.0  # seconds: notices opening and closing time without any event
# A ticket in one of these has nothing more to wait for: shown, not printed (a check-in code
# used again can bring back a ticket that was served, missed, cancelled or expired).
FINAL_STATES = frozenset(
    {TicketState.DONE, TicketState.NO_SHOW, TicketState.CANCELLED, TicketState.EXPIRED}
)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class KioskApp(App[None]):
    CSS_PATH = "kiosk.tcss"
    TITLE = "一窗 取号机"
    # Locked down: citizens touch this screen. No command palette (Ctrl+P), and Ctrl+Q or
    # Ctrl+C quit only with the administrator's PIN (none configured: they do nothing).
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "admin_exit", show=False, priority=True),
        Binding("ctrl+c", "admin_exit", show=False, priority=True),
    ]

    def __init__(
        self,
        url: str,
        token: str,
        *,
        printer: TicketPrinter | None = None,
        lang: str = "zh",
        clock: Clock = _utc_now,
        reset_after: float = 10.0,
        request_timeout: float = 10.0,
        priorities: tuple[Priority, ...] = KIOSK_PRIORITIES,
        admin_pin: str | None = None,
    ) -> None:
        super().__init__()
        self.admin_pin = admin_pin
        self.url = url
        self.token = token
        self.printer = printer or TicketPrinter(None)
        self.t = Texts(lang)
        self.clock = clock
        self.reset_after = reset_after
        self.request_timeout = request_timeout
        self.priorities = priorities
        self.client: QueueClient | None = None
        self.snapshot: Snapshot | None = None
        self.waiting: dict[str, int] = {}  # per category, from the snapshot and queue_changed
        self.online = False
        self.fatal: str | None = None  # the error code of a server that refused this kiosk
        self.last_ticket: IssuedTicket | None = None  # for tests and the log
        self.ticket_request: TicketRequest | None = None  # the one waiting for its reply
        self.booking_request: BookAppointment | None = None  # likewise for a booking
        self.last_booking: Booked | None = None  # for tests

    def action_admin_exit(self) -> None:
        if not self.admin_pin:
            log.info("exit key pressed; no administrator PIN is set, so the kiosk stays")
            return
        if isinstance(self.screen, AdminExitScreen):
            return

        def answered(leave: bool | None) -> None:
            if leave:
                log.info("kiosk closed by the administrator")
                self.exit()

        self.push_screen(AdminExitScreen(self.admin_pin), answered)

    # -- state the screens read ---------------------------------------------------------

    @property
    def hall_name(self) -> str:
        return self.snapshot.hall.name if self.snapshot else ""

    @property
    def notice(self) -> str:
        return self.snapshot.hall.notice if self.snapshot else ""

    @property
    def categories(self) -> list[CategoryView]:
        return list(self.snapshot.categories) if self.snapshot else []

    @property
    def items(self) -> list[ServiceItemView]:
        return list(self.snapshot.items) if self.snapshot else []

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.snapshot.hall.timezone if self.snapshot else "Asia/Shanghai")

    @property
    def ready(self) -> bool:
        """Connected, with the hall's snapshot: citizens can take tickets."""
        return self.online and self.snapshot is not None

    def local_now(self) -> datetime:
        return self.clock().astimezone(self.tz)

    def category(self, code: str) -> CategoryView | None:
        return next((c for c in self.categories if c.code == code), None)

    def appointment_items(self, category: str) -> list[ServiceItemView]:
        """The category's service items that may be booked."""
        return [i for i in self.items if i.category == category and i.appointment]

    def status_text(self) -> str:
        if self.fatal:
            return self.t("refused", code=self.fatal)
        if self.snapshot is None:
            return self.t("connecting")
        if not self.online:
            return self.t("offline")
        return ""

    # -- lifecycle ----------------------------------------------------------------------

    def on_mount(self) -> None:
        self.push_screen(StartScreen())
        self.keep_connected()
        self.set_interval(SNAPSHOT_REFRESH, self.refresh_snapshot)

    async def on_unmount(self) -> None:
        if self.client is not None:
            await self.client.close()

    @work(exclusive=True, group="connection")
    async def keep_connected(self) -> None:
        credentials = Credentials(role=Role.KIOSK, token=self.token, client="queue-kiosk")
        client = QueueClient(self.url, credentials)
        self.client = client
        try:
            await client.start(timeout=self.request_timeout)
        except LoginFailed as exc:
            self.fatal = exc.code.value
            log.error("the server refused this kiosk: %s", exc)
            self._update_status()
            return
        except NotConnected:
            log.warning("server %s not reachable yet; still trying", self.url)
        async for notice in client.notices():
            if isinstance(notice, Connected):
                self.online = True
                self.set_snapshot(notice.hello.snapshot)
            elif isinstance(notice, Disconnected):
                self.online = False
                self._update_status()
            elif isinstance(notice, EventReceived):
                if isinstance(notice.event, QueueChanged):
                    self.waiting.update({q.category: q.waiting for q in notice.event.queues})
                    if isinstance(self.screen, StartScreen):
                        self.screen.update_waiting()
                # After a close-out the hall is usually closed: the closed screen follows.
                if notice.event.name in ("config_changed", "day_closed") and not notice.replayed:
                    self.refresh_snapshot()
            elif isinstance(notice, Stopped):
                self.online = False
                if notice.error is not None:
                    log.error("the server stopped this kiosk: %s", notice.error)
                    self.fatal = notice.error.code.value
                self._update_status()

    @work(exclusive=True, group="snapshot")
    async def refresh_snapshot(self) -> None:
        if self.client is None or not self.online:
            return
        try:
            reply = await self.client.request(GetSnapshot, timeout=self.request_timeout)
        except (ServerError, TimeoutError, NotConnected) as exc:
            log.warning("could not refresh the hall snapshot: %s", exc)
            return
        self.set_snapshot(reply.snapshot)

    def set_snapshot(self, snapshot: Snapshot) -> None:
        changed = self.snapshot is None or (
            (self.snapshot.categories, self.snapshot.items, self.snapshot.hall)
            != (snapshot.categories, snapshot.items, snapshot.hall)
        )
        self.snapshot = snapshot
        self.waiting = {q.category: q.waiting for q in snapshot.queues}
        if not self.screen_stack:  # a reply that arrives while the app is shutting down
            return
        top = self.screen
        if not snapshot.hall.open_now:
            if isinstance(top, StartScreen):
                self.push_screen(ClosedScreen())
            return
        if isinstance(top, ClosedScreen):
            self.pop_screen()
            top = self.screen
        if isinstance(top, StartScreen):
            if changed:
                top.refresh(recompose=True)
            else:
                top.update_status()

    def _update_status(self) -> None:
        if isinstance(self.screen, StartScreen):
            self.screen.update_status()

    # -- navigation -------------------------------------------------------------------------

    def shown(self, origin: Screen[Any] | None) -> bool:
        """Whether a request from `origin` may act: only the screen on top may move the
        citizen on. None: the app itself asks (a reply, a snapshot)."""
        if origin is None or origin.is_active:
            return True
        log.debug("ignored a request from %s, which is not shown", type(origin).__name__)
        return False

    def go_home(self, origin: Screen[Any] | None = None) -> None:
        """Back to the start screen (or the closed screen when the hall is closed)."""
        if not self.shown(origin):
            return
        while len(self.screen_stack) > 2:
            self.pop_screen()
        if self.snapshot is not None and not self.snapshot.hall.open_now:
            if not isinstance(self.screen, ClosedScreen):
                self.push_screen(ClosedScreen())
        else:
            self.refresh_snapshot()

    def choose_category(self, code: str, origin: Screen[Any] | None = None) -> None:
        category = self.category(code)
        if not self.shown(origin) or not self.ready or category is None:
            return
        if category.issuing_paused:  # its key pressed: its button is disabled
            self._show(
                NoticeScreen(
                    self.t("closed_title"), self.t("issuing_paused", category=category.name)
                )
            )
            return
        self.push_screen(ServiceScreen(code))

    def open_check_in(self, origin: Screen[Any] | None = None) -> None:
        if self.shown(origin):
            self.push_screen(CheckInScreen())

    async def on_event(self, event: events.Event) -> None:
        # Any key or tap counts as the citizen still being there (booking screens wait).
        touch = isinstance(event, events.Key | events.MouseDown) and not event.is_forwarded
        if touch and self.screen_stack and isinstance(self.screen, BookingScreen):
            self.screen.touched()
        await super().on_event(event)

    def toggle_language(self) -> None:
        self.t = Texts("en" if self.t.lang == "zh" else "zh")
        self.screen.refresh(recompose=True)

    # -- getting a ticket -------------------------------------------------------------------

    def issue(
        self,
        category: str,
        item: str | None,
        priority: Priority,
        origin: Screen[Any] | None = None,
    ) -> None:
        """One citizen action, one request id (kept for retries)."""
        if not self.shown(origin):
            return
        request = IssueTicket(
            id=QueueClient.new_id(), category=category, item=item, priority=priority
        )
        self.request_ticket(request)

    def check_in(self, code: str, origin: Screen[Any] | None = None) -> None:
        if self.shown(origin):
            self.request_ticket(CheckIn(id=QueueClient.new_id(), code=code))

    def request_ticket(self, request: TicketRequest) -> bool:
        """Send `request` unless another ticket request still waits for its reply (a second
        tap meanwhile issues nothing); False when it was not sent."""
        if self.ticket_request is not None:
            log.info("%s ignored: %s is still waiting", request.type, self.ticket_request.id)
            return False
        self.ticket_request = request
        self.send_for_ticket(request)
        return True

    # Not exclusive: a new request must never cancel one the server may already have
    # answered with a ticket. `request_ticket` lets one run at a time.
    @work(group="ticket")
    async def send_for_ticket(self, request: TicketRequest) -> None:
        client = self.client
        try:
            if client is None:
                raise NotConnected("not connected")
            reply: TicketReply = await client.request(request, timeout=self.request_timeout)
        except ServerError as exc:
            log.info("%s refused: %s %s", request.type, exc.code, exc.message)
            self._show_refusal(request, exc.reply)
            return
        except (TimeoutError, NotConnected, ConnectionError) as exc:
            log.warning("%s %s got no answer: %r", request.type, request.id, exc)
            self._show(
                NoticeScreen(
                    self.t("error_title"),
                    self.t("network"),
                    retry=lambda: self.request_ticket(request),
                )
            )
            return
        finally:
            self.ticket_request = None
        self._show_ticket(reply)

    def _show(self, screen: KioskScreen) -> None:
        while len(self.screen_stack) > 2:
            self.pop_screen()
        self.push_screen(screen)

    def _show_ticket(self, reply: TicketReply) -> None:
        ticket = reply.ticket
        category = self.category(ticket.category)
        note = ""
        if isinstance(reply, CheckInReply):
            if reply.already_checked_in:
                note = self.t("ticket_again")
            elif not reply.on_time:
                note = self.t("ticket_late")
        if not note and ticket.priority is Priority.APPOINTMENT:
            note = self.t("ticket_appointment")
        finished = ticket.state in FINAL_STATES
        issued = IssuedTicket(
            reply, category.name if category else ticket.category, note, finished=finished
        )
        self.last_ticket = issued
        log.info(
            "ticket %s %s (%s)",
            ticket.id,
            f"shown again, {ticket.state.value}" if finished else "issued",
            ticket.priority.value,
        )
        screen = TicketScreen(issued)
        self._show(screen)
        if self.printer.enabled and not finished:
            self.print_ticket(screen, issued)

    @work(group="printing")
    async def print_ticket(self, screen: TicketScreen, issued: IssuedTicket) -> None:
        ticket = issued.reply.ticket
        slip = TicketSlip(
            hall=self.hall_name,
            number=ticket.number,
            category=issued.category_name,
            item=ticket.item,
            people_ahead=issued.reply.people_ahead,
            wait_minutes=issued.reply.estimated_wait_minutes,
            issued_at=ticket.issued_at.astimezone(self.tz),
            ticket_id=ticket.id,
            note=issued.note,
            chain=chain_text(self.t, ticket),
            state=state_text(self.t, ticket),
            lang=self.t.lang,
            secret=issued.reply.secret,
        )
        result = await asyncio.to_thread(self.printer.print_slip, slip)
        if screen.is_attached:
            screen.show_print(result)

    # -- booking an appointment (kiosk/booking.py) -----------------------------------------

    def open_booking(self, origin: Screen[Any] | None = None) -> None:
        if self.shown(origin) and self.ready:
            self.fetch_offer(origin)

    @work(exclusive=True, group="booking")
    async def fetch_offer(self, origin: Screen[Any] | None) -> None:
        """The places of the days ahead, asked for all at once; a day the hall does not open
        (`hall_closed`) is left out."""
        today = self.local_now().date()
        days = [today + timedelta(days=n) for n in range(DAYS_AHEAD)]
        replies = await asyncio.gather(*(self._slots(day) for day in days), return_exceptions=True)
        if not self.shown(origin):
            return
        offered: list[tuple[date, tuple[SlotView, ...]]] = []
        for day, reply in zip(days, replies, strict=True):
            if isinstance(reply, ServerError) and reply.code is ErrorCode.HALL_CLOSED:
                continue
            if isinstance(reply, BaseException):
                self._booking_failed(reply, day, retry=lambda: self.open_booking())
                return
            offered.append((day, tuple(reply.slots)))
        offer = Offer(today, tuple(offered))
        if not any(self.category(code) for code in offer.categories()):
            self._show(NoticeScreen(self.t("book_title"), self.t("no_booking")))
            return
        self._show(BookCategoryScreen(offer=offer))

    async def _slots(self, day: date, category: str | None = None) -> AppointmentSlotsReply:
        if self.client is None:
            raise NotConnected("not connected")
        request = AppointmentSlots(id=QueueClient.new_id(), day=day, category=category)
        reply: AppointmentSlotsReply = await self.client.request(
            request, timeout=self.request_timeout
        )
        return reply

    def step_back(self, origin: Screen[Any]) -> None:
        """返回 on a booking screen: the step before, or the start from the first."""
        if not self.shown(origin):
            return
        if len(self.screen_stack) > 3:
            self.pop_screen()
        else:
            self.go_home(origin)

    @work(exclusive=True, group="booking")
    async def show_slots(
        self, draft: Draft, origin: Screen[Any] | None = None, problem: str = ""
    ) -> None:
        """The chosen day's slots, fresh, above the day screen."""
        assert draft.day is not None
        try:
            reply = await self._slots(draft.day, draft.category)
        except (ServerError, TimeoutError, NotConnected, ConnectionError) as exc:
            if self.shown(origin):
                self._booking_failed(exc, draft.day, retry=lambda: self.show_slots(draft))
            return
        if not self.shown(origin):
            return
        while len(self.screen_stack) > 2 and not isinstance(self.screen, BookDayScreen):
            self.pop_screen()
        offer = self.screen.offer if isinstance(self.screen, BookDayScreen) else None
        offer = offer or Offer(self.local_now().date(), ())
        self.push_screen(BookSlotScreen(draft, offer, list(reply.slots), problem))

    def book(self, draft: Draft, origin: Screen[Any] | None = None) -> None:
        """One confirmed booking, one request id (kept for retries)."""
        if not self.shown(origin) or draft.day is None or draft.slot is None:
            return
        request = BookAppointment(
            id=QueueClient.new_id(),
            category=draft.category,
            item=draft.item,
            day=draft.day,
            slot=draft.slot,
            name=draft.name,
            phone=draft.phone,
        )
        self.request_booking(request)

    def request_booking(self, request: BookAppointment) -> bool:
        """Send `request` unless a booking still waits for its reply (a second tap)."""
        if self.booking_request is not None:
            log.info("book_appointment ignored: %s is still waiting", self.booking_request.id)
            return False
        self.booking_request = request
        self.send_booking(request)
        return True

    @work(group="booking-request")
    async def send_booking(self, request: BookAppointment) -> None:
        client = self.client
        try:
            if client is None:
                raise NotConnected("not connected")
            reply: AppointmentReply = await client.request(request, timeout=self.request_timeout)
        except ServerError as exc:
            log.info("book_appointment refused: %s %s", exc.code, exc.message)
            self._booking_refused(request, exc.reply)
            return
        except (TimeoutError, NotConnected, ConnectionError) as exc:
            log.warning("book_appointment %s got no answer: %r", request.id, exc)
            self._booking_failed(exc, request.day, retry=lambda: self.request_booking(request))
            return
        finally:
            self.booking_request = None
        a = reply.appointment
        log.info("appointment booked: %s %s %s", a.category, a.day, a.slot)
        category = self.category(a.category)
        booked = Booked(a, category.name if category else a.category)
        self.last_booking = booked
        screen = BookedScreen(booked)
        self._show(screen)
        if self.printer.enabled:
            self.print_booking(screen, booked)

    @work(group="printing")
    async def print_booking(self, screen: BookedScreen, booked: Booked) -> None:
        a = booked.appointment
        slip = AppointmentSlip(
            hall=self.hall_name,
            code=a.code,
            category=booked.category_name,
            item=a.item,
            day=a.day,
            slot=a.slot,
            phone=a.phone,
            lang=self.t.lang,
        )
        result = await asyncio.to_thread(self.printer.print_slip, slip)
        if screen.is_attached:
            screen.show_print(result)

    def _booking_refused(self, request: BookAppointment, error: ErrorReply) -> None:
        """A slot taken meanwhile (or begun): back to the day's slots, fresh, saying so, with
        the name and number kept. Anything else: a notice."""
        slot_gone = error.code in (ErrorCode.CAPACITY_REACHED, ErrorCode.BAD_REQUEST) or (
            error.code is ErrorCode.HALL_CLOSED and error.reason == "outside_hours"
        )
        if slot_gone and any(isinstance(s, BookDayScreen) for s in self.screen_stack):
            draft = Draft(
                request.category, request.item, request.day, name=request.name, phone=request.phone
            )
            self.show_slots(draft, problem=self.booking_refusal_text(error, request.day)[1])
            return
        if error.code is ErrorCode.NOT_FOUND:
            self.refresh_snapshot()  # a category, item or slot that changed meanwhile
        self._show(NoticeScreen(*self.booking_refusal_text(error, request.day)))

    def _booking_failed(self, exc: BaseException, day: date, retry: Callable[[], object]) -> None:
        """A read or a booking that failed: a refusal said as such, a network fault with a
        retry, on top of the booking screens (返回 goes to the start)."""
        if isinstance(exc, ServerError):
            self.push_screen(NoticeScreen(*self.booking_refusal_text(exc.reply, day)))
            return
        if not isinstance(exc, TimeoutError | NotConnected | ConnectionError):
            log.error("appointment slots: %r", exc)
        self.push_screen(NoticeScreen(self.t("error_title"), self.t("book_network"), retry=retry))

    def booking_refusal_text(self, error: ErrorReply, day: date) -> tuple[str, str]:
        """The title and message for a refused booking (or slot list), from the error's code
        and structured fields."""
        t = self.t
        code, reason = error.code, error.reason
        title = t("book_title")
        if code is ErrorCode.HALL_CLOSED and reason in ("holiday", "closed_day"):
            return title, t("day_closed", date=t.day(day))
        if code is ErrorCode.CAPACITY_REACHED:
            return title, t("slot_taken")
        if code is ErrorCode.BAD_REQUEST or code is ErrorCode.HALL_CLOSED:
            return title, t("slot_unavailable")
        if code is ErrorCode.NOT_FOUND:
            return title, t("changed_choice")
        if code is ErrorCode.RATE_LIMITED:
            return title, t("busy")
        return t("error_title"), t("error", code=code.value)

    def _show_refusal(self, request: TicketRequest, error: ErrorReply) -> None:
        title, message = self.refusal_text(request, error)
        if error.code is ErrorCode.NOT_FOUND and isinstance(request, IssueTicket):
            self.refresh_snapshot()  # a category or item that changed meanwhile
        self._show(NoticeScreen(title, message))

    def refusal_text(self, request: TicketRequest, error: ErrorReply) -> tuple[str, str]:
        """The title and message for a refused ticket request, from the error's code and
        structured fields (its `message` is for the log only)."""
        t = self.t
        code, reason = error.code, error.reason
        checking_in = isinstance(request, CheckIn)
        if code is ErrorCode.HALL_CLOSED:
            if reason == "past_closing" and error.at and error.estimated_wait_minutes is not None:
                closing = error.at.astimezone(self.tz)
                minutes = f"{error.estimated_wait_minutes:.0f}"
                return t("closed_title"), t("past_closing", time=f"{closing:%H:%M}", m=minutes)
            if reason == "past_closing":
                return t("closed_title"), t("past_closing_plain")
            if reason == "issuing_paused":
                paused = (
                    self.category(request.category) if isinstance(request, IssueTicket) else None
                )
                if paused is None:
                    return t("closed_title"), t("issuing_paused_plain")
                return t("closed_title"), t("issuing_paused", category=paused.name)
            return t("closed_title"), t("closed")
        if code is ErrorCode.CAPACITY_REACHED:
            category = self.category(request.category) if isinstance(request, IssueTicket) else None
            if category is None:
                return t("closed_title"), t("capacity_plain")
            return t("closed_title"), t("capacity", category=category.name)
        if code is ErrorCode.TOO_EARLY:
            if error.at is None:
                return t("check_in_title"), t("too_early_plain")
            opens = error.at.astimezone(self.tz)
            if opens.date() == self.local_now().date():
                return t("check_in_title"), t("too_early", time=f"{opens:%H:%M}")
            return t("check_in_title"), t(
                "too_early_day", date=t.date(opens.date()), time=f"{opens:%H:%M}"
            )
        if code is ErrorCode.NOT_FOUND:
            if checking_in:
                return t("check_in_title"), t("wrong_code")
            return t("error_title"), t("changed_choice")
        if code is ErrorCode.INVALID_STATE and checking_in and reason == "used":
            state = t.state(TicketState(error.state)) if error.state else ""
            return t("check_in_title"), t("used_code", number=error.ticket or "", state=state)
        if code is ErrorCode.INVALID_STATE and checking_in:
            key = {"cancelled": "cancelled_code", "missed": "missed_code"}.get(
                reason or "", "invalid_code"
            )
            return t("check_in_title"), t(key)
        if code is ErrorCode.RATE_LIMITED:
            return t("error_title"), t("busy")
        return t("error_title"), t("error", code=code.value)


def make_app(
    url: str,
    token: str,
    *,
    printer: TicketPrinter | None = None,
    lang: str = "zh",
    clock: Clock = _utc_now,
    reset_after: float = 10.0,
    admin_pin: str | None = None,
) -> KioskApp:
    """The kiosk as `queue-kiosk` runs it; tests pass a clock, a printer and a short reset."""
    return KioskApp(
        url,
        token,
        printer=printer,
        lang=lang,
        clock=clock,
        reset_after=reset_after,
        admin_pin=admin_pin,
    )
