"""Login: server address, window number, account and password (the password is never kept)."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.widgets import Button, Input, Label, Static

from window_client.i18n import t


@dataclass(frozen=True)
class LoginForm:
    server: str
    window: int
    account: str
    password: str


class LoginScreen(Screen[None]):
    """The first screen; `app.login(form)` is called when the form is complete."""

    def __init__(self, server: str, window: int | None, *, account: str = "") -> None:
        super().__init__()
        self._server = server
        self._window = window
        self._account = account

    def compose(self) -> ComposeResult:
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

    def show_message(self, message: str, *, error: bool = True) -> None:
        status = self.query_one("#login-message", Static)
        status.update(message)
        status.set_class(error, "-error")

    def set_busy(self, busy: bool) -> None:
        self.query_one("#login", Button).disabled = busy

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
        form = LoginForm(values["server"], window, values["account"], password)
        self.query_one("#password", Input).value = ""
        self.set_busy(True)
        self.show_message(t("login.connecting", url=form.server), error=False)
        app = self.app
        assert isinstance(app, WindowApp)
        app.login(form)
