"""Login: server address, window number, account and password (the password is never kept)."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Center, Vertical
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Button, Input, Label, Static

from staff_tui.address import server_address
from window_client.i18n import t


@dataclass(frozen=True)
class LoginForm:
    server: str
    window: int
    account: str
    password: str


class LoginScreen(Screen[None]):
    """The first screen; `app.login(form)` is called when the form is complete."""

    SHORT = 30  # rows: below this the form drops its spacing to fit (e.g. 80x24)

    def __init__(
        self,
        server: str,
        window: int | None,
        *,
        account: str = "",
        message: str = "",
        error: bool = True,
    ) -> None:
        super().__init__()
        self._server = server
        self._window = window
        self._account = account
        self._message = (message, error)  # shown once the form exists

    def compose(self) -> ComposeResult:
        # Set before the first layout (a breakpoint class would come with the first resize
        # and move the button under a click already aimed at it).
        self._fit(self.app.size.height)
        with Center(), Vertical(id="login-box"):
            yield Static(t("app.title"), id="login-title")
            yield Static(t("login.heading"), id="login-heading")
            yield Label(t("login.server"))
            yield Input(self._server, id="server")
            yield Label(t("login.window"))
            yield Input(str(self._window) if self._window else "", id="window", type="integer")
            yield Label(t("login.account"))
            yield Input(self._account, id="account")
            yield Label(t("login.password"))
            yield Input(id="password", password=True)
            yield Button(t("login.submit"), id="login", variant="primary")
            yield Static(id="login-message")

    def on_mount(self) -> None:
        first_empty = next(
            (i for i in self.query(Input) if not i.value), self.query_one("#password", Input)
        )
        first_empty.focus()
        message, error = self._message
        if message:
            self.show_message(message, error=error)

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size.height)

    def _fit(self, height: int) -> None:
        self.set_class(height < self.SHORT, "-short")

    def show_message(self, message: str, *, error: bool = True) -> None:
        self._message = (message, error)
        try:
            status = self.query_one("#login-message", Static)
        except NoMatches:  # not composed yet (on_mount shows it) or already torn down
            return
        status.update(Text(message))  # plain text: an address may hold brackets
        status.set_class(error, "-error")

    def set_busy(self, busy: bool) -> None:
        try:
            self.query_one("#login", Button).disabled = busy
        except NoMatches:
            return

    @on(Input.Submitted)
    def _next_field(self, event: Input.Submitted) -> None:
        inputs = list(self.query(Input))
        index = inputs.index(event.input)
        empty_later = [i for i in inputs[index + 1 :] if not i.value]
        if empty_later:
            empty_later[0].focus()
        else:
            self._submit()

    @on(Button.Pressed, "#login")
    def _submit(self) -> None:
        from window_client.app import WindowApp  # the app imports this module

        values = {i.id: i.value.strip() for i in self.query(Input) if i.id}
        password = self.query_one("#password", Input).value
        if not all(values.get(k) for k in ("server", "window", "account")) or not password:
            self.show_message(t("login.need_all"))
            return
        try:
            window = int(values["window"])
        except ValueError:
            window = 0
        if not 1 <= window <= 9999:
            self.show_message(t("login.bad_window"))
            return
        server = server_address(values["server"])
        if server is None:
            self.show_message(t("login.bad_address", url=values["server"]))
            self.query_one("#server", Input).focus()
            return
        form = LoginForm(server, window, values["account"], password)
        self.query_one("#password", Input).value = ""
        self.set_busy(True)
        self.show_message(t("login.connecting", url=form.server), error=False)
        app = self.app
        assert isinstance(app, WindowApp)
        app.login(form)
