"""What a staff program's app is (queue-window, queue-admin): the login, the one long-lived
connection and the requests sent over it.

`StaffApp` shows the login screen; a complete form starts the connection worker
(staff_tui.connection), whose messages it handles: the first hello opens the program's main
screen, a lost connection is said at once and its coming back too (the client reconnects
and resumes by itself), a refused login is said on the login screen and a refused re-login
ends the session back there. Requests are sent each in a worker of their own that waits for
the reply as long as the session lasts; a refusal is said in the program's words, from the
reply's code and fields.

Each program gives its words (`words`), its screens, what it keeps of the hello, the events
and the replies, and how it draws them (`redraw`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.message_pump import MessagePump
from textual.screen import Screen

from queue_protocol.client import Backoff, Credentials, QueueClient, ServerError
from queue_protocol.errors import ErrorCode
from queue_protocol.messages import (
    AnyEvent,
    ConfigChanged,
    ErrorReply,
    GetSnapshot,
    HelloReply,
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
from staff_tui.i18n import Language, Translate, set_language
from staff_tui.refusals import Asked
from staff_tui.settings import RememberedLogin

if TYPE_CHECKING:
    from staff_tui.login import LoginScreen

Clock = Callable[[], datetime]
REQUEST_WAIT = 10.0  # seconds per wait for a reply; the wait repeats while the app runs

MainScreen = TypeVar("MainScreen", bound=Screen[Any])


def utc_now() -> datetime:
    return datetime.now(UTC)


class StaffApp(App[None], Generic[MainScreen]):
    """A staff program: its login screen until a hello succeeds, then its main screen."""

    TITLE = "一窗"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "quit", show=False, priority=True)
    ]
    # Textual's command palette and its Ctrl+C hint speak English only.
    ENABLE_COMMAND_PALETTE = False

    words: ClassVar[Translate]  # the program's words (its i18n.t)
    remembered: RememberedLogin

    def __init__(
        self,
        remembered: RememberedLogin,
        settings_path: Path,
        *,
        language: Language,
        clock: Clock,
        backoff: Backoff | None,
        server: str | None,
        hall: str | None,
    ) -> None:
        """`remembered` was read from `settings_path`; `server` and `hall` (given on the
        command line) take the place of what it holds."""
        set_language(language)
        super().__init__()
        self.title = self.words("app.title")
        self.clock = clock
        self.settings_path = settings_path
        self.remembered = remembered
        if server:
            remembered.server = server
        if hall:
            remembered.hall = hall
        self.backoff = backoff
        self.client: QueueClient | None = None
        self.online = False
        self.retry_in = 0.0
        self.main_screen: MainScreen | None = None
        self.login_screen: LoginScreen[Any] | None = None

    def action_help_quit(self) -> None:
        """Ctrl+C: say, in the user's language, that Ctrl+Q quits."""
        self.notify(self.words("help.quit"), title=self.words("help.quit_title"))

    def on_mount(self) -> None:
        self.show_login()

    # -- what each program gives ------------------------------------------------------------

    def new_login_screen(self, message: str, error: bool) -> LoginScreen[Any]:
        """The login screen, its form filled in from memory, saying `message`."""
        raise NotImplementedError

    def new_main_screen(self) -> MainScreen:
        """The screen the first hello opens."""
        raise NotImplementedError

    def apply_hello(self, hello: HelloReply) -> None:
        """Take in a hello's reply (its snapshot): on logging in and on each reconnect."""
        raise NotImplementedError

    def apply_event(self, client: QueueClient, event: AnyEvent, *, replayed: bool) -> None:
        """Take in one event of `client`'s session (`replayed`: sent again after a reconnect,
        already in the snapshot that came before it)."""
        raise NotImplementedError

    def apply_reply(self, client: QueueClient, request: _Request, reply: Any) -> None:
        """Take in the reply to `request`, carried out in `client`'s session."""
        raise NotImplementedError

    def redraw(self) -> None:
        """Show the state as the app knows it now."""
        raise NotImplementedError

    @property
    def timezone(self) -> str:
        """The hall's timezone, for the times in a refusal (e.g. a lock's end)."""
        raise NotImplementedError

    # -- login and logout -------------------------------------------------------------------

    def show_login(self, message: str = "", *, error: bool = True) -> None:
        self.login_screen = self.new_login_screen(message, error)
        if self.main_screen is not None:
            self.main_screen = None
            # What is open over the main screen (dialogs, the console's audit screen) goes
            # with it: the login replaces them all.
            while len(self.screen_stack) > 2:
                self.pop_screen()
            self.switch_screen(self.login_screen)
        else:
            self.push_screen(self.login_screen)

    def connect(self, server: str, credentials: Credentials) -> None:
        """Start the connection; the outcome arrives as messages."""
        self.client = QueueClient(server, credentials, backoff=self.backoff)
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
        self.show_login(message, error=error)

    # -- connection messages ----------------------------------------------------------------

    def _current(self, message: ClientMessage) -> bool:
        """Whether `message` comes from the session going on now (not from one let go)."""
        return message.client is self.client

    def on_connection_up(self, message: ConnectionUp) -> None:
        if not self._current(message):
            return
        self.apply_hello(message.hello)
        self.online = True
        if self.main_screen is None:
            self.main_screen = self.new_main_screen()
            self.switch_screen(self.main_screen)
            self.login_screen = None
        elif not message.first:
            self.notify(self.words("conn.back"), timeout=2)
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
        self.apply_event(message.client, event, replayed=message.replayed)
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
        detail = self.describe_refusal(message.refusal)
        self.logout(self.words("login.stopped", detail=detail), error=True)

    # -- refusals ---------------------------------------------------------------------------

    def describe_refusal(self, refusal: Refusal) -> str:
        """Why the hello was refused, from the error reply's code and fields."""
        if refusal.error is None:
            return self.words("login.unreachable", url=self.remembered.server)
        return self.describe_error(refusal.error, self.asked_at_login())

    def asked_at_login(self) -> Asked | None:
        """What the hello asked for, as a refusal of it may need to name it."""
        return None

    def describe_error(self, error: ErrorReply, asked: Asked | None = None) -> str:
        return refusals.describe(error, self.words, asked=asked, timezone=self.timezone)

    def describe_refused(self, request: _Request, error: ErrorReply) -> str:
        """Why the server refused `request`, from the error reply's code and fields."""
        return self.describe_error(error, Asked.of(request))

    def refused(self, request: _Request, error: ErrorReply, *, quiet: bool) -> None:
        """Say why `request` was refused (unless `quiet`); a refusal from the state means
        this program's picture was behind the server's (e.g. someone else acted): ask for
        the whole of it again."""
        if not quiet:
            text = self.describe_refused(request, error)
            self.notify(text, title=self.words("error.title"), severity="error", timeout=6)
        if error.code is ErrorCode.INVALID_STATE:
            self.send(GetSnapshot(id=self.new_request_id()), quiet=True)

    # -- sending ----------------------------------------------------------------------------

    @staticmethod
    def new_request_id() -> str:
        return uuid.uuid4().hex

    def send(
        self,
        request: _Request,
        *,
        quiet: bool = False,
        then: Callable[[Any], None] | None = None,
    ) -> None:
        """Send one request (`quiet`: nothing said if it fails); `then` is given its reply."""
        if self.client is None:
            return
        self.sending(request, quiet=quiet)
        self.run_worker(self._send(self.client, request, quiet, then), group="requests")

    def sending(self, request: _Request, *, quiet: bool) -> None:
        """`request` is about to be sent."""

    def settled(self, request: _Request) -> None:
        """`request` has had its answer (or its session has ended)."""

    async def _send(
        self,
        client: QueueClient,
        request: _Request,
        quiet: bool,
        then: Callable[[Any], None] | None,
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
            if client is self.client:  # a session already ended has nothing more to say
                self.refused(request, exc.reply, quiet=quiet)
        except Exception as exc:  # never a traceback on the staff member's screen
            self.log.error(f"{type(request).__name__} failed: {exc!r}")
            if not quiet and client is self.client:
                detail = type(exc).__name__
                self.notify(self.words("error.unexpected", detail=detail), severity="error")
        else:
            if client is self.client:
                self.apply_reply(client, request, reply)
                if then is not None:
                    then(reply)
        finally:
            self.settled(request)
            self.redraw()


def words_of(node: MessagePump) -> Translate:
    """The words of the staff program that `node` (a screen, a widget) is part of."""
    app = node.app
    assert isinstance(app, StaffApp), f"{type(app).__name__} is not a staff program"
    return app.words
