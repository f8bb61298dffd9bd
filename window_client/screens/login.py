"""The window login: server address, window number, account and password (staff_tui.login)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual import events
from textual.app import ComposeResult
from textual.widgets import Input, Label

from staff_tui import login
from staff_tui.login import Fields
from window_client.i18n import t


@dataclass(frozen=True)
class LoginForm(login.LoginForm):
    window: int


class LoginScreen(login.LoginScreen[LoginForm]):
    """The shared form with the window number after the server address."""

    SHORT = 30  # rows: below this the form drops its spacing to fit (e.g. 80x24)

    def __init__(
        self,
        server: str,
        window: int | None,
        account: str,
        submit: Callable[[LoginForm], None],
        *,
        message: str = "",
        error: bool = True,
    ) -> None:
        super().__init__(server, account, submit, message=message, error=error)
        self._window = window

    def compose(self) -> ComposeResult:
        # Set before the first layout (a breakpoint class would come with the first resize
        # and move the button under a click already aimed at it).
        self._fit(self.app.size.height)
        yield from super().compose()

    def more_fields(self) -> ComposeResult:
        yield Label(t("login.window"))
        yield Input(str(self._window) if self._window else "", id="window", type="integer")

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size.height)

    def _fit(self, height: int) -> None:
        self.set_class(height < self.SHORT, "-short")

    def problem(self, fields: Fields) -> str | None:
        return None if 1 <= _window_number(fields) <= 9999 else t("login.bad_window")

    def form(self, server: str, fields: Fields, password: str) -> LoginForm:
        return LoginForm(server, fields["account"], password, _window_number(fields))


def _window_number(fields: Fields) -> int:
    try:
        return int(fields["window"])
    except ValueError:
        return 0
