"""The console's login: server address, account and password (staff_tui.login)."""

from __future__ import annotations

from staff_tui import login
from staff_tui.login import Fields, LoginForm


class LoginScreen(login.LoginScreen[LoginForm]):
    """A supervisor's login: the shared form, nothing more."""

    def form(self, server: str, fields: Fields, password: str) -> LoginForm:
        return LoginForm(server, fields["account"], password)
