"""A staff program's login screen: server address, account and password (the password is
never kept), and what else the program asks for (the window client: its window number).

The form is checked before anything is sent (every field filled in, the program's own
check, a server address that can be one), then handed to the program's `submit`; the
outcome of the login comes back as `show_message` and `set_busy(False)`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Center, Vertical
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Button, Input, Label, Static

from staff_tui.address import server_address
from staff_tui.app import words_of


@dataclass(frozen=True)
class LoginForm:
    server: str
    account: str
    password: str


Form = TypeVar("Form", bound=LoginForm)
Fields = dict[str, str]  # each input's stripped value by its id, the password's aside


class LoginScreen(Screen[None], Generic[Form]):
    """The first screen; `submit(form)` is called when the form is complete."""

    def __init__(
        self,
        server: str,
        account: str,
        submit: Callable[[Form], None],
        *,
        message: str = "",
        error: bool = True,
    ) -> None:
        super().__init__()
        self._server = server
        self._account = account
        self._submit_form = submit
        self._message = (message, error)  # shown once the form exists

    # -- what each program gives ------------------------------------------------------------

    def more_fields(self) -> ComposeResult:
        """The program's own fields, between the server address and the account."""
        yield from ()

    def problem(self, fields: Fields) -> str | None:
        """What is wrong with the program's own fields, all filled in; None if nothing."""
        return None

    def form(self, server: str, fields: Fields, password: str) -> Form:
        """The form of a login to `server`, its fields checked."""
        raise NotImplementedError

    # -- the form ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        t = words_of(self)
        with Center(), Vertical(id="login-box"):
            yield Static(t("app.title"), id="login-title")
            yield Static(t("login.heading"), id="login-heading")
            yield Label(t("login.server"))
            yield Input(self._server, id="server")
            yield from self.more_fields()
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
        empty_later = [i for i in inputs[inputs.index(event.input) + 1 :] if not i.value]
        if empty_later:
            empty_later[0].focus()
        else:
            self._submit()

    @on(Button.Pressed, "#login")
    def _submit(self) -> None:
        t = words_of(self)
        fields = {i.id: i.value.strip() for i in self.query(Input) if i.id and i.id != "password"}
        password = self.query_one("#password", Input).value
        if not all(fields.values()) or not password:
            self.show_message(t("login.need_all"))
            return
        problem = self.problem(fields)
        if problem:
            self.show_message(problem)
            return
        server = server_address(fields["server"])
        if server is None:
            self.show_message(t("login.bad_address", url=fields["server"]))
            self.query_one("#server", Input).focus()
            return
        form = self.form(server, fields, password)
        self.query_one("#password", Input).value = ""
        self.set_busy(True)
        self.show_message(t("login.connecting", url=server), error=False)
        self._submit_form(form)
