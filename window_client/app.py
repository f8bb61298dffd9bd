"""The window client app: login, then one long-lived connection and the work screen."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType

from queue_protocol.client import Backoff, Credentials, QueueClient, ServerError
from queue_protocol.errors import ErrorCode
from queue_protocol.messages import (
    ConfigChanged,
    GetSnapshot,
    Role,
    SnapshotReply,
    TicketReply,
    WindowReply,
    WindowState,
    _Request,
)
from window_client import i18n
from window_client.connection import (
    ConnectionDown,
    ConnectionEnded,
    ConnectionUp,
    LoginRefused,
    Refusal,
    ServerEvent,
    pump,
)
from window_client.i18n import Language, t
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
        self.account = account or ""
        self.backoff = backoff
        self.client: QueueClient | None = None
        self.desk = DeskState(number=0)
        self.online = False
        self.retry_in = 0.0
        self.busy: _Request | None = None  # the action waiting for its reply
        self.work_screen: WorkScreen | None = None
        self.login_screen: LoginScreen | None = None

    def on_mount(self) -> None:
        self.show_login()

    # -- login and logout -------------------------------------------------------------------

    def show_login(self, message: str = "", *, error: bool = True) -> None:
        self.login_screen = LoginScreen(
            self.remembered.server, self.remembered.window, account=self.account
        )
        if self.work_screen is not None:
            self.switch_screen(self.login_screen)
            self.work_screen = None
        else:
            self.push_screen(self.login_screen)
        if message:
            self.call_after_refresh(self.login_screen.show_message, message, error=error)

    def login(self, form: LoginForm) -> None:
        """Start the connection for this form; the outcome arrives as messages."""
        server = form.server if "://" in form.server else f"ws://{form.server}"
        self.remembered = Remembered(server=server, window=form.window)
        self.remembered.save(self.settings_path)
        credentials = Credentials(
            role=Role.WINDOW,
            user=form.account,
            password=form.password,
            window=form.window,
            client="queue-window",
        )
        self.desk = DeskState(number=form.window)
        self.busy = None
        self.client = QueueClient(server, credentials, backoff=self.backoff)
        self.run_connection(self.client)

    @work(exclusive=True, group="connection")
    async def run_connection(self, client: QueueClient) -> None:
        await pump(client, self)

    def logout(self, message: str, *, error: bool = False) -> None:
        self.workers.cancel_group(self, "connection")
        self.workers.cancel_group(self, "requests")
        self.client = None
        self.online = False
        self.busy = None
        self.show_login(message, error=error)

    # -- connection messages ----------------------------------------------------------------

    def on_connection_up(self, message: ConnectionUp) -> None:
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
        self.online = False
        self.retry_in = message.retry_in
        self.refresh_desk()

    def on_server_event(self, message: ServerEvent) -> None:
        self.desk.apply_event(message.event, replayed=message.replayed)
        if isinstance(message.event, ConfigChanged) and not message.replayed:
            self.send(GetSnapshot(id=self.new_request_id()), quiet=True)
        self.refresh_desk()

    def on_login_refused(self, message: LoginRefused) -> None:
        self.workers.cancel_group(self, "connection")
        self.client = None
        if self.login_screen is not None:
            self.login_screen.show_message(self.describe_refusal(message.refusal))
            self.login_screen.set_busy(False)

    def on_connection_ended(self, message: ConnectionEnded) -> None:
        self.logout(t("login.stopped", detail=self.describe_refusal(message.refusal)), error=True)

    def describe_refusal(self, refusal: Refusal) -> str:
        window = self.desk.number
        if refusal.code is None:
            return t("login.unreachable", url=self.remembered.server)
        known = {
            ErrorCode.AUTH_FAILED: t("login.auth_failed"),
            ErrorCode.NOT_FOUND: t("login.unknown_window", window=window),
            ErrorCode.WINDOW_TAKEN: t("login.window_taken", detail=refusal.message),
            ErrorCode.VERSION_MISMATCH: t("login.version", detail=refusal.message),
        }
        if refusal.code is ErrorCode.BAD_REQUEST and "uri" in refusal.message.lower():
            return t("login.bad_address", detail=refusal.message)
        return known.get(refusal.code, t("login.refused", detail=refusal.message))

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
            if exc.code is ErrorCode.QUEUE_EMPTY:
                self.notify(t("error.queue_empty"), severity="warning", timeout=3)
            elif not quiet:
                self.notify(exc.message, title=t("error.title"), severity="error", timeout=6)
        except Exception as exc:  # never a traceback on the staff member's screen
            self.log.error(f"{type(request).__name__} failed: {exc!r}")
            if not quiet:
                detail = str(exc) or type(exc).__name__
                self.notify(t("error.unexpected", detail=detail), severity="error")
        else:
            self._apply_reply(reply)
        finally:
            if self.busy is request:
                self.busy = None
            self.refresh_desk()

    def _apply_reply(self, reply: Any) -> None:
        desk = self.desk
        if isinstance(reply, WindowReply):
            if reply.ticket is not None:
                desk.apply_ticket(reply.ticket)
            desk.apply_window(reply.window)
            if reply.window.state is WindowState.CLOSED and reply.window.number == desk.number:
                self.call_later(self.logout, t("login.logged_out"))
        elif isinstance(reply, TicketReply):
            desk.apply_ticket(reply.ticket)
            self.notify(t("done.reinstated", number=reply.ticket.number), timeout=3)
        elif isinstance(reply, SnapshotReply) and reply.snapshot.seq >= desk.seq:
            desk.apply_snapshot(reply.snapshot)

    def refresh_desk(self) -> None:
        if self.work_screen is not None:
            self.work_screen.render_desk()


def make_app(
    *,
    language: Language = "zh",
    settings_path: Path | None = None,
    clock: Clock = utc_now,
    server: str | None = None,
    window: int | None = None,
    account: str | None = None,
    backoff: Backoff | None = None,
) -> WindowApp:
    """The app as `queue-window` runs it; tests pass a settings file, a clock, a server."""
    return WindowApp(
        language=language,
        settings_path=settings_path,
        clock=clock,
        server=server,
        window=window,
        account=account,
        backoff=backoff,
    )
