"""The window client at a server of several halls (a district): it logs in at the hall its
--hall names, remembers it, and says in the staff member's words when a hall must be named."""

from __future__ import annotations

import json
from pathlib import Path

from queue_protocol.messages import WindowState
from queue_server.server import QueueServer
from tests.integration.test_district import halls, server  # noqa: F401  (two halls, one server)
from tests.tui.test_window_client import fill_login, log_in, on_screen, text, until
from window_client.app import make_app
from window_client.screens.login import LoginScreen


async def test_the_window_client_logs_in_at_its_hall(
    url: str,
    server: QueueServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    settings = tmp_path / "window-client.json"
    app = make_app(server=url, settings_path=settings, hall="xinhe")
    async with app.run_test(size=(120, 40)) as pilot:
        await log_in(pilot, 11)
        xinhe = {w.number: w for w in server.halls["xinhe"].service.list_windows()}
        donghu = {w.number: w for w in server.halls["donghu"].service.list_windows()}
        assert xinhe[11].state is WindowState.IDLE and xinhe[11].staff == "ck11"
        assert donghu[11].state is WindowState.CLOSED
    assert json.loads(settings.read_text(encoding="utf-8"))["hall"] == "xinhe"
    again = make_app(server=url, settings_path=settings)  # the next start remembers it
    assert again.remembered.hall == "xinhe"


async def test_a_client_not_told_its_hall_says_which_halls_there_are(
    url: str,
    server: QueueServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    app = make_app(server=url, settings_path=tmp_path / "window-client.json")
    async with app.run_test(size=(120, 40)) as pilot:
        await fill_login(pilot, 11, "ck11", "yichuang")
        await until(pilot, lambda: "多个大厅" in text(app, "#login-message"), "the refusal")
        await on_screen(pilot, LoginScreen, "the login screen")
        assert "donghu、xinhe" in text(app, "#login-message")
        assert "--hall" in text(app, "#login-message")
