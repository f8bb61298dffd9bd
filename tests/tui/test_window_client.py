"""The window client against a real server: Pilot drives the real Textual app (SPEC §2, §5)."""

from __future__ import annotations

import asyncio
import copy
import json
import socket
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len
from textual.css.query import NoMatches
from textual.pilot import Pilot
from textual.widgets import Button, Input, Label, OptionList, Select, Static

from queue_protocol.client import Backoff
from queue_protocol.errors import ErrorCode
from queue_protocol.messages import (
    CancelTicket,
    ErrorReply,
    FinishService,
    IssueTicket,
    Priority,
    Role,
    Snapshot,
    TicketNoShow,
    TicketReinstated,
    TicketReply,
    TicketState,
    TicketStatus,
    TicketView,
    WindowStat,
    WindowState,
)
from queue_server.server import Limits, QueueServer
from queue_server.service import HallService, Principal
from staff_tui import refusals
from staff_tui.dialogs import ConfirmDialog
from staff_tui.refusals import Asked
from tests.conftest import Clock, Connect
from tests.tui.screens import shows
from window_client import i18n
from window_client.app import WindowApp, make_app
from window_client.i18n import Language
from window_client.screens.dialogs import (
    CallNumberDialog,
    CancelNumberDialog,
    EndChainDialog,
    PauseDialog,
    ReinstateDialog,
    TransferDialog,
)
from window_client.screens.login import LoginScreen
from window_client.screens.work import WorkScreen
from window_client.state import DeskState


def holds(condition: Callable[[], object]) -> bool:
    """`condition()`, where a widget not mounted yet (or already gone) means "not yet"."""
    try:
        return bool(condition())
    except NoMatches:
        return False


async def until(
    pilot: Pilot[None], condition: Callable[[], object], what: str, timeout: float = 5.0
) -> None:
    """Let the app run until `condition()` holds; fail after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not holds(condition):
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


async def on_screen(pilot: Pilot[None], kind: Any, what: str) -> None:
    """Wait until the app shows a screen of `kind`, laid out (tests/tui/screens.py)."""
    await until(pilot, lambda: shows(pilot.app, kind), what)


def text(app: WindowApp, selector: str) -> str:
    """The plain text a Static on the current screen shows."""
    return str(app.screen.query_one(selector, Static).content)


def detail(app: WindowApp, label: str) -> str | None:
    """The value beside `label` in the ticket's details."""
    for line in text(app, "#ticket-details").splitlines():
        name, _, value = line.partition("  ")
        if name.strip() == label:
            return value.strip()
    return None


async def fill_login(pilot: Pilot[None], window: int, account: str, password: str) -> None:
    """Type into the login form and press the login button."""
    app = pilot.app
    await on_screen(pilot, LoginScreen, "the login screen")
    screen = app.screen
    screen.query_one("#window", Input).value = str(window)
    screen.query_one("#account", Input).value = account
    screen.query_one("#password", Input).value = password
    # Pressed, not clicked at its place: a message shown by the last try may still be moving
    # the form on a slow machine, and a click aimed before that would miss.
    screen.query_one("#login", Button).press()
    await pilot.pause()


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
    assert json.loads(saved) == {"server": url, "window": 11, "hall": None}
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
        await on_screen(pilot, TransferDialog, "the transfer dialog")
        dialog = app.screen
        dialog.query_one("#to-category", Select).value = "SB"
        dialog.query_one("#reason", Input).value = "材料属于社保业务"
        await pilot.click("#ok")
        await until(pilot, lambda: app.desk.window_state is WindowState.IDLE, "idle after transfer")

        await serve_one(pilot, app)
        await pilot.press("t")
        await on_screen(pilot, TransferDialog, "the transfer dialog")
        dialog = app.screen
        await pilot.click("#kind-window")
        dialog.query_one("#to-window", Select).value = 12
        shown = dialog.query_one("#to-window SelectCurrent #label", Static)
        await until(pilot, lambda: "12" in str(shown.content), "window 12 chosen")
        assert str(shown.content).endswith("· 离线")  # nobody is logged in at window 12
        dialog.query_one("#reason", Input).focus()
        await pilot.press(*"need", "enter")
        await until(
            pilot,
            lambda: "现在无人办理" in str(dialog.query_one(".dialog-problem", Static).content),
            "the warning that window 12 is not serving",
        )
        assert app.desk.window_state is WindowState.SERVING  # not sent yet
        await pilot.press("enter")  # OK again: transfer anyway
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
        await on_screen(pilot, TransferDialog, "the transfer dialog")
        await pilot.click("#ok")
        assert "请选择目标类别或窗口" in text(app, ".dialog-problem")
        app.screen.query_one("#to-category", Select).value = "SB"
        app.screen.query_one("#reason", Input).focus()
        await pilot.press("enter")  # Enter in the reason field is OK too
        assert "请填写转移原因" in text(app, ".dialog-problem")
        await pilot.press("escape")
        await on_screen(pilot, WorkScreen, "the work screen")
        assert app.desk.window_state is WindowState.SERVING


async def test_no_show_then_reinstate(
    app: WindowApp, connect: Connect, service: HallService
) -> None:
    """X asks, then marks the called ticket a no-show (Cancel, or Enter on the focused
    Cancel, changes nothing); I reinstates it from today's list."""
    kiosk = await connect("kiosk")
    await kiosk.request(IssueTicket, category="SW")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await log_in(pilot, 11)
        assert screen.query_one("#act-reinstate", Button).disabled
        await pilot.press("n")
        await until(pilot, lambda: screen.allowed("no_show"), "no-show enabled")
        await pilot.press("x")
        await on_screen(pilot, ConfirmDialog, "the question")
        assert "C001" in str(app.screen.query_one(".dialog-title", Label).content)
        await pilot.press("enter")  # Cancel has the focus: a stray Enter takes nothing back
        await until(pilot, lambda: app.screen is screen, "back at work")
        assert (await ticket_state(service, "C001")).state is TicketState.CALLED
        await pilot.press("x")
        await on_screen(pilot, ConfirmDialog, "the question again")
        await pilot.click("#ok")
        await until(pilot, lambda: screen.allowed("reinstate"), "reinstate enabled")
        assert app.desk.current is None
        assert app.desk.today.no_shows == 1
        assert (await ticket_state(service, "C001")).state is TicketState.NO_SHOW

        await pilot.press("i")
        await on_screen(pilot, ReinstateDialog, "the no-show list")
        await pilot.press("enter")
        await until(pilot, lambda: not app.desk.no_shows(), "the no-show list emptied")
    assert (await ticket_state(service, "C001")).state is TicketState.WAITING


async def test_recalls_are_counted_and_the_one_that_is_a_no_show_is_asked(
    app: WindowApp, connect: Connect, service: HallService
) -> None:
    """The panel counts recalls against the hall's limit (3), says when one is left, and
    the recall past the limit, which the server turns into a no-show, asks first."""
    kiosk = await connect("kiosk")
    await kiosk.request(IssueTicket, category="SW")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await log_in(pilot, 11)
        assert app.desk.recall_limit == 3
        await pilot.press("n")
        for count in (1, 2, 3):
            await until(pilot, lambda: screen.allowed("recall"), "recall enabled")
            await pilot.press("r")
            await until(
                pilot,
                lambda c=count: app.desk.current and app.desk.current.recall_count == c,
                f"recall {count}",
            )
            if count == 2:
                assert detail(app, "重呼次数") == "2/3（还可重呼1次）"
        await until(pilot, lambda: detail(app, "重呼次数") == "3/3（再呼即过号）", "the warning")
        await until(pilot, lambda: screen.allowed("recall"), "recall enabled")
        await pilot.press("r")
        await on_screen(pilot, ConfirmDialog, "the question")
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen, "back at work")
        assert (await ticket_state(service, "C001")).state is TicketState.CALLED
        await pilot.press("r")
        await on_screen(pilot, ConfirmDialog, "the question again")
        await pilot.click("#ok")
        await until(pilot, lambda: app.desk.today.no_shows == 1, "the no-show")
    assert (await ticket_state(service, "C001")).state is TicketState.NO_SHOW


async def test_pause_with_a_reason_and_resume(app: WindowApp, service: HallService) -> None:
    """P asks for a reason and pauses (calling is disabled); U resumes."""
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await log_in(pilot, 11)
        await pilot.press("p")
        await on_screen(pilot, PauseDialog, "the pause dialog")
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
    """C calls a ticket by number; an unknown number is told in the app's words, no traceback."""
    kiosk = await connect("kiosk")
    await kiosk.request(IssueTicket, category="SW")
    await kiosk.request(IssueTicket, category="SW")
    async with app.run_test(size=(120, 40)) as pilot:
        await log_in(pilot, 11)
        await pilot.press("c")
        await on_screen(pilot, CallNumberDialog, "the number dialog")
        await pilot.press(*"z999", "enter")
        await until(pilot, lambda: app._notifications, "a notification")
        messages = [n.message for n in app._notifications]
        assert "今日没有票号 Z999" in messages, messages
        assert not any("no ticket" in m for m in messages), messages

        await pilot.press("c")
        await on_screen(pilot, CallNumberDialog, "the number dialog")
        await pilot.press(*"c002", "enter")
        await until(pilot, lambda: app.desk.current is not None, "the called ticket")
        assert app.desk.current is not None and app.desk.current.number == "C002"


# -- voiding (cancel_ticket) a waiting ticket ------------------------------------------------


async def hall_seen_by_admin(connect: Connect) -> Snapshot:
    """The server's own picture of the hall now: a second client's (an admin's) hello."""
    admin = await connect("admin")
    assert admin.hello is not None
    snapshot = admin.hello.snapshot
    await admin.close()
    return snapshot


def notices(app: WindowApp) -> list[str]:
    return [n.message for n in app._notifications]


async def void(pilot: Pilot[None], number: str) -> ConfirmDialog:
    """V, the number typed and Enter: the question that comes before anything is sent."""
    app = pilot.app
    await pilot.press("v")
    await on_screen(pilot, CancelNumberDialog, "the number dialog")
    await pilot.press(*number.lower(), "enter")
    await on_screen(pilot, ConfirmDialog, "the question")
    dialog = app.screen
    assert isinstance(dialog, ConfirmDialog)
    return dialog


async def test_void_a_waiting_ticket_by_its_number(
    app: WindowApp, connect: Connect, service: HallService
) -> None:
    """V asks for a number, then asks again naming it; 作废 cancels that ticket on the server
    and the queue shrinks, the other ticket waiting on."""
    kiosk = await connect("kiosk")
    await kiosk.request(IssueTicket, category="SW")
    await kiosk.request(IssueTicket, category="SW")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await log_in(pilot, 11)
        assert "作废 [V]" in str(screen.query_one("#act-cancel_ticket", Button).label)
        await until(pilot, lambda: app.desk.queues["SW"].waiting == 2, "two waiting")
        dialog = await void(pilot, "C002")
        question = str(dialog.query_one(".dialog-title", Label).content)
        assert "作废 C002？" in question and "不能恢复" in question
        assert str(dialog.query_one("#ok", Button).label) == "作废 C002"
        await pilot.click("#ok")
        await until(pilot, lambda: "C002 已作废" in notices(app), "the outcome")
        await until(pilot, lambda: app.desk.queues["SW"].waiting == 1, "the queue shrunk")
        assert app.desk.window_state is WindowState.IDLE
    seen = await hall_seen_by_admin(connect)
    assert {q.category: q.waiting for q in seen.queues}["SW"] == 1
    assert (await ticket_state(service, "C002")).state is TicketState.CANCELLED
    assert (await ticket_state(service, "C001")).state is TicketState.WAITING


async def test_the_ticket_called_here_is_not_voided_but_a_waiting_one_is(
    app: WindowApp, connect: Connect, service: HallService
) -> None:
    """The protocol cancels only waiting tickets: V with the number called here says to use X
    (过号) and sends nothing; a waiting ticket is voided while the call stays as it was."""
    kiosk = await connect("kiosk")
    await kiosk.request(IssueTicket, category="SW")
    await kiosk.request(IssueTicket, category="SW")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await log_in(pilot, 11)
        await pilot.press("n")
        await until(pilot, lambda: screen.allowed("cancel_ticket"), "void enabled while calling")
        await pilot.press("v")
        await on_screen(pilot, CancelNumberDialog, "the number dialog")
        await pilot.press(*"c001", "enter")
        await until(pilot, lambda: "按 X 标记过号" in text(app, ".dialog-problem"), "the hint")
        assert isinstance(app.screen, CancelNumberDialog) and app.busy is None
        number = app.screen.query_one("#number", Input)
        number.value = ""
        await pilot.press(*"c002", "enter")
        await on_screen(pilot, ConfirmDialog, "the question")
        await pilot.click("#ok")
        await until(pilot, lambda: "C002 已作废" in notices(app), "the outcome")
        assert app.desk.window_state is WindowState.CALLING
    assert (await ticket_state(service, "C001")).state is TicketState.CALLED
    assert (await ticket_state(service, "C002")).state is TicketState.CANCELLED
    seen = await hall_seen_by_admin(connect)
    assert {w.number: w for w in seen.windows}[11].state is WindowState.CALLING


async def test_answering_no_to_a_void_changes_nothing(
    app: WindowApp, connect: Connect, service: HallService
) -> None:
    """返回 (focused, so a stray Enter answers it) or Escape at the question sends nothing."""
    kiosk = await connect("kiosk")
    await kiosk.request(IssueTicket, category="SW")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await log_in(pilot, 11)
        dialog = await void(pilot, "C001")
        assert str(dialog.query_one("#cancel", Button).label) == "返回"
        await pilot.press("enter")  # 返回 has the focus
        await until(pilot, lambda: app.screen is screen, "back at work")
        assert app.busy is None
        await void(pilot, "C001")
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen, "back at work again")
        assert app.busy is None and not notices(app)
    assert (await ticket_state(service, "C001")).state is TicketState.WAITING
    seen = await hall_seen_by_admin(connect)
    assert {q.category: q.waiting for q in seen.queues}["SW"] == 1


async def test_refused_voids_are_told_from_their_code(
    app: WindowApp, connect: Connect, service: HallService
) -> None:
    """A ticket already served and a number that does not exist: each refusal in the app's
    own words (from code, state and ticket), never the server's message."""
    kiosk = await connect("kiosk")
    await kiosk.request(IssueTicket, category="SW")
    async with app.run_test(size=(120, 40)) as pilot:
        await log_in(pilot, 11)
        await serve_one(pilot, app)
        await pilot.press("f")
        await until(pilot, lambda: app.desk.window_state is WindowState.IDLE, "finished")
        await void(pilot, "C001")
        await pilot.click("#ok")
        said = "C001 的状态为「已办结」，只能作废等候中的票"
        await until(pilot, lambda: said in notices(app), "the refusal")
        await until(pilot, lambda: app.busy is None, "the reply")
        await void(pilot, "Z999")
        await pilot.click("#ok")
        await until(pilot, lambda: "今日没有票号 Z999" in notices(app), "the refusal")
        assert not any("cannot cancel" in m or "no ticket" in m for m in notices(app))
    assert (await ticket_state(service, "C001")).state is TicketState.DONE


async def test_a_void_the_server_holds_is_shown_waiting(
    app: WindowApp, connect: Connect, server: QueueServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the void waits for the server's commit the top line says so (等待服务器：作废)
    and the actions are disabled, until the reply comes."""
    kiosk = await connect("kiosk")
    await kiosk.request(IssueTicket, category="SW")
    held = asyncio.Event()
    release = asyncio.Event()
    commit = server._commit

    async def slow_commit(staged: Any) -> Any:
        if any(rid and rid.startswith("held-") for rid in staged.rids):
            held.set()
            await release.wait()
        return await commit(staged)

    monkeypatch.setattr(server, "_commit", slow_commit)
    monkeypatch.setattr(app, "new_request_id", lambda: f"held-{uuid.uuid4().hex}")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await log_in(pilot, 11)
        await void(pilot, "C001")
        await pilot.click("#ok")
        await until(pilot, held.is_set, "the server holding the void")
        await until(pilot, lambda: "等待服务器：作废" in text(app, "#conn-status"), "the wait")
        assert screen.query_one("#act-cancel_ticket", Button).disabled
        assert screen.query_one("#act-call_next", Button).disabled
        release.set()
        await until(pilot, lambda: "C001 已作废" in notices(app), "the void's reply")
        await until(pilot, lambda: text(app, "#conn-status") == "● 已连接", "online again")


@pytest.mark.parametrize(
    ("language", "error", "expected"),
    [
        ("zh", ErrorCode.INVALID_STATE, "C001 的状态为「已呼叫」，只能作废等候中的票"),
        ("en", ErrorCode.INVALID_STATE, "C001 is “called”: only a waiting ticket can be voided"),
        ("zh", ErrorCode.NOT_FOUND, "今日没有票号 C001"),
        ("en", ErrorCode.NOT_FOUND, "There is no ticket C001 today"),
        ("zh", ErrorCode.FORBIDDEN, "本窗口无权进行此操作"),  # not "C001 不属于本窗口…"
        ("en", ErrorCode.FORBIDDEN, "This window may not do that"),
    ],
)
def test_void_refusals_say_what_can_be_voided(
    language: Language, error: ErrorCode, expected: str
) -> None:
    """A refused cancel_ticket names the ticket and its state from the reply's fields."""
    fields: dict[str, Any] = {"state": "called", "ticket": "C001"}
    if error is not ErrorCode.INVALID_STATE:
        fields = {"reason": "ticket", "ticket": "C001"} if error is ErrorCode.NOT_FOUND else {}
    asked = Asked.of(CancelTicket(id="w11-1", ticket="C001"))
    i18n.set_language(language)
    try:
        said = refusals.describe(
            refusal(error, **fields), i18n.t, asked=asked, timezone="Asia/Shanghai"
        )
    finally:
        i18n.set_language("zh")
    assert said == expected
    assert CANARY not in said


async def test_close_window_logs_out(app: WindowApp, service: HallService) -> None:
    """Q closes the window on the server and returns to the login screen."""
    async with app.run_test(size=(120, 40)) as pilot:
        await log_in(pilot, 11)
        await pilot.press("q")
        await on_screen(pilot, LoginScreen, "the login screen")
        await until(pilot, lambda: "已关闭窗口" in text(app, "#login-message"), "the message")
        # The window_changed event of its own close (no reason) does not log out a second time.
        await pilot.pause(0.2)
        assert [type(s) for s in app.screen_stack[1:]] == [LoginScreen]
        assert text(app, "#login-message") == "已关闭窗口并退出登录"
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
        assert "Next [N]" in str(screen.query_one("#act-call_next", Button).label)


# -- one-chain visits (一链办理) -----------------------------------------------------------

CHAIN_ITEM = "企业设立登记"  # QY; five steps in the demo hall
CHAIN = ["企业登记", "印章刻制", "申领发票", "银行预约开户", "社保登记"]


async def server_figures(connect: Connect, window: int) -> WindowStat:
    """The server's own "today" figures for `window` (an admin's fresh snapshot)."""
    admin = await connect("admin")
    assert admin.hello is not None
    stats = {s.window: s for s in admin.hello.snapshot.window_stats}
    await admin.close()
    return stats[window]


async def test_one_chain_visit_shows_each_step_and_counts_each_service(
    app: WindowApp, connect: Connect, service: HallService
) -> None:
    """A one-chain ticket shows "step i of n" and its next step at 80x24; each step counts."""
    kiosk = await connect("kiosk")
    await kiosk.request(IssueTicket, category="QY", item=CHAIN_ITEM)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await log_in(pilot, 5)
        for index, step in enumerate(CHAIN, start=1):
            await serve_one(pilot, app)
            assert text(app, "#ticket-chain") == f"一链办理 第{index}/5步：{step}"
            last = index == len(CHAIN)
            assert detail(app, "下一步") == ("最后一步" if last else CHAIN[index])
            # Ending the chain makes sense only while steps remain.
            assert screen.allowed("end_chain") is not last
            assert screen.query_one("#act-end_chain", Button).disabled is last
            await pilot.press("f")
            await until(pilot, lambda: app.desk.window_state is WindowState.IDLE, "finished")
            assert app.desk.today.served == index
        assert not screen.query_one("#ticket-chain", Static).display
    done = await ticket_state(service, "A001")
    assert done.state is TicketState.DONE and done.chain_step == 4
    assert (await server_figures(connect, 5)).served == 5


async def test_end_chain_asks_why_and_ends_the_visit_at_this_step(
    app: WindowApp, connect: Connect, service: HallService
) -> None:
    """E (only for a one-chain ticket) asks a reason, from presets or typed; the visit ends."""
    kiosk = await connect("kiosk")
    await kiosk.request(IssueTicket, category="QY", item="企业变更登记")  # one step only
    await kiosk.request(IssueTicket, category="QY", item=CHAIN_ITEM)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await log_in(pilot, 5)
        await serve_one(pilot, app)
        assert not screen.query_one("#ticket-chain", Static).display
        assert screen.query_one("#act-end_chain", Button).disabled
        await pilot.press("e")  # disabled: no dialog
        assert isinstance(app.screen, WorkScreen) and app.busy is None
        await pilot.press("f")

        await serve_one(pilot, app)
        assert "结束一链 [E]" in str(screen.query_one("#act-end_chain", Button).label)
        await pilot.press("e")
        await on_screen(pilot, EndChainDialog, "the dialog")
        assert "A002" in text(app, ".dialog-heading") and "第1/5步" in text(app, ".dialog-heading")
        await pilot.press("enter")  # no reason yet
        assert "请填写结束原因" in text(app, ".dialog-problem")
        app.screen.query_one("#presets", OptionList).focus()
        await pilot.press("down", "enter")  # the second preset
        assert app.screen.query_one("#reason", Input).value == "群众要求终止"
        await pilot.press("enter")
        await until(pilot, lambda: app.desk.window_state is WindowState.IDLE, "idle")
        await until(
            pilot,
            lambda: "A002 的一链办理已结束" in [n.message for n in app._notifications],
            "the notice",
        )
        assert app.desk.today.served == 2
    ended = await ticket_state(service, "A002")
    assert ended.state is TicketState.DONE and ended.chain_step == 0


async def test_today_counts_every_service_given_here_as_the_server_does(
    app: WindowApp, connect: Connect
) -> None:
    """Today's figure counts a chain step going on elsewhere and an ended chain, not a transfer."""
    kiosk = await connect("kiosk")
    await kiosk.request(IssueTicket, category="QY", item=CHAIN_ITEM)
    await kiosk.request(IssueTicket, category="QY", item=CHAIN_ITEM)
    await kiosk.request(IssueTicket, category="QY", item="企业变更登记")
    async with app.run_test(size=(120, 40)) as pilot:
        await log_in(pilot, 5)
        await serve_one(pilot, app)  # A001, step 1: it goes on to 印章刻制, wherever
        await pilot.press("f")
        await until(pilot, lambda: app.desk.today.served == 1, "the first service counted")

        await serve_one(pilot, app)  # A002: its chain ends here
        await pilot.press("e")
        await on_screen(pilot, EndChainDialog, "the dialog")
        await pilot.press(*"cailiao", "enter")
        await until(pilot, lambda: app.desk.today.served == 2, "the ended chain counted")

        await serve_one(pilot, app)  # A003: passed on to another category, not served here
        await pilot.press("t")
        await on_screen(pilot, TransferDialog, "the transfer dialog")
        app.screen.query_one("#to-category", Select).value = "SW"
        app.screen.query_one("#reason", Input).value = "属社会事务"
        await pilot.click("#ok")
        await until(pilot, lambda: app.desk.window_state is WindowState.IDLE, "transferred")
        assert app.desk.today.served == 2
        assert app.desk.today.timed == 2
        figures = await server_figures(connect, 5)
        assert figures.served == app.desk.today.served
        assert figures.mean_service_minutes is not None
        assert "已办结 2" in text(app, "#today-figures")


async def test_a_reinstated_no_show_leaves_the_figures_as_the_server_counts_them(
    app: WindowApp, connect: Connect
) -> None:
    """过号 counts no-shows still standing, as the server's window figures do: a reinstated
    one drops out at once, not only at the next reconnect (it jumped 1 → 0 there)."""
    kiosk = await connect("kiosk")
    await kiosk.request(IssueTicket, category="SW")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await log_in(pilot, 11)
        await pilot.press("n")
        await until(pilot, lambda: screen.allowed("no_show"), "no-show enabled")
        await pilot.press("x")
        await on_screen(pilot, ConfirmDialog, "the question")
        await pilot.click("#ok")
        await until(pilot, lambda: app.desk.today.no_shows == 1, "the no-show counted")
        await pilot.press("i")
        await on_screen(pilot, ReinstateDialog, "the no-show list")
        await pilot.press("enter")
        await until(pilot, lambda: app.desk.today.no_shows == 0, "the reinstatement counted")
        assert (await server_figures(connect, 11)).no_shows == 0
        assert "过号 0" in text(app, "#today-figures")


# -- the hall closes the window --------------------------------------------------------------


@pytest.mark.hall_clock
async def test_day_close_out_returns_to_login_saying_so(app: WindowApp, clock: Clock) -> None:
    """The day's close-out closes the window, an open dialog too: login, "今日已结束办理"."""
    async with app.run_test(size=(120, 40)) as pilot:
        await log_in(pilot, 11)
        await pilot.press("p")
        await on_screen(pilot, PauseDialog, "the pause dialog")
        clock.advance(hours=14)  # local midnight: this round-the-clock hall closes its day
        await until(pilot, lambda: isinstance(app.screen, LoginScreen), "the login", timeout=10)
        await until(
            pilot, lambda: text(app, "#login-message") == "今日已结束办理，窗口已关闭", "why"
        )
        assert [type(s) for s in app.screen_stack[1:]] == [LoginScreen]
        assert app.client is None and app.work_screen is None


async def test_supervisor_closing_the_window_logs_out_in_english(
    url: str, settings_path: Path, service: HallService
) -> None:
    """`queue-server window close 11` while logged in: back to login, saying who closed it."""
    app = make_app(server=url, settings_path=settings_path, language="en")
    async with app.run_test(size=(120, 40)) as pilot:
        await log_in(pilot, 11)
        await asyncio.to_thread(service.close_window_now, 11, requeue=False)
        await until(pilot, lambda: isinstance(app.screen, LoginScreen), "the login", timeout=10)
        await until(
            pilot,
            lambda: text(app, "#login-message") == "A supervisor has closed this window",
            "why",
        )


async def test_window_closed_while_away_carries_on_after_reconnecting_and_says_so(
    service: HallService, connect: Connect, settings_path: Path
) -> None:
    """Closed as offline while the desk was away: the reconnected desk goes on, told why."""
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
            screen = await log_in(pilot, 11)
            await pilot.press("n")
            await until(pilot, lambda: screen.allowed("start"), "the call")
            await server.stop()
            await until(pilot, lambda: not app.online, "the offline notice")
            # What a running server does once the window has been gone window_offline_minutes.
            await asyncio.to_thread(service.close_offline_window, 11)
            server = QueueServer(
                service, host="127.0.0.1", port=port, limits=limits, poll_interval=0.05
            )
            await server.start()
            await until(pilot, lambda: app.online, "the reconnection", timeout=10)
            await until(
                pilot,
                lambda: (
                    "连接中断期间窗口曾被关闭（离线过久），重新连接后已重新打开"
                    in [n.message for n in app._notifications]
                ),
                "the notice",
            )
            assert app.screen is screen and app.desk.window_state is WindowState.IDLE
            assert app.desk.current is None
    finally:
        await server.stop()
    assert (await ticket_state(service, "C001")).state is TicketState.WAITING


# -- refusals, in words made from the code and fields --------------------------------------


async def test_account_at_another_window_is_refused_naming_it(
    app: WindowApp, connect: Connect
) -> None:
    """An account working at window 12 is refused at window 11, naming window 12."""
    await connect("window", window=12, user="ck11")
    async with app.run_test(size=(120, 40)) as pilot:
        await fill_login(pilot, 11, "ck11", "yichuang")
        await until(
            pilot,
            lambda: text(app, "#login-message") == "该账号已在12号窗口登录，请先在该窗口关窗退出",
            "refusal",
        )


@pytest.mark.hall_clock
async def test_locked_account_says_until_when_in_hall_time(
    app: WindowApp, clocked_service: HallService, hall_config: dict[str, Any]
) -> None:
    """After the hall's lock_after_failures wrong passwords the login says until when (HH:MM)."""
    config = copy.deepcopy(hall_config)
    config["hall"]["lock_after_failures"] = 2
    await asyncio.to_thread(clocked_service.import_config, config)
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(2):
            await fill_login(pilot, 11, "ck11", "wrong-password")
            await until(pilot, lambda: text(app, "#login-message") == "账号或密码错误", "refusal")
        await fill_login(pilot, 11, "ck11", "yichuang")  # right, but too late
        await until(  # the test clock stands at 10:00 in Shanghai; the lock lasts 15 minutes
            pilot,
            lambda: text(app, "#login-message") == "密码错误次数过多，账号已锁定至 10:15",
            "the lock",
        )


async def test_bad_server_address_is_refused_before_connecting(settings_path: Path) -> None:
    """An address that is no ws:// or wss:// address is refused by the form; nothing connects."""
    app = make_app(server="http://127.0.0.1:8765", settings_path=settings_path)
    async with app.run_test(size=(120, 40)) as pilot:
        for address in ("http://127.0.0.1:8765", "127.0.0.1:99999"):
            app.screen.query_one("#server", Input).value = address
            await fill_login(pilot, 3, "ck03", "yichuang")
            said = f"服务器地址无效：{address}"
            await until(pilot, lambda: said in text(app, "#login-message"), said)  # noqa: B023
            assert app.client is None


async def test_refused_actions_are_told_from_their_code(app: WindowApp, connect: Connect) -> None:
    """A ticket for other windows and an action the window's state forbids get their own words."""
    kiosk = await connect("kiosk")
    await kiosk.request(IssueTicket, category="QY")
    async with app.run_test(size=(120, 40)) as pilot:
        await log_in(pilot, 11)  # serves SW and SB, not QY
        await pilot.press("c")
        await on_screen(pilot, CallNumberDialog, "the number dialog")
        await pilot.press(*"a001", "enter")
        await until(
            pilot,
            lambda: "A001 不属于本窗口办理的业务" in [n.message for n in app._notifications],
            "the refusal",
        )
        await until(pilot, lambda: app.busy is None, "the reply")
        app.send(FinishService(id=app.new_request_id()))  # as if the desk were behind: idle
        await until(
            pilot,
            lambda: "当前状态为「空闲」，不能进行此操作" in [n.message for n in app._notifications],
            "the refusal",
        )


CANARY = "THE SERVER'S LOG TEXT"
AT_1015 = datetime(2026, 11, 25, 2, 15, tzinfo=UTC)  # 10:15 in Shanghai


def refusal(code: ErrorCode, **fields: Any) -> ErrorReply:
    return ErrorReply(code=code, message=CANARY, **fields)


@pytest.mark.parametrize(
    ("language", "error", "expected"),
    [
        ("zh", refusal(ErrorCode.AUTH_FAILED), "账号或密码错误"),
        (
            "zh",
            refusal(ErrorCode.AUTH_FAILED, reason="account_disabled"),
            "该账号已停用，请联系管理员",
        ),
        ("zh", refusal(ErrorCode.ACCOUNT_LOCKED, at=AT_1015), "账号已锁定至 10:15"),
        ("en", refusal(ErrorCode.ACCOUNT_LOCKED, at=AT_1015), "locked until 10:15"),
        (
            "zh",
            refusal(ErrorCode.RATE_LIMITED, reason="login_backoff", retry_after_seconds=4.2),
            "登录失败次数过多，请 5 秒后再试",
        ),
        ("en", refusal(ErrorCode.RATE_LIMITED, retry_after_seconds=3), "try again in 3 s"),
        ("zh", refusal(ErrorCode.RATE_LIMITED), "操作过于频繁"),
        (
            "zh",
            refusal(ErrorCode.STAFF_ELSEWHERE, reason="connected", window=12),
            "该账号已在12号窗口登录",
        ),
        (
            "en",
            refusal(ErrorCode.STAFF_ELSEWHERE, reason="holds_ticket", window=12),
            "still holds a ticket at window 12",
        ),
        (
            "zh",
            refusal(ErrorCode.WINDOW_TAKEN, reason="in_use", window=3, staff_name="张伟"),
            "3号窗口已被他人登录（张伟）",
        ),
        (
            "en",
            refusal(ErrorCode.WINDOW_TAKEN, reason="holds_ticket", window=3, staff_name="Zhang"),
            "Window 3 still holds a ticket of Zhang",
        ),
        ("zh", refusal(ErrorCode.WINDOW_TAKEN), "本窗口已在别处登录"),
        ("zh", refusal(ErrorCode.NOT_FOUND, window=99), "窗口 99 不存在"),
        ("en", refusal(ErrorCode.NOT_FOUND, ticket="Z999"), "There is no ticket Z999 today"),
        ("zh", refusal(ErrorCode.VERSION_MISMATCH), "协议版本不符"),
        ("zh", refusal(ErrorCode.INVALID_STATE, state="expired"), "当前状态为「已过期」"),
        ("en", refusal(ErrorCode.INVALID_STATE, state="expired"), "the state is “expired”"),
        (
            "zh",
            refusal(ErrorCode.INVALID_STATE, reason="day_closed", ticket="C003"),
            "C003 属于已结束的一天",
        ),
        ("zh", refusal(ErrorCode.FORBIDDEN), "本窗口无权进行此操作"),
        ("zh", refusal(ErrorCode.QUEUE_EMPTY), "没有等候的票"),
        ("zh", refusal(ErrorCode.HALL_CLOSED, reason="closed_now"), "大厅现在不办理业务"),
        (
            "en",
            refusal(ErrorCode.HALL_CLOSED, reason="past_closing", at=AT_1015),
            "closing time 10:15",
        ),
        ("zh", refusal(ErrorCode.ID_REUSED), "服务器拒绝了请求（代码 id_reused）"),
        ("en", refusal(ErrorCode.NOT_SUPPORTED), "(code not_supported)"),
    ],
)
def test_error_text_comes_from_the_code_and_fields_only(
    language: Language, error: ErrorReply, expected: str
) -> None:
    """Each error code and its fields make a sentence of the app's own; `message` never shows."""
    i18n.set_language(language)
    try:
        said = refusals.describe(error, i18n.t, timezone="Asia/Shanghai")
    finally:
        i18n.set_language("zh")
    assert expected in said
    assert CANARY not in said


# -- a slow machine --------------------------------------------------------------------------


async def test_a_work_screen_going_away_is_never_drawn(app: WindowApp) -> None:
    """Drawing a work screen whose widgets are gone, or that was replaced, does nothing."""
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await log_in(pilot, 11)
        await screen.query_one("#topbar").remove()  # as while the screen is torn down
        app.refresh_desk()
        screen.render_desk()  # what the 1 s interval does: no NoMatches
        await pilot.press("q")
        await on_screen(pilot, LoginScreen, "the login screen")
        await until(pilot, lambda: not screen.ready, "the work screen unmounted")
        screen.render_desk()
        assert not screen.showing


async def test_an_action_the_server_holds_is_shown_waiting_with_its_time(
    app: WindowApp, connect: Connect, server: QueueServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server holds the call's commit: the top line says the call is waiting for the
    server and for how long (not 已连接), until the reply comes."""
    kiosk = await connect("kiosk")
    await kiosk.request(IssueTicket, category="SW")
    held = asyncio.Event()
    release = asyncio.Event()
    commit = server._commit

    async def slow_commit(staged: Any) -> Any:
        if any(rid and rid.startswith("held-") for rid in staged.rids):
            held.set()
            await release.wait()
        return await commit(staged)

    monkeypatch.setattr(server, "_commit", slow_commit)
    monkeypatch.setattr(app, "new_request_id", lambda: f"held-{uuid.uuid4().hex}")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await log_in(pilot, 11)
        await pilot.press("n")
        await until(pilot, held.is_set, "the server holding the call")
        await until(pilot, lambda: "等待服务器：叫号" in text(app, "#conn-status"), "the wait")
        assert screen.query_one("#act-call_next", Button).disabled
        release.set()
        await until(pilot, lambda: app.desk.current is not None, "the call's reply")
        await until(pilot, lambda: text(app, "#conn-status") == "● 已连接", "online again")


def test_durations_read_as_durations_not_times_of_day() -> None:
    """A wait of 17 min 53 s was shown as 17:53, which reads as a time of day."""
    from window_client.i18n import duration, language, set_language

    before = language()
    try:
        set_language("zh")
        assert [duration(s) for s in (7, 65, 1073, 3725, -3)] == [
            "7秒",
            "1分05秒",
            "17分53秒",
            "1小时02分",
            "0秒",
        ]
        set_language("en")
        assert [duration(s) for s in (7, 1073, 3725)] == ["7 s", "17 min 53 s", "1 h 02 min"]
    finally:
        set_language(before)


async def test_ctrl_c_says_how_to_quit_in_the_staff_language(app: WindowApp) -> None:
    """Textual's own hint is English ("Do you want to quit?"); the desk says it in Chinese,
    and there is no (English) command palette."""
    async with app.run_test(size=(120, 40)) as pilot:
        await on_screen(pilot, LoginScreen, "the login screen")
        await pilot.press("ctrl+c")
        await until(pilot, lambda: bool(app._notifications), "the hint")
        [hint] = list(app._notifications)
        assert (hint.title, hint.message) == ("要退出吗？", "按 Ctrl+Q 退出程序（关窗请按 Q）")
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, LoginScreen)


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_every_button_and_column_heading_fits_uncut(
    url: str, settings_path: Path, connect: Connect, language: Language, size: tuple[int, int]
) -> None:
    """At 80x24 and 120x40, in both languages, each action button shows its whole label
    with its key, and each heading of the queue table fits its column."""
    kiosk = await connect("kiosk")
    await kiosk.request(IssueTicket, category="SW")
    app = make_app(server=url, settings_path=settings_path, language=language)
    async with app.run_test(size=size) as pilot:
        screen = await log_in(pilot, 11)
        await until(pilot, lambda: bool(app.desk.queues), "the queue figures")
        for button in screen.query("#actions Button").results(Button):
            label = str(button.label)
            assert cell_len(label) <= button.content_size.width, (label, button.content_size)
            assert label.endswith("]"), label  # the key hint is there
        table = str(screen.query_one("#queue-table", Static).content).splitlines()
        for heading in ("queue.category", "queue.waiting", "queue.longest", "queue.target"):
            assert i18n.t(heading) in table[0], (heading, table[0])
        width = screen.query_one("#queue-table").content_size.width
        assert all(cell_len(line) <= width for line in table), table


@pytest.mark.parametrize("reply_first", [True, False], ids=["reply-first", "event-first"])
def test_a_reinstatement_is_counted_whichever_arrives_first(reply_first: bool) -> None:
    """The reinstate reply and the ticket_reinstated event come on one connection in either
    order: 过号 drops by one either way, and only for a no-show counted at this window."""
    at = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    called = TicketView(
        id="20261125-C001",
        number="C001",
        category="SW",
        priority=Priority.NORMAL,
        state=TicketState.CALLED,
        issued_at=at,
        window=11,
    )
    missed = called.model_copy(update={"state": TicketState.NO_SHOW, "no_show_at": at})
    back = called.model_copy(update={"state": TicketState.WAITING, "window": None})
    desk = DeskState(number=11)
    desk.apply_ticket(called)
    desk.apply_event(TicketNoShow(seq=1, at=at, ticket=missed, window=11))
    desk.apply_ticket(missed)
    assert desk.today.no_shows == 1
    event = TicketReinstated(seq=2, at=at, ticket=back)
    if reply_first:
        desk.apply_ticket(back)
        desk.apply_event(event)
    else:
        desk.apply_event(event)
        desk.apply_ticket(back)
    assert desk.today.no_shows == 0
    other = back.model_copy(update={"id": "20261125-C002", "number": "C002"})
    desk.apply_event(TicketReinstated(seq=3, at=at, ticket=other))  # not one of ours
    assert desk.today.no_shows == 0
