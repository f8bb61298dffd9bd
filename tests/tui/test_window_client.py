"""The window client against a real server: Pilot drives the real Textual app (SPEC §2, §5)."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, Input, Select, Static

from queue_protocol.client import Backoff
from queue_protocol.messages import (
    IssueTicket,
    Priority,
    Role,
    TicketReply,
    TicketState,
    TicketStatus,
    TicketView,
    WindowState,
)
from queue_server.server import Limits, QueueServer
from queue_server.service import HallService, Principal
from tests.conftest import Connect
from window_client.app import WindowApp, make_app
from window_client.screens.dialogs import (
    CallNumberDialog,
    PauseDialog,
    ReinstateDialog,
    TransferDialog,
)
from window_client.screens.login import LoginScreen
from window_client.screens.work import WorkScreen


async def until(
    pilot: Pilot[None], condition: Callable[[], object], what: str, timeout: float = 5.0
) -> None:
    """Let the app run until `condition()` holds; fail after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


def text(app: WindowApp, selector: str) -> str:
    """The plain text a Static on the current screen shows."""
    return str(app.screen.query_one(selector, Static).content)


async def fill_login(pilot: Pilot[None], window: int, account: str, password: str) -> None:
    """Type into the login form and press the login button."""
    app = pilot.app
    await until(pilot, lambda: isinstance(app.screen, LoginScreen), "the login screen")
    screen = app.screen
    screen.query_one("#window", Input).value = str(window)
    screen.query_one("#account", Input).value = account
    screen.query_one("#password", Input).value = password
    await pilot.click("#login")


async def log_in(pilot: Pilot[None], window: int, account: str | None = None) -> WorkScreen:
    """Log in at `window` as its demo staff member and wait for the work screen."""
    app = pilot.app
    assert isinstance(app, WindowApp)
    await fill_login(pilot, window, account or f"ck{window:02d}", "yichuang")
    await until(pilot, lambda: isinstance(app.screen, WorkScreen) and app.online, "the work screen")
    await until(pilot, lambda: text(app, "#staff-name"), "the work screen drawn")
    assert app.work_screen is not None
    return app.work_screen


# ---------------------------------------------------------------------------------------------


@pytest.fixture
def settings_path(tmp_path: Path) -> Path:
    return tmp_path / "config" / "window-client.json"


@pytest.fixture
def app(url: str, settings_path: Path) -> WindowApp:
    return make_app(server=url, settings_path=settings_path)


async def ticket_state(service: HallService, number: str) -> TicketView:
    """The server's own view of a ticket (read from the database, not the client)."""
    kiosk = Principal(role=Role.KIOSK, key="device:test")
    outcome = await asyncio.to_thread(
        service.execute, kiosk, TicketStatus(id=uuid.uuid4().hex, ticket=number)
    )
    return TicketReply.model_validate_json(outcome.reply).ticket


async def test_login_opens_the_work_screen_and_remembers_server_and_window(
    app: WindowApp, url: str, settings_path: Path
) -> None:
    """A correct login shows the work screen with the staff name; server and window are kept."""
    async with app.run_test(size=(120, 40)) as pilot:
        await log_in(pilot, 11)
        assert "徐丽" in text(app, "#staff-name")
        assert "社会事务11号" in text(app, "#window-name")
        assert app.desk.window_state is WindowState.IDLE
    saved = await asyncio.to_thread(settings_path.read_text, encoding="utf-8")
    assert json.loads(saved) == {"server": url, "window": 11}
    assert "yichuang" not in saved


async def test_full_visit_call_recall_start_finish(
    app: WindowApp, connect: Connect, service: HallService
) -> None:
    """N, R, S, F take a ticket from waiting to done, and the screen follows every step."""
    kiosk = await connect("kiosk")
    await kiosk.request(IssueTicket, category="SW", item="食品经营许可", priority=Priority.GREEN)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await log_in(pilot, 11)
        button = screen.query_one("#act-finish", Button)
        assert button.disabled  # nothing to finish while idle
        await pilot.press("f")
        assert app.busy is None

        await pilot.press("n")
        await until(pilot, lambda: app.desk.current is not None, "the called ticket")
        current = app.desk.current
        assert current is not None and current.number == "C001"
        assert "绿色通道" in text(app, "#ticket-flags")
        assert "食品经营许可" in text(app, "#ticket-details")
        assert app.desk.window_state is WindowState.CALLING

        await until(pilot, lambda: screen.allowed("recall"), "recall enabled")
        await pilot.press("r")
        await until(
            pilot, lambda: app.desk.current and app.desk.current.recall_count == 1, "a recall"
        )
        await until(pilot, lambda: screen.allowed("start"), "start enabled")
        await pilot.press("s")
        await until(pilot, lambda: app.desk.window_state is WindowState.SERVING, "serving")
        assert not screen.query_one("#act-finish", Button).disabled
        assert screen.query_one("#act-call_next", Button).disabled

        await pilot.press("f")
        await until(pilot, lambda: app.desk.window_state is WindowState.IDLE, "idle again")
        assert app.desk.current is None
        assert app.desk.today.served == 1
    assert (await ticket_state(service, "C001")).state is TicketState.DONE


async def test_a_key_pressed_twice_calls_only_one_ticket(
    app: WindowApp, connect: Connect, service: HallService
) -> None:
    """Pressing N twice in a row calls one ticket: the action is disabled while in flight."""
    kiosk = await connect("kiosk")
    for _ in range(2):
        await kiosk.request(IssueTicket, category="SW")
    async with app.run_test(size=(120, 40)) as pilot:
        await log_in(pilot, 11)
        await pilot.press("n", "n")
        await until(pilot, lambda: app.desk.current is not None and app.busy is None, "a call")
        await pilot.pause(0.1)
    assert (await ticket_state(service, "C001")).state is TicketState.CALLED
    assert (await ticket_state(service, "C002")).state is TicketState.WAITING


async def serve_one(pilot: Pilot[None], app: WindowApp) -> WorkScreen:
    """Call the next ticket and start serving it."""
    screen = app.work_screen
    assert screen is not None
    await until(pilot, lambda: screen.allowed("call_next"), "call enabled")
    await pilot.press("n")
    await until(pilot, lambda: screen.allowed("start"), "start enabled")
    await pilot.press("s")
    await until(pilot, lambda: screen.allowed("transfer"), "transfer enabled")
    return screen


async def test_transfer_to_a_category_and_to_a_named_window(
    app: WindowApp, connect: Connect, service: HallService
) -> None:
    """T opens the transfer dialog; a ticket goes to another category, another to window 12."""
    kiosk = await connect("kiosk")
    await kiosk.request(IssueTicket, category="SW")
    await kiosk.request(IssueTicket, category="SW")
    async with app.run_test(size=(120, 40)) as pilot:
        await log_in(pilot, 11)
        await serve_one(pilot, app)
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, TransferDialog), "the transfer dialog")
        dialog = app.screen
        dialog.query_one("#to-category", Select).value = "SB"
        dialog.query_one("#reason", Input).value = "材料属于社保业务"
        await pilot.click("#ok")
        await until(pilot, lambda: app.desk.window_state is WindowState.IDLE, "idle after transfer")

        await serve_one(pilot, app)
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, TransferDialog), "the transfer dialog")
        dialog = app.screen
        await pilot.click("#kind-window")
        dialog.query_one("#to-window", Select).value = 12
        dialog.query_one("#reason", Input).focus()
        await pilot.press(*"need", "enter")
        await until(pilot, lambda: app.desk.window_state is WindowState.IDLE, "idle after transfer")

    first = await ticket_state(service, "C001")
    assert first.category == "SB" and first.state is TicketState.WAITING
    assert first.transfers[-1].reason == "材料属于社保业务"
    second = await ticket_state(service, "C002")
    assert second.target_window == 12 and second.transfers[-1].to_window == 12


async def test_transfer_dialog_insists_on_a_target_and_a_reason(
    app: WindowApp, connect: Connect
) -> None:
    """The transfer dialog refuses to close without a target and a reason; Escape cancels."""
    kiosk = await connect("kiosk")
    await kiosk.request(IssueTicket, category="SW")
    async with app.run_test(size=(120, 40)) as pilot:
        await log_in(pilot, 11)
        await serve_one(pilot, app)
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, TransferDialog), "the transfer dialog")
        await pilot.click("#ok")
        assert "请选择目标类别或窗口" in text(app, ".dialog-problem")
        app.screen.query_one("#to-category", Select).value = "SB"
        app.screen.query_one("#reason", Input).focus()
        await pilot.press("enter")  # Enter in the reason field is OK too
        assert "请填写转移原因" in text(app, ".dialog-problem")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, WorkScreen), "the work screen")
        assert app.desk.window_state is WindowState.SERVING


async def test_no_show_then_reinstate(
    app: WindowApp, connect: Connect, service: HallService
) -> None:
    """X marks the called ticket a no-show; I reinstates it from today's list."""
    kiosk = await connect("kiosk")
    await kiosk.request(IssueTicket, category="SW")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await log_in(pilot, 11)
        assert screen.query_one("#act-reinstate", Button).disabled
        await pilot.press("n")
        await until(pilot, lambda: screen.allowed("no_show"), "no-show enabled")
        await pilot.press("x")
        await until(pilot, lambda: screen.allowed("reinstate"), "reinstate enabled")
        assert app.desk.current is None
        assert app.desk.today.no_shows == 1
        assert (await ticket_state(service, "C001")).state is TicketState.NO_SHOW

        await pilot.press("i")
        await until(pilot, lambda: isinstance(app.screen, ReinstateDialog), "the no-show list")
        await pilot.press("enter")
        await until(pilot, lambda: not app.desk.no_shows(), "the no-show list emptied")
    assert (await ticket_state(service, "C001")).state is TicketState.WAITING


async def test_pause_with_a_reason_and_resume(app: WindowApp, service: HallService) -> None:
    """P asks for a reason and pauses (calling is disabled); U resumes."""
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await log_in(pilot, 11)
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, PauseDialog), "the pause dialog")
        await pilot.press(*"lunch", "enter")
        await until(pilot, lambda: app.desk.window_state is WindowState.PAUSED, "paused")
        assert "lunch" in text(app, "#ticket-state")
        assert screen.query_one("#act-call_next", Button).disabled
        assert not screen.query_one("#act-resume", Button).disabled
        await pilot.press("n")  # disabled: nothing happens
        assert app.busy is None
        await pilot.press("u")
        await until(pilot, lambda: app.desk.window_state is WindowState.IDLE, "resumed")


async def test_call_a_specific_number_and_server_errors_are_readable(
    app: WindowApp, connect: Connect
) -> None:
    """C calls a ticket by number; an unknown number shows the server's message, no traceback."""
    kiosk = await connect("kiosk")
    await kiosk.request(IssueTicket, category="SW")
    await kiosk.request(IssueTicket, category="SW")
    async with app.run_test(size=(120, 40)) as pilot:
        await log_in(pilot, 11)
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, CallNumberDialog), "the number dialog")
        await pilot.press(*"z999", "enter")
        await until(pilot, lambda: app._notifications, "a notification")
        messages = [n.message for n in app._notifications]
        assert any("no ticket 'Z999'" in m for m in messages), messages

        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, CallNumberDialog), "the number dialog")
        await pilot.press(*"c002", "enter")
        await until(pilot, lambda: app.desk.current is not None, "the called ticket")
        assert app.desk.current is not None and app.desk.current.number == "C002"


async def test_close_window_logs_out(app: WindowApp, service: HallService) -> None:
    """Q closes the window on the server and returns to the login screen."""
    async with app.run_test(size=(120, 40)) as pilot:
        await log_in(pilot, 11)
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, LoginScreen), "the login screen")
        await until(pilot, lambda: "已关闭窗口" in text(app, "#login-message"), "the message")
    windows = {w.number: w for w in await asyncio.to_thread(service.list_windows)}
    assert windows[11].state is WindowState.CLOSED


async def test_wrong_password_is_refused_clearly(app: WindowApp) -> None:
    """A wrong password keeps the login screen and says so."""
    async with app.run_test(size=(120, 40)) as pilot:
        await fill_login(pilot, 3, "ck03", "wrong-password")
        await until(pilot, lambda: "账号或密码错误" in text(app, "#login-message"), "refusal")
        assert isinstance(app.screen, LoginScreen)
        assert not app.screen.query_one("#login", Button).disabled


async def test_unknown_window_is_refused_clearly(app: WindowApp) -> None:
    """A window number the hall does not have is named in the refusal."""
    async with app.run_test(size=(120, 40)) as pilot:
        await fill_login(pilot, 99, "ck03", "yichuang")
        await until(pilot, lambda: "窗口 99 不存在" in text(app, "#login-message"), "refusal")


async def test_window_taken_by_another_login(app: WindowApp, connect: Connect) -> None:
    """A window held by another staff member's live login refuses a second one, naming them."""
    await connect("window", window=3, user="ck03")
    async with app.run_test(size=(120, 40)) as pilot:
        await fill_login(pilot, 3, "ck04", "yichuang")
        await until(pilot, lambda: "已被他人登录" in text(app, "#login-message"), "refusal")
        assert "张伟" in text(app, "#login-message")


async def test_unreachable_server_is_reported(settings_path: Path) -> None:
    """A server that does not answer is reported at once, in plain words."""
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = make_app(server=f"ws://127.0.0.1:{port}", settings_path=settings_path, language="en")
    async with app.run_test(size=(120, 40)) as pilot:
        await fill_login(pilot, 3, "ck03", "yichuang")
        await until(pilot, lambda: "Cannot reach the server" in text(app, "#login-message"), "x")


async def test_server_restart_during_a_visit_keeps_the_ticket(
    service: HallService, connect: Connect, settings_path: Path
) -> None:
    """The server stops mid-visit: the screen says so, disables actions, then resumes exactly."""
    limits = Limits(rate=10_000, burst=10_000)
    server = QueueServer(service, host="127.0.0.1", port=0, limits=limits, poll_interval=0.05)
    port = await server.start()
    app = make_app(
        server=f"ws://127.0.0.1:{port}", settings_path=settings_path, backoff=Backoff(first=0.1)
    )
    kiosk = await connect("kiosk")
    await kiosk.request(IssueTicket, category="SW")
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await serve_one(pilot, await log_in_and_return(pilot))
            before = app.desk.current
            assert before is not None and before.state is TicketState.SERVING

            await server.stop()
            await until(pilot, lambda: not app.online, "the offline notice")
            banner = screen.query_one("#offline-banner", Static)
            assert banner.display and "正在重连" in str(banner.content)
            assert screen.query_one("#act-finish", Button).disabled
            await pilot.press("f")  # disabled while offline: not sent now, not sent later
            assert app.busy is None

            server = QueueServer(
                service, host="127.0.0.1", port=port, limits=limits, poll_interval=0.05
            )
            await server.start()
            await until(pilot, lambda: app.online, "the reconnection", timeout=10)
            assert not screen.query_one("#offline-banner", Static).display
            after = app.desk.current
            assert after is not None
            assert (after.id, after.state, after.started_at) == (
                before.id,
                TicketState.SERVING,
                before.started_at,
            )
            assert app.desk.window_state is WindowState.SERVING
            assert not screen.query_one("#act-finish", Button).disabled
            await pilot.press("f")
            await until(pilot, lambda: app.desk.window_state is WindowState.IDLE, "finished")
    finally:
        await server.stop()
    done = await ticket_state(service, "C001")
    assert done.state is TicketState.DONE and len(done.call_times) == 1


async def log_in_and_return(pilot: Pilot[None]) -> WindowApp:
    app = pilot.app
    assert isinstance(app, WindowApp)
    await log_in(pilot, 11)
    return app


async def test_english_with_lang_en(url: str, settings_path: Path) -> None:
    """--lang en shows the login and work screens in English."""
    app = make_app(server=url, settings_path=settings_path, language="en")
    async with app.run_test(size=(120, 40)) as pilot:
        assert "Window login" in text(app, "#login-heading")
        screen = await log_in(pilot, 1)
        assert "Call next [N]" in str(screen.query_one("#act-call_next", Button).label)
