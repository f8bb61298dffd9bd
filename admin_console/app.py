"""The supervisor console: login, then one long-lived connection (staff_tui.app) and the
live hall."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from admin_console.i18n import Language, t
from admin_console.screens.audit import AuditScreen
from admin_console.screens.cases import CasesScreen, describe_case_refusal
from admin_console.screens.dialogs import (
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
from queue_protocol.client import Backoff, Credentials, QueueClient
from queue_protocol.errors import ErrorCode
from queue_protocol.messages import (
    AcknowledgeAlert,
    AlertReply,
    AnyEvent,
    CallTicket,
    CancelTicket,
    CaseListReply,
    CaseReply,
    CloseWindow,
    ErrorReply,
    GetCase,
    HelloReply,
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
    UpdateCase,
    WindowReply,
    WindowState,
    WindowView,
    _Request,
)
from staff_tui import refusals
from staff_tui.app import Clock, StaffApp, utc_now
from staff_tui.connection import Refusal
from staff_tui.dialogs import ConfirmDialog
from staff_tui.refusals import Asked

NOTICE_MAX = 500  # SetNotice's limit


class AdminApp(StaffApp[HallScreen]):
    """The hall supervisor's program (issue 14): watch the hall live and act for it."""

    # Absolute: Textual resolves a relative CSS_PATH against the module of the class, so a
    # subclass elsewhere (bench.admin_console) would look for it in its own directory.
    CSS_PATH = Path(__file__).parent / "admin.tcss"
    words = t
    remembered: Remembered

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
        settings_path = settings_path or default_path()
        remembered = Remembered.load(settings_path)
        if account:
            remembered.account = account
        super().__init__(
            remembered,
            settings_path,
            language=language,
            clock=clock,
            backoff=backoff,
            server=server,
            hall=hall,
        )
        self.account = self.remembered.account or ""
        self.staff_name = ""
        self.board = HallBoard()
        self._redraw_due = False
        self.drawn: list[Callable[[], None]] = []  # called after each redraw (the benchmark)

    @property
    def hall_screen(self) -> HallScreen | None:
        """The hall, once logged in (the main screen)."""
        return self.main_screen

    @property
    def timezone(self) -> str:
        return self.board.timezone

    def now(self) -> datetime:
        """The server's time as the console reckons it (its clock, corrected by the last
        snapshot's `now`)."""
        return self.clock() + self.board.skew

    # -- login ------------------------------------------------------------------------------

    def new_login_screen(self, message: str, error: bool) -> LoginScreen:
        return LoginScreen(
            self.remembered.server, self.account, self.login, message=message, error=error
        )

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
        self.connect(form.server, credentials)

    def new_main_screen(self) -> HallScreen:
        return HallScreen(self)

    # -- the session ------------------------------------------------------------------------

    def apply_hello(self, hello: HelloReply) -> None:
        self.staff_name = hello.staff_name or ""
        self.board.apply_snapshot(hello.snapshot, self.clock())
        for screen in self.screen_stack:  # no snapshot holds the cases: ask for them again
            if isinstance(screen, CasesScreen):
                screen.reload()

    def apply_event(self, client: QueueClient, event: AnyEvent, *, replayed: bool) -> None:
        self.board.apply_event(event, replayed=replayed)

    def apply_reply(self, client: QueueClient, request: _Request, reply: Any) -> None:
        board = self.board
        if isinstance(reply, WindowReply):
            board.apply_window(reply.window, self.now())
            if reply.ticket is not None:
                board.apply_ticket(reply.ticket)
        elif isinstance(reply, TicketReply):
            board.apply_ticket(reply.ticket)
        elif isinstance(reply, AlertReply):
            board.apply_alert(reply.alert)
        elif isinstance(reply, CaseReply):
            board.apply_case(reply.case)
        elif isinstance(reply, CaseListReply):
            for case in reply.cases:
                board.apply_case(case)
        elif isinstance(reply, SnapshotReply) and reply.snapshot.seq >= board.seq:
            board.apply_snapshot(reply.snapshot, self.clock())

    # -- refusals ---------------------------------------------------------------------------

    def describe_refusal(self, refusal: Refusal) -> str:
        if refusal.error is not None and refusal.error.code is ErrorCode.FORBIDDEN:
            return t("login.not_supervisor")  # a staff account asked for the admin role
        return super().describe_refusal(refusal)

    def refused(self, request: _Request, error: ErrorReply, *, quiet: bool) -> None:
        super().refused(request, error, quiet=quiet)
        if isinstance(request, UpdateCase) and error.code is ErrorCode.INVALID_STATE:
            # The case moved on unseen: its own picture, as no snapshot holds it.
            self.send(GetCase(id=self.new_request_id(), case=request.case), quiet=True)

    def describe_refused(self, request: _Request, error: ErrorReply) -> str:
        window = getattr(request, "window", None)
        asked = Asked.of(request)
        if window is not None and asked.window is None:
            asked = Asked(window=window, ticket=asked.ticket, cancelling=asked.cancelling)
        if isinstance(request, MoveTicket):
            asked = Asked(ticket=request.ticket, category=request.to_category)
        return self.describe_act_refusal(request, error) or self.describe_error(error, asked)

    def describe_act_refusal(self, request: _Request, error: ErrorReply) -> str | None:
        """The console's own acts' refusals (alerts, moves, issuing), from code and reason;
        None for those the shared words say (staff_tui.refusals)."""
        code, reason = error.code, error.reason
        if isinstance(request, UpdateCase | GetCase):
            return describe_case_refusal(request, error)
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
        for screen in self.screen_stack:
            if isinstance(screen, CasesScreen):
                screen.render_cases()
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
        if name == "cases":
            self.push_screen(CasesScreen(self))
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

        def carried_out(reply: Any) -> None:
            if then is not None:
                then(reply)
            if done and not quiet:
                self.notify(done, timeout=3)

        super().send(request, quiet=quiet, then=carried_out)


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
