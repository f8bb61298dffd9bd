"""The supervisor console: login, then one long-lived connection and the live hall."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType

from admin_console import i18n
from admin_console.i18n import Language, t
from admin_console.screens.audit import AuditScreen
from admin_console.screens.dialogs import (
    ConfirmDialog,
    TextDialog,
    TicketReason,
    TicketReasonDialog,
    TransferChoice,
    TransferDialog,
    needs_text,
)
from admin_console.screens.hall import HallScreen
from admin_console.screens.login import LoginForm, LoginScreen
from admin_console.settings import Remembered, default_path
from admin_console.state import HallBoard
from queue_protocol.client import Backoff, Credentials, QueueClient, ServerError
from queue_protocol.errors import ErrorCode
from queue_protocol.messages import (
    AcknowledgeAlert,
    AlertReply,
    CallTicket,
    CancelTicket,
    CloseWindow,
    ConfigChanged,
    ErrorReply,
    GetSnapshot,
    MoveTicket,
    PauseIssuing,
    PauseWindow,
    ResumeIssuing,
    ResumeWindow,
    Role,
    SetNotice,
    SetWindowProfile,
    SnapshotReply,
    TicketReply,
    TicketState,
    TransferTicket,
    WindowReply,
    WindowState,
    WindowView,
    _Request,
)
from staff_tui import refusals
from staff_tui.connection import (
    ClientMessage,
    ConnectionDown,
    ConnectionEnded,
    ConnectionUp,
    LoginRefused,
    Refusal,
    ServerEvent,
    pump,
)
from staff_tui.refusals import Asked

Clock = Callable[[], datetime]
REQUEST_WAIT = 10.0  # seconds per wait for a reply; the wait repeats while the app runs
NOTICE_MAX = 500  # SetNotice's limit


def utc_now() -> datetime:
    return datetime.now(UTC)


class AdminApp(App[None]):
    """The hall supervisor's program (issue 14): watch the hall live and act for it."""

    # Absolute: Textual resolves a relative CSS_PATH against the module of the class, so a
    # subclass elsewhere (bench.admin_console) would look for it in its own directory.
    CSS_PATH = Path(__file__).parent / "admin.tcss"
    TITLE = "一窗"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "quit", show=False, priority=True)
    ]
    ENABLE_COMMAND_PALETTE = False  # Textual's palette speaks English only

    def __init__(
        self,
        *,
        language: Language = "zh",
        settings_path: Path | None = None,
        clock: Clock = utc_now,
        server: str | None = None,
        account: str | None = None,
        backoff: Backoff | None = None,
        hall: str | None = None,
    ) -> None:
        i18n.set_language(language)
        super().__init__()
        self.title = t("app.title")
        self.clock = clock
        self.settings_path = settings_path or default_path()
        self.remembered = Remembered.load(self.settings_path)
        if server:
            self.remembered.server = server
        if account:
            self.remembered.account = account
        if hall:
            self.remembered.hall = hall
        self.account = self.remembered.account or ""
        self.staff_name = ""
        self.backoff = backoff
        self.client: QueueClient | None = None
        self.board = HallBoard()
        self.online = False
        self.retry_in = 0.0
        self.hall_screen: HallScreen | None = None
        self.login_screen: LoginScreen | None = None
        self._redraw_due = False
        self.drawn: list[Callable[[], None]] = []  # called after each redraw (the benchmark)

    def now(self) -> datetime:
        """The server's time as the console reckons it (its clock, corrected by the last
        snapshot's `now`)."""
        return self.clock() + self.board.skew

    def action_help_quit(self) -> None:
        """Ctrl+C: say, in the supervisor's language, that Ctrl+Q quits."""
        self.notify(t("help.quit"), title=t("help.quit_title"))

    def on_mount(self) -> None:
        self.show_login()

    # -- login and logout -------------------------------------------------------------------

    def show_login(self, message: str = "", *, error: bool = True) -> None:
        self.login_screen = LoginScreen(
            self.remembered.server, self.account, self.login, message=message, error=error
        )
        if self.hall_screen is not None:
            self.hall_screen = None
            while len(self.screen_stack) > 2:  # dialogs, the audit screen
                self.pop_screen()
            self.switch_screen(self.login_screen)
        else:
            self.push_screen(self.login_screen)

    def login(self, form: LoginForm) -> None:
        """Start the connection for this form; the outcome arrives as messages."""
        self.remembered = Remembered(
            server=form.server, account=form.account, hall=self.remembered.hall
        )
        self.remembered.save(self.settings_path)
        self.account = form.account
        credentials = Credentials(
            role=Role.ADMIN,
            user=form.account,
            password=form.password,
            hall=self.remembered.hall,
            client="queue-admin",
        )
        self.board = HallBoard()
        self.client = QueueClient(form.server, credentials, backoff=self.backoff)
        self.run_connection(self.client)

    @work(exclusive=True, group="connection")
    async def run_connection(self, client: QueueClient) -> None:
        await pump(client, self)

    def logout(self, message: str, *, error: bool = False) -> None:
        if self.client is None:
            return
        self.workers.cancel_group(self, "connection")
        self.workers.cancel_group(self, "requests")
        self.client = None
        self.online = False
        self.show_login(message, error=error)

    # -- connection messages ----------------------------------------------------------------

    def _current(self, message: ClientMessage) -> bool:
        return message.client is self.client

    def on_connection_up(self, message: ConnectionUp) -> None:
        if not self._current(message):
            return
        self.staff_name = message.hello.staff_name or ""
        self.board.apply_snapshot(message.hello.snapshot, self.clock())
        self.online = True
        if self.hall_screen is None:
            self.hall_screen = HallScreen(self)
            self.switch_screen(self.hall_screen)
            self.login_screen = None
        elif not message.first:
            self.notify(t("conn.back"), timeout=2)
        self.redraw()

    def on_connection_down(self, message: ConnectionDown) -> None:
        if not self._current(message):
            return
        self.online = False
        self.retry_in = message.retry_in
        self.redraw()

    def on_server_event(self, message: ServerEvent) -> None:
        if not self._current(message):
            return
        event = message.event
        self.board.apply_event(event, replayed=message.replayed)
        if isinstance(event, ConfigChanged) and not message.replayed:
            # Categories, windows or the notice changed: the snapshot has them all.
            self.send(GetSnapshot(id=self.new_request_id()), quiet=True)
        self.redraw()

    def on_login_refused(self, message: LoginRefused) -> None:
        if not self._current(message):
            return
        self.workers.cancel_group(self, "connection")
        self.client = None
        if self.login_screen is not None:
            self.login_screen.show_message(self.describe_refusal(message.refusal))
            self.login_screen.set_busy(False)

    def on_connection_ended(self, message: ConnectionEnded) -> None:
        if not self._current(message):
            return
        self.logout(t("login.stopped", detail=self.describe_refusal(message.refusal)), error=True)

    def describe_refusal(self, refusal: Refusal) -> str:
        """Why the hello was refused, from the error reply's code and fields."""
        error = refusal.error
        if error is None:
            return t("login.unreachable", url=self.remembered.server)
        if error.code is ErrorCode.FORBIDDEN:
            return t("login.not_supervisor")  # a staff account asked for the admin role
        return self.describe_error(error)

    def describe_error(self, error: ErrorReply, asked: Asked | None = None) -> str:
        return refusals.describe(error, t, asked=asked, timezone=self.board.timezone)

    def describe_act_refusal(self, request: _Request, error: ErrorReply) -> str | None:
        """The console's own acts' refusals (alerts, moves, issuing), from code and reason;
        None for those the shared words say (staff_tui.refusals)."""
        code, reason = error.code, error.reason
        if isinstance(request, AcknowledgeAlert):
            if reason == "acknowledged":
                return t("alert.already")
            if reason == "cleared" or code is ErrorCode.NOT_FOUND:
                return t("alert.cleared")
        if isinstance(request, MoveTicket):
            if code is ErrorCode.BAD_REQUEST and reason == "moves_nowhere":
                return t("move.nowhere", ticket=request.ticket)
            if code is ErrorCode.NOT_FOUND and reason == "category" and request.to_category:
                return t("error.no_category", category=request.to_category)
            if code is ErrorCode.NOT_FOUND and reason == "window" and request.to_window:
                return t("error.no_window", window=request.to_window)
            if code is ErrorCode.INVALID_STATE and error.state:
                state = refusals.state_label(error.state, t)
                return t("ticket.not_waiting", ticket=request.ticket, state=state)
        if isinstance(request, PauseIssuing) and reason == "issuing_paused":
            return t("issuing.already_paused", category=request.category)
        if isinstance(request, ResumeIssuing) and reason == "issuing_not_paused":
            return t("issuing.not_paused", category=request.category)
        return None

    # -- drawing ----------------------------------------------------------------------------

    def redraw(self) -> None:
        """Draw the hall once for all the messages handled before the next refresh."""
        if self._redraw_due:
            return
        self._redraw_due = True
        self.call_after_refresh(self._redraw)

    def _redraw(self) -> None:
        self._redraw_due = False
        if self.hall_screen is not None:
            self.hall_screen.render_hall()
        for hook in self.drawn:
            hook()

    # -- acts -------------------------------------------------------------------------------

    def start_act(self, name: str, window: WindowView | None) -> None:
        """Open the dialog of act `name` for `window` (the one selected on the board)."""
        if not self.online:
            self.notify(t("error.offline"), severity="warning", timeout=3)
            return
        if name == "notice":
            self._ask_notice()
            return
        if name == "cancel_ticket":
            self._ask_cancel()
            return
        if name == "move_ticket":
            self._ask_move()
            return
        if name == "acknowledge":
            self._acknowledge()
            return
        if name == "issuing":
            self._ask_issuing()
            return
        if name == "audit":
            self.push_screen(AuditScreen(self))
            return
        if window is None:
            self.notify(t("pick.window"), severity="warning", timeout=3)
            return
        getattr(self, f"_ask_{name}")(window)

    def _ask_close(self, window: WindowView) -> None:
        n = window.number
        if window.state is WindowState.CLOSED:
            self.notify(t("close.already", number=n), severity="warning", timeout=3)
            return

        def closed(yes: bool | None) -> None:
            if yes:
                self.send(
                    CloseWindow(id=self.new_request_id(), window=n), t("done.closed", number=n)
                )

        self.push_screen(ConfirmDialog(t("close.question", number=n, name=window.name)), closed)

    def _ask_pause(self, window: WindowView) -> None:
        n = window.number
        if window.state is WindowState.PAUSED:
            self.send(ResumeWindow(id=self.new_request_id(), window=n), t("done.resumed", number=n))
            return
        if window.state is WindowState.CLOSED:
            self.notify(t("pause.closed", number=n), severity="warning", timeout=3)
            return

        def paused(reason: str | None) -> None:
            if reason:
                request = PauseWindow(id=self.new_request_id(), window=n, reason=reason)
                self.send(request, t("done.paused", number=n))

        dialog = TextDialog(
            "pause-dialog",
            heading=t("pause.heading", number=n, name=window.name),
            placeholder=t("pause.reason"),
            check=needs_text(t("reason.needed")),
        )
        self.push_screen(dialog, paused)

    def _ask_profile(self, window: WindowView) -> None:
        n = window.number
        known = self.board.categories

        def check(value: str) -> str | None:
            codes = value.upper().split()
            unknown = [c for c in codes if c not in known]
            if unknown:
                return t("profile.unknown", codes=" ".join(unknown))
            twice = sorted({c for c in codes if codes.count(c) > 1})
            if twice:
                return t("profile.twice", codes=" ".join(twice))
            return None

        def chosen(value: str | None) -> None:
            if value is not None:
                profile = value.upper().split()
                request = SetWindowProfile(id=self.new_request_id(), window=n, profile=profile)
                self.send(request, t("done.profile", number=n))

        note = "  ".join(f"{c.code} {c.name}" for c in known.values())
        dialog = TextDialog(
            "profile-dialog",
            heading=t("profile.heading", number=n, name=window.name),
            placeholder=t("profile.codes"),
            value=" ".join(window.profile),
            note=note,
            check=check,
        )
        self.push_screen(dialog, chosen)

    def _ask_call_ticket(self, window: WindowView) -> None:
        n = window.number
        if window.state in (WindowState.CALLING, WindowState.SERVING):
            self.notify(t("callticket.busy", number=n), severity="warning", timeout=4)
            return

        def chosen(number: str | None) -> None:
            if number:
                ticket = number.upper()
                request = CallTicket(id=self.new_request_id(), window=n, ticket=ticket)
                self.send(request, t("done.called", ticket=ticket, number=n))

        dialog = TextDialog(
            "call-ticket-dialog",
            heading=t("callticket.heading", number=n, name=window.name),
            placeholder=t("ticket.number"),
            check=needs_text(t("ticket.need_number")),
            max_length=40,
        )
        self.push_screen(dialog, chosen)

    def _ask_transfer(self, window: WindowView) -> None:
        n = window.number
        if window.ticket is None:
            self.notify(t("transfer.none", number=n), severity="warning", timeout=4)
            return
        ticket = window.ticket_number or window.ticket
        if window.state is not WindowState.SERVING:  # the server transfers a served ticket
            self.notify(t("transfer.not_serving", number=n, ticket=ticket), timeout=4)
            return

        def chosen(choice: TransferChoice | None) -> None:
            if choice is not None:
                request = TransferTicket(
                    id=self.new_request_id(),
                    window=n,
                    to_category=choice.to_category,
                    to_window=choice.to_window,
                    reason=choice.reason,
                )
                self.send(request, t("done.transferred", ticket=ticket))

        dialog = TransferDialog(
            t("transfer.heading", number=n, ticket=ticket),
            self.board.categories.values(),
            self.board.windows,
        )
        self.push_screen(dialog, chosen)

    def waiting_check(self, number: str) -> str | None:
        """Refuse, in the dialog, a ticket the console knows is not waiting (the server
        decides in the end: the board may be a moment behind)."""
        ticket = self.board.ticket_by_number(number)
        if ticket is not None and ticket.state is not TicketState.WAITING:
            state = t(f"ticket.state.{ticket.state.value}")
            return t("ticket.not_waiting", ticket=ticket.number, state=state)
        return None

    def _ask_cancel(self) -> None:
        def confirmed(choice: TicketReason, yes: bool | None) -> None:
            if yes:
                request = CancelTicket(
                    id=self.new_request_id(), ticket=choice.ticket, reason=choice.reason
                )
                self.send(request, t("done.cancelled", ticket=choice.ticket))

        def chosen(choice: TicketReason | None) -> None:
            if choice is not None:
                self.push_screen(
                    ConfirmDialog(t("cancel.question", number=choice.ticket)),
                    lambda yes: confirmed(choice, yes),
                )

        dialog = TicketReasonDialog(
            "cancel-dialog", heading=t("cancel.heading"), check_ticket=self.waiting_check
        )
        self.push_screen(dialog, chosen)

    def _ask_move(self) -> None:
        def chosen(choice: TransferChoice | None) -> None:
            if choice is not None and choice.ticket:
                request = MoveTicket(
                    id=self.new_request_id(),
                    ticket=choice.ticket,
                    to_category=choice.to_category,
                    to_window=choice.to_window,
                    reason=choice.reason,
                )
                self.send(request, t("done.moved", ticket=choice.ticket))

        dialog = TransferDialog(
            t("move.heading"),
            self.board.categories.values(),
            self.board.windows,
            ticket=True,
            check_ticket=self.waiting_check,
        )
        self.push_screen(dialog, chosen)

    def _acknowledge(self) -> None:
        alert = self.hall_screen.selected_alert() if self.hall_screen else None
        if alert is None:
            self.notify(t("alert.no_alerts"), timeout=3)
            return
        if alert.acknowledged_at is not None:
            self.notify(t("alert.already"), severity="warning", timeout=3)
            return
        request = AcknowledgeAlert(id=self.new_request_id(), alert=alert.id)
        self.send(request, t("done.acknowledged"))

    def _ask_issuing(self) -> None:
        category = self.hall_screen.selected_category() if self.hall_screen else None
        if category is None:
            self.notify(t("pick.category"), severity="warning", timeout=3)
            return
        code, name = category.code, category.name
        if category.issuing_paused:
            request = ResumeIssuing(id=self.new_request_id(), category=code)
            self.send(request, t("done.issuing_resumed", category=name))
            return

        def paused(reason: str | None) -> None:
            if reason:
                request = PauseIssuing(id=self.new_request_id(), category=code, reason=reason)
                self.send(request, t("done.issuing_paused", category=name))

        dialog = TextDialog(
            "issuing-dialog",
            heading=t("issuing.heading", code=code, category=name),
            placeholder=t("issuing.reason"),
            check=needs_text(t("reason.needed")),
        )
        self.push_screen(dialog, paused)

    def _ask_notice(self) -> None:
        def chosen(notice: str | None) -> None:
            if notice is not None:
                self.send(SetNotice(id=self.new_request_id(), notice=notice), t("done.notice"))

        def check(value: str) -> str | None:
            return t("notice.too_long") if len(value) > NOTICE_MAX else None

        dialog = TextDialog(
            "notice-dialog",
            heading=t("notice.heading"),
            placeholder=t("notice.text"),
            value=self.board.hall.notice if self.board.hall else "",
            check=check,
            max_length=NOTICE_MAX,
        )
        self.push_screen(dialog, chosen)

    # -- sending ----------------------------------------------------------------------------

    @staticmethod
    def new_request_id() -> str:
        return uuid.uuid4().hex

    def send(
        self,
        request: _Request,
        done: str = "",
        *,
        quiet: bool = False,
        then: Callable[[Any], None] | None = None,
    ) -> None:
        """Send one act; `done` is said when the server has carried it out, and `then` is
        given its reply (a query's answer)."""
        if self.client is None:
            return
        self.run_worker(self._send(self.client, request, done, quiet, then), group="requests")

    async def _send(
        self,
        client: QueueClient,
        request: _Request,
        done: str,
        quiet: bool,
        then: Callable[[Any], None] | None = None,
    ) -> None:
        try:
            while True:
                try:
                    # The client re-sends this same id after a reconnect: never acts twice.
                    reply = await client.request(request, timeout=REQUEST_WAIT)
                    break
                except TimeoutError:
                    continue
        except ServerError as exc:
            self.log.warning(f"{type(request).__name__} refused: {exc}")  # message: log only
            if client is self.client:
                self._refused(request, exc.reply, quiet=quiet)
        except Exception as exc:  # never a traceback on the supervisor's screen
            self.log.error(f"{type(request).__name__} failed: {exc!r}")
            if not quiet and client is self.client:
                self.notify(t("error.unexpected", detail=type(exc).__name__), severity="error")
        else:
            if client is self.client:
                self._apply_reply(reply)
                if then is not None:
                    then(reply)
                if done and not quiet:
                    self.notify(done, timeout=3)
        finally:
            self.redraw()

    def _refused(self, request: _Request, error: ErrorReply, *, quiet: bool) -> None:
        if not quiet:
            window = getattr(request, "window", None)
            asked = Asked.of(request)
            if window is not None and asked.window is None:
                asked = Asked(window=window, ticket=asked.ticket, cancelling=asked.cancelling)
            if isinstance(request, MoveTicket):
                asked = Asked(ticket=request.ticket, category=request.to_category)
            text = self.describe_act_refusal(request, error) or self.describe_error(error, asked)
            self.notify(text, title=t("error.title"), severity="error", timeout=6)
        if error.code is ErrorCode.INVALID_STATE:
            self.send(GetSnapshot(id=self.new_request_id()), quiet=True)

    def _apply_reply(self, reply: Any) -> None:
        board = self.board
        if isinstance(reply, WindowReply):
            board.apply_window(reply.window, self.now())
            if reply.ticket is not None:
                board.apply_ticket(reply.ticket)
        elif isinstance(reply, TicketReply):
            board.apply_ticket(reply.ticket)
        elif isinstance(reply, AlertReply):
            board.apply_alert(reply.alert)
        elif isinstance(reply, SnapshotReply) and reply.snapshot.seq >= board.seq:
            board.apply_snapshot(reply.snapshot, self.clock())


def make_app(
    *,
    language: Language = "zh",
    settings_path: Path | None = None,
    clock: Clock = utc_now,
    server: str | None = None,
    account: str | None = None,
    backoff: Backoff | None = None,
    hall: str | None = None,
) -> AdminApp:
    """The app as `queue-admin` runs it; tests pass a settings file, a clock, a server."""
    return AdminApp(
        language=language,
        settings_path=settings_path,
        clock=clock,
        server=server,
        account=account,
        backoff=backoff,
        hall=hall,
    )
