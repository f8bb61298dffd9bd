"""The window client app: login, then one long-lived connection and the work screen."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen

from queue_protocol.client import Backoff, Credentials, QueueClient, ServerError
from queue_protocol.errors import ErrorCode
from queue_protocol.messages import (
    CancelTicket,
    ConfigChanged,
    ErrorReply,
    GetSnapshot,
    Role,
    ServiceFinished,
    SnapshotReply,
    TicketReply,
    WindowChanged,
    WindowReply,
    WindowState,
    _Request,
)
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
from window_client import i18n
from window_client.i18n import Language, t
from window_client.refusals import Asked, describe
from window_client.screens.login import LoginForm, LoginScreen
from window_client.screens.work import WorkScreen
from window_client.settings import Remembered, default_path
from window_client.state import DeskState

Clock = Callable[[], datetime]
REQUEST_WAIT = 10.0  # seconds per wait for a reply; the wait repeats while the app runs


def utc_now() -> datetime:
    return datetime.now(UTC)


class WindowApp(App[None]):
    """The staff member's desk program (SPEC §2)."""

    CSS_PATH = "window.tcss"
    TITLE = "一窗"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "quit", show=False, priority=True)
    ]
    # Textual's command palette and its Ctrl+C hint speak English only.
    ENABLE_COMMAND_PALETTE = False

    def action_help_quit(self) -> None:
        """Ctrl+C: say, in the staff member's language, that Ctrl+Q quits."""
        self.notify(t("help.quit"), title=t("help.quit_title"))

    def __init__(
        self,
        *,
        language: Language = "zh",
        settings_path: Path | None = None,
        clock: Clock = utc_now,
        server: str | None = None,
        window: int | None = None,
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
        if window:
            self.remembered.window = window
        if hall:
            self.remembered.hall = hall
        self.account = account or ""
        self.backoff = backoff
        self.client: QueueClient | None = None
        self.desk = DeskState(number=0)
        self.online = False
        self.retry_in = 0.0
        self.busy: _Request | None = None  # the action waiting for its reply
        self.busy_since = 0.0  # time.monotonic() when it was sent
        self.work_screen: WorkScreen | None = None
        self.login_screen: LoginScreen | None = None

    def on_mount(self) -> None:
        self.show_login()

    # -- login and logout -------------------------------------------------------------------

    def show_login(self, message: str = "", *, error: bool = True) -> None:
        self.login_screen = LoginScreen(
            self.remembered.server,
            self.remembered.window,
            account=self.account,
            message=message,
            error=error,
        )
        if self.work_screen is not None:
            self.work_screen = None
            # A dialog open over the work screen goes with it: the login replaces both.
            while isinstance(self.screen, ModalScreen) and len(self.screen_stack) > 2:
                self.pop_screen()
            self.switch_screen(self.login_screen)
        else:
            self.push_screen(self.login_screen)

    def login(self, form: LoginForm) -> None:
        """Start the connection for this form; the outcome arrives as messages."""
        self.remembered = Remembered(
            server=form.server, window=form.window, hall=self.remembered.hall
        )
        self.remembered.save(self.settings_path)
        credentials = Credentials(
            role=Role.WINDOW,
            user=form.account,
            password=form.password,
            window=form.window,
            hall=self.remembered.hall,
            client="queue-window",
        )
        # The hall's timezone, as last seen, for times in a refusal (e.g. a lock's end).
        self.desk = DeskState(number=form.window, timezone=self.desk.timezone)
        self.busy = None
        self.client = QueueClient(form.server, credentials, backoff=self.backoff)
        self.run_connection(self.client)

    @work(exclusive=True, group="connection")
    async def run_connection(self, client: QueueClient) -> None:
        await pump(client, self)

    def logout(self, message: str, *, error: bool = False) -> None:
        """End the session (if one is still going) and show the login screen with `message`."""
        if self.client is None:
            return  # already logged out: a second reason to leave changes nothing
        self.workers.cancel_group(self, "connection")
        self.workers.cancel_group(self, "requests")
        self.client = None
        self.online = False
        self.busy = None
        self.show_login(message, error=error)

    def _logout_of(self, client: QueueClient, message: str, *, error: bool = False) -> None:
        """Log out of `client`'s session, unless that session has already ended."""
        if client is self.client:
            self.logout(message, error=error)

    # -- connection messages ----------------------------------------------------------------

    def _current(self, message: ClientMessage) -> bool:
        """Whether `message` comes from the session going on now (not from one let go)."""
        return message.client is self.client

    def on_connection_up(self, message: ConnectionUp) -> None:
        if not self._current(message):
            return
        self.desk.apply_hello(message.hello)
        self.online = True
        if self.work_screen is None:
            self.work_screen = WorkScreen(self)
            self.switch_screen(self.work_screen)
            self.login_screen = None
        elif not message.first:
            self.notify(t("conn.back"), timeout=2)
        self.refresh_desk()

    def on_connection_down(self, message: ConnectionDown) -> None:
        if not self._current(message):
            return
        self.online = False
        self.retry_in = message.retry_in
        self.refresh_desk()

    def on_server_event(self, message: ServerEvent) -> None:
        if not self._current(message):
            return
        event = message.event
        self.desk.apply_event(event, replayed=message.replayed)
        if isinstance(event, ConfigChanged) and not message.replayed:
            self.send(GetSnapshot(id=self.new_request_id()), quiet=True)
        if isinstance(event, WindowChanged):
            self._window_changed(message.client, event, replayed=message.replayed)
        elif (
            isinstance(event, ServiceFinished)
            and event.chain_ended
            and event.window == self.desk.number
            and not message.replayed
        ):
            self.notify(t("done.chain_ended", number=event.ticket.number), timeout=3)
        self.refresh_desk()

    def _window_changed(self, client: QueueClient, event: WindowChanged, *, replayed: bool) -> None:
        """The hall closed this window (not this desk's own close_window, which has no
        reason and whose reply logs out): back to the login screen, saying why."""
        view = event.window
        if view.number != self.desk.number or view.state is not WindowState.CLOSED:
            return
        if event.reason is None:
            return
        if replayed and self.desk.window_state is not WindowState.CLOSED:
            # Closed while this desk was away; the hello that brought it back reopened it
            # (the snapshot says so), so the staff member carries on, told what happened.
            why = closed_text(event.reason, short=True)
            self.notify(t("closed.while_offline", why=why), severity="warning", timeout=10)
            return
        self._logout_of(client, closed_text(event.reason), error=event.reason != "day_closed")

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
        if refusal.error is None:
            return t("login.unreachable", url=self.remembered.server)
        return self.describe_error(refusal.error, Asked(window=self.desk.number))

    def describe_error(self, error: ErrorReply, asked: Asked | None = None) -> str:
        return describe(error, asked=asked, timezone=self.desk.timezone)

    # -- actions ----------------------------------------------------------------------------

    @staticmethod
    def new_request_id() -> str:
        return uuid.uuid4().hex

    def send(self, request: _Request, *, quiet: bool = False) -> None:
        """Send one action; further actions wait (disabled) until its reply has come."""
        if self.client is None:
            return
        if not quiet:
            self.busy = request
            self.busy_since = time.monotonic()
            self.refresh_desk()
        self.run_worker(self._send(self.client, request, quiet), group="requests")

    async def _send(self, client: QueueClient, request: _Request, quiet: bool) -> None:
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
            if client is self.client:  # a session already ended has nothing more to say
                self._refused(request, exc.reply, quiet=quiet)
        except Exception as exc:  # never a traceback on the staff member's screen
            self.log.error(f"{type(request).__name__} failed: {exc!r}")
            if not quiet and client is self.client:
                self.notify(t("error.unexpected", detail=type(exc).__name__), severity="error")
        else:
            if client is self.client:
                self._apply_reply(client, request, reply)
        finally:
            if self.busy is request:
                self.busy = None
            self.refresh_desk()

    def _refused(self, request: _Request, error: ErrorReply, *, quiet: bool) -> None:
        if error.code is ErrorCode.QUEUE_EMPTY:
            self.notify(t("error.queue_empty"), severity="warning", timeout=3)
        elif not quiet:
            text = self.describe_error(error, Asked.of(request))
            self.notify(text, title=t("error.title"), severity="error", timeout=6)
        if error.code is ErrorCode.INVALID_STATE:
            # This desk's picture was behind the server's (e.g. a supervisor acted).
            self.send(GetSnapshot(id=self.new_request_id()), quiet=True)

    def _apply_reply(self, client: QueueClient, request: _Request, reply: Any) -> None:
        desk = self.desk
        if isinstance(reply, WindowReply):
            if reply.ticket is not None:
                desk.apply_ticket(reply.ticket)
            desk.apply_window(reply.window)
            if reply.window.state is WindowState.CLOSED and reply.window.number == desk.number:
                self.call_later(self._logout_of, client, t("login.logged_out"))
        elif isinstance(reply, TicketReply):
            desk.apply_ticket(reply.ticket)
            said = "done.cancelled" if isinstance(request, CancelTicket) else "done.reinstated"
            self.notify(t(said, number=reply.ticket.number), timeout=3)
        elif isinstance(reply, SnapshotReply) and reply.snapshot.seq >= desk.seq:
            desk.apply_snapshot(reply.snapshot)

    def refresh_desk(self) -> None:
        if self.work_screen is not None:
            self.work_screen.render_desk()


CLOSE_REASONS = frozenset({"day_closed", "offline", "closed_by_supervisor", "moved"})


def closed_text(reason: str, *, short: bool = False) -> str:
    """Why the hall closed this window, in words (window_changed `reason`): a sentence, or
    with `short` a few words to put in one."""
    if reason not in CLOSE_REASONS:
        return reason if short else t("closed.other", reason=reason)
    return t(f"closed.why.{reason}" if short else f"closed.{reason}")


def make_app(
    *,
    language: Language = "zh",
    settings_path: Path | None = None,
    clock: Clock = utc_now,
    server: str | None = None,
    window: int | None = None,
    account: str | None = None,
    backoff: Backoff | None = None,
    hall: str | None = None,
) -> WindowApp:
    """The app as `queue-window` runs it; tests pass a settings file, a clock, a server."""
    return WindowApp(
        language=language,
        settings_path=settings_path,
        clock=clock,
        server=server,
        window=window,
        hall=hall,
        account=account,
        backoff=backoff,
    )
