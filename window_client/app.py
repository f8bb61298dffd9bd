"""The window client app: login, then one long-lived connection (staff_tui.app) and the
work screen."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from queue_protocol.client import Backoff, Credentials, QueueClient
from queue_protocol.errors import ErrorCode
from queue_protocol.messages import (
    AnyEvent,
    CancelTicket,
    ErrorReply,
    HelloReply,
    Role,
    ServiceFinished,
    SnapshotReply,
    TicketReply,
    WindowChanged,
    WindowReply,
    WindowState,
    _Request,
)
from staff_tui.app import Clock, StaffApp, utc_now
from staff_tui.refusals import Asked
from window_client.i18n import Language, t
from window_client.screens.login import LoginForm, LoginScreen
from window_client.screens.work import WorkScreen
from window_client.settings import Remembered, default_path
from window_client.state import DeskState


class WindowApp(StaffApp[WorkScreen]):
    """The staff member's desk program (SPEC §2)."""

    CSS_PATH = "window.tcss"
    words = t
    remembered: Remembered

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
        settings_path = settings_path or default_path()
        remembered = Remembered.load(settings_path)
        if window:
            remembered.window = window
        super().__init__(
            remembered,
            settings_path,
            language=language,
            clock=clock,
            backoff=backoff,
            server=server,
            hall=hall,
        )
        self.account = account or ""
        self.desk = DeskState(number=0)
        self.busy: _Request | None = None  # the action waiting for its reply
        self.busy_since = 0.0  # time.monotonic() when it was sent

    @property
    def work_screen(self) -> WorkScreen | None:
        """The work screen, once logged in (the main screen)."""
        return self.main_screen

    @property
    def timezone(self) -> str:
        return self.desk.timezone

    # -- login and logout -------------------------------------------------------------------

    def new_login_screen(self, message: str, error: bool) -> LoginScreen:
        return LoginScreen(
            self.remembered.server,
            self.remembered.window,
            self.account,
            self.login,
            message=message,
            error=error,
        )

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
        self.connect(form.server, credentials)

    def new_main_screen(self) -> WorkScreen:
        return WorkScreen(self)

    def logout(self, message: str, *, error: bool = False) -> None:
        if self.client is not None:
            self.busy = None
        super().logout(message, error=error)

    def _logout_of(self, client: QueueClient, message: str, *, error: bool = False) -> None:
        """Log out of `client`'s session, unless that session has already ended."""
        if client is self.client:
            self.logout(message, error=error)

    # -- the session ------------------------------------------------------------------------

    def apply_hello(self, hello: HelloReply) -> None:
        self.desk.apply_hello(hello)

    def apply_event(self, client: QueueClient, event: AnyEvent, *, replayed: bool) -> None:
        self.desk.apply_event(event, replayed=replayed)
        if isinstance(event, WindowChanged):
            self._window_changed(client, event, replayed=replayed)
        elif (
            isinstance(event, ServiceFinished)
            and event.chain_ended
            and event.window == self.desk.number
            and not replayed
        ):
            self.notify(t("done.chain_ended", number=event.ticket.number), timeout=3)

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

    def apply_reply(self, client: QueueClient, request: _Request, reply: Any) -> None:
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

    def redraw(self) -> None:
        if self.work_screen is not None:
            self.work_screen.render_desk()

    refresh_desk = redraw  # the desk's own name for it

    # -- refusals ---------------------------------------------------------------------------

    def asked_at_login(self) -> Asked:
        return Asked(window=self.desk.number)

    def refused(self, request: _Request, error: ErrorReply, *, quiet: bool) -> None:
        if error.code is ErrorCode.QUEUE_EMPTY:  # nobody waits: a warning, not a refusal
            self.notify(t("error.queue_empty"), severity="warning", timeout=3)
            return
        super().refused(request, error, quiet=quiet)

    # -- actions ----------------------------------------------------------------------------

    def sending(self, request: _Request, *, quiet: bool) -> None:
        """Further actions wait (disabled) until this one's reply has come."""
        if not quiet:
            self.busy = request
            self.busy_since = time.monotonic()
            self.redraw()

    def settled(self, request: _Request) -> None:
        if self.busy is request:
            self.busy = None


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
