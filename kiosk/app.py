"""The ticket kiosk app: how a citizen gets in line (SPEC §2, §3).

One long-lived worker keeps the connection (role kiosk, device token) and the hall's
snapshot current; every citizen action builds one request with one id, so pressing
"retry" after a network fault re-sends that same request and the server answers it
without issuing a second ticket. Printing happens after the ticket is issued, off the
UI thread; a printer fault is shown and logged but never un-issues the ticket.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import ClassVar
from zoneinfo import ZoneInfo

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType

from kiosk.i18n import Texts
from kiosk.printing import TicketPrinter, TicketSlip
from kiosk.screens import (
    ClosedScreen,
    IssuedTicket,
    NoticeScreen,
    ServiceScreen,
    StartScreen,
    TicketScreen,
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
    CategoryView,
    CheckIn,
    CheckInReply,
    GetSnapshot,
    IssueTicket,
    Priority,
    Role,
    ServiceItemView,
    Snapshot,
    TicketReply,
)

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
TicketRequest = IssueTicket | CheckIn
# Priority classes a citizen may choose at the kiosk; appointment tickets come from check-in.
KIOSK_PRIORITIES = (Priority.NORMAL, Priority.GREEN, Priority.ASSISTED)
SNAPSHOT_REFRESH = 60.0  # seconds: notices opening and closing time without any event


def _utc_now() -> datetime:
    return datetime.now(UTC)


class KioskApp(App[None]):
    CSS_PATH = "kiosk.tcss"
    TITLE = "一窗 取号机"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "quit", show=False, priority=True)
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
    ) -> None:
        super().__init__()
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
        self.online = False
        self.fatal: str | None = None
        self.last_ticket: IssuedTicket | None = None  # for tests and the log

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

    def status_text(self) -> str:
        if self.fatal:
            return self.fatal
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
            self.fatal = f"{exc.code}: {exc.message}"
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
                if notice.event.name == "config_changed" and not notice.replayed:
                    self.refresh_snapshot()
            elif isinstance(notice, Stopped):
                self.online = False
                if notice.error is not None:
                    self.fatal = f"{notice.error.code}: {notice.error.message}"
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

    def go_home(self) -> None:
        """Back to the start screen (or the closed screen when the hall is closed)."""
        while len(self.screen_stack) > 2:
            self.pop_screen()
        if self.snapshot is not None and not self.snapshot.hall.open_now:
            self.push_screen(ClosedScreen())
        else:
            self.refresh_snapshot()

    def choose_category(self, code: str) -> None:
        if not self.ready:
            return
        self.push_screen(ServiceScreen(code))

    def toggle_language(self) -> None:
        self.t = Texts("en" if self.t.lang == "zh" else "zh")
        self.screen.refresh(recompose=True)

    # -- getting a ticket -------------------------------------------------------------------

    def issue(self, category: str, item: str | None, priority: Priority) -> None:
        """One citizen action, one request id (kept for retries)."""
        request = IssueTicket(
            id=QueueClient.new_id(), category=category, item=item, priority=priority
        )
        self.send_for_ticket(request)

    def check_in(self, code: str) -> None:
        self.send_for_ticket(CheckIn(id=QueueClient.new_id(), code=code))

    @work(exclusive=True, group="ticket")
    async def send_for_ticket(self, request: TicketRequest) -> None:
        client = self.client
        try:
            if client is None:
                raise NotConnected("not connected")
            reply: TicketReply = await client.request(request, timeout=self.request_timeout)
        except ServerError as exc:
            log.info("%s refused: %s %s", request.type, exc.code, exc.message)
            self._show_refusal(request, exc)
            return
        except (TimeoutError, NotConnected, ConnectionError) as exc:
            log.warning("%s %s got no answer: %r", request.type, request.id, exc)
            self._show(
                NoticeScreen(
                    self.t("error_title"),
                    self.t("network"),
                    retry=lambda: self.send_for_ticket(request),
                )
            )
            return
        self._show_ticket(reply)

    def _show(self, screen: NoticeScreen | TicketScreen) -> None:
        while len(self.screen_stack) > 2:
            self.pop_screen()
        self.push_screen(screen)

    def _show_ticket(self, reply: TicketReply) -> None:
        category = self.category(reply.ticket.category)
        note = ""
        if isinstance(reply, CheckInReply):
            if reply.note.startswith("already"):
                note = self.t("ticket_again")
            elif not reply.on_time:
                note = self.t("ticket_late")
        if not note and reply.ticket.priority is Priority.APPOINTMENT:
            note = self.t("ticket_appointment")
        issued = IssuedTicket(reply, category.name if category else reply.ticket.category, note)
        self.last_ticket = issued
        log.info("ticket %s issued (%s)", reply.ticket.id, reply.ticket.priority.value)
        screen = TicketScreen(issued)
        self._show(screen)
        if self.printer.enabled:
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
            lang=self.t.lang,
        )
        result = await asyncio.to_thread(self.printer.print_slip, slip)
        if screen.is_attached:
            screen.show_print(result)

    def _show_refusal(self, request: TicketRequest, exc: ServerError) -> None:
        t = self.t
        title = t("closed_title")
        if exc.code is ErrorCode.HALL_CLOSED:
            message = t("past_closing") if "past closing" in exc.message else t("closed")
        elif exc.code is ErrorCode.CAPACITY_REACHED and isinstance(request, IssueTicket):
            category = self.category(request.category)
            message = t("capacity", category=category.name if category else request.category)
        elif exc.code is ErrorCode.TOO_EARLY:
            title = t("check_in_title")
            match = re.search(r"opens at (\d{1,2}:\d{2})", exc.message)
            message = (
                t("too_early", time=match.group(1))
                if match and " on " not in exc.message
                else t("too_early_plain", message=exc.message)
            )
        elif exc.code is ErrorCode.NOT_FOUND and isinstance(request, CheckIn):
            title, message = t("check_in_title"), t("wrong_code")
        elif exc.code is ErrorCode.INVALID_STATE and isinstance(request, CheckIn):
            title, message = t("check_in_title"), t("cancelled_code")
        else:
            title, message = t("error_title"), t("error", message=exc.message)
        self._show(NoticeScreen(title, message))


def make_app(
    url: str,
    token: str,
    *,
    printer: TicketPrinter | None = None,
    lang: str = "zh",
    clock: Clock = _utc_now,
    reset_after: float = 10.0,
) -> KioskApp:
    """The kiosk as `queue-kiosk` runs it; tests pass a clock, a printer and a short reset."""
    return KioskApp(url, token, printer=printer, lang=lang, clock=clock, reset_after=reset_after)
