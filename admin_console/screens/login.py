"""Login: server address, account and password (the password is never kept)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Center, Vertical
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Button, Input, Label, Static

from admin_console.i18n import t
from staff_tui.address import server_address


@dataclass(frozen=True)
class LoginForm:
    server: str
    account: str
    password: str


class LoginScreen(Screen[None]):
    """The first screen; `submit(form)` is called when the form is complete."""

    def __init__(
        self,
        server: str,
        account: str,
        submit: Callable[[LoginForm], None],
        *,
        message: str = "",
        error: bool = True,
    ) -> None:
        super().__init__()
        self._server = server
        self._account = account
        self._submit_form = submit
        self._message = (message, error)

    def compose(self) -> ComposeResult:
        with Center(), Vertical(id="login-box"):
            yield Static(t("app.title"), id="login-title")
            yield Static(t("login.heading"), id="login-heading")
            yield Label(t("login.server"))
            yield Input(self._server, id="server")
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

    def show_message(self, message: str, *, error: bool = True) -> None:
        self._message = (message, error)
        try:
            status = self.query_one("#login-message", Static)
        except NoMatches:
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
        empty_later = [i for i in inputs[inputs.index(event.input) + 1 :] if not i.value]
        if empty_later:
            empty_later[0].focus()
        else:
            self._submit()

    @on(Button.Pressed, "#login")
    def _submit(self) -> None:
        server_text = self.query_one("#server", Input).value.strip()
        account = self.query_one("#account", Input).value.strip()
        password = self.query_one("#password", Input).value
        if not server_text or not account or not password:
            self.show_message(t("login.need_all"))
            return
        server = server_address(server_text)
        if server is None:
            self.show_message(t("login.bad_address", url=server_text))
            self.query_one("#server", Input).focus()
            return
        self.query_one("#password", Input).value = ""
        self.set_busy(True)
        self.show_message(t("login.connecting", url=server), error=False)
        self._submit_form(LoginForm(server, account, password))
