"""The supervisor console against a real server: Pilot drives the real app (issue 14)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, DataTable, Input, Select, Static

from admin_console.app import AdminApp, make_app
from admin_console.screens.dialogs import (
    TextDialog,
    TicketReasonDialog,
    TransferDialog,
)
from admin_console.screens.hall import QUEUE_COLUMNS, WINDOW_COLUMNS, HallScreen
from admin_console.screens.login import LoginScreen
from queue_protocol.client import Backoff, Credentials, QueueClient, ServerError
from queue_protocol.errors import ErrorCode
from queue_protocol.messages import (
    Audit,
    CallNext,
    FinishService,
    GetSnapshot,
    IssueTicket,
    PauseWindow,
    Role,
    SetNotice,
    Snapshot,
    StartService,
    TicketState,
    WindowState,
    WindowView,
)
from queue_server.server import Limits, QueueServer
from queue_server.service import HallService
from staff_tui.dialogs import ConfirmDialog
from tests.conftest import DEMO_PASSWORD, Clock, Connect, MiddayClock, window_gone
from tests.tui.screens import shows
from tests.tui.test_window_client import ticket_state, until


def text(app: AdminApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).content)


def window_cell(app: AdminApp, number: int, column: str) -> str:
    """What the windows board shows for window `number` in `column`."""
    table = app.screen.query_one("#windows", DataTable)
    return str(table.get_row(str(number))[WINDOW_COLUMNS.index(column)])


def queue_cell(app: AdminApp, category: str, column: str) -> str:
    table = app.screen.query_one("#queues", DataTable)
    return str(table.get_row(category)[QUEUE_COLUMNS.index(column)])


def calls_shown(app: AdminApp) -> list[str]:
    """The recent-calls table's ticket numbers, top (newest) first."""
    table = app.screen.query_one("#calls", DataTable)
    return [str(table.get_row_at(i)[1]) for i in range(table.row_count)]


def notices(app: AdminApp) -> list[str]:
    return [n.message for n in app._notifications]


async def fill_login(pilot: Pilot[None], account: str, password: str = "yichuang") -> None:
    app = pilot.app
    await until(pilot, lambda: shows(app, LoginScreen), "the login screen")
    app.screen.query_one("#account", Input).value = account
    app.screen.query_one("#password", Input).value = password
    app.screen.query_one("#login", Button).press()
    await pilot.pause()


async def log_in(pilot: Pilot[None], account: str = "zhuren") -> HallScreen:
    app = pilot.app
    assert isinstance(app, AdminApp)
    await fill_login(pilot, account)
    await until(pilot, lambda: shows(app, HallScreen) and app.online, "the hall screen")
    await until(
        pilot, lambda: app.screen.query_one("#windows", DataTable).row_count > 0, "the board"
    )
    assert app.hall_screen is not None
    return app.hall_screen


async def select(pilot: Pilot[None], screen: HallScreen, number: int) -> None:
    screen.select_window(number)
    await until(pilot, lambda: (w := screen.selected_window()) and w.number == number, "selected")


async def server_snapshot(connect: Connect) -> Snapshot:
    """The server's own state now, through a fresh admin connection."""
    admin = await connect("admin")
    reply = await admin.request(GetSnapshot)
    snapshot: Snapshot = reply.snapshot
    return snapshot


async def server_window(connect: Connect, number: int) -> WindowView:
    snapshot = await server_snapshot(connect)
    return next(w for w in snapshot.windows if w.number == number)


@pytest.fixture
def settings_path(tmp_path: Path) -> Path:
    return tmp_path / "config" / "admin-console.json"


@pytest.fixture
def app(url: str, settings_path: Path) -> AdminApp:
    # The console's clock reads as the test server's (times in state, the trend's hour).
    return make_app(server=url, settings_path=settings_path, clock=MiddayClock())


# -- login and roles ---------------------------------------------------------------------------


async def test_supervisor_sees_every_window_and_queue_and_the_login_is_remembered(
    app: AdminApp, url: str, settings_path: Path
) -> None:
    """zhuren logs in: the board lists all 15 windows and 7 queues; server and account are kept."""
    async with app.run_test(size=(120, 40)) as pilot:
        await log_in(pilot)
        assert app.screen.query_one("#windows", DataTable).row_count == 15
        assert app.screen.query_one("#queues", DataTable).row_count == 7
        assert window_cell(app, 11, "name") == "社会事务11号"
        assert window_cell(app, 11, "profile") == "SW SB"
        assert window_cell(app, 1, "profile") == "全科"
        assert window_cell(app, 11, "state") == "关闭"
        assert "邓主任" in text(app, "#who")
        assert not app.screen.query_one("#offline-banner", Static).display
    saved = json.loads(await asyncio.to_thread(settings_path.read_text, encoding="utf-8"))
    assert saved == {"server": url, "account": "zhuren", "hall": None}


async def test_a_staff_account_cannot_open_the_console(app: AdminApp) -> None:
    """A window staff account (role staff) is refused by the server and told why."""
    async with app.run_test(size=(120, 40)) as pilot:
        await fill_login(pilot, "ck01")
        await until(
            pilot,
            lambda: "不是值班主任或管理员" in text(app, "#login-message"),
            "the refusal",
        )
        assert isinstance(app.screen, LoginScreen) and app.client is None
        assert not app.screen.query_one("#login", Button).disabled


async def test_a_wrong_password_is_refused_in_english(url: str, settings_path: Path) -> None:
    """--lang en: the login screen and its refusal are in English."""
    app = make_app(server=url, settings_path=settings_path, language="en")
    async with app.run_test(size=(120, 40)) as pilot:
        assert "Supervisor" in text(app, "#login-heading")
        await fill_login(pilot, "zhuren", "wrong")
        await until(
            pilot, lambda: "Wrong account or password" in text(app, "#login-message"), "refusal"
        )


async def test_a_window_connection_cannot_send_the_consoles_verbs(connect: Connect) -> None:
    """The console's acts are refused to a window login (the server's role check)."""
    window = await connect("window", window=3)
    with pytest.raises(ServerError) as refused:
        await window.request(SetNotice, notice="今日下午系统维护")
    assert refused.value.code is ErrorCode.FORBIDDEN
    with pytest.raises(ServerError) as refused:
        await window.request(PauseWindow, window=4, reason="x")
    assert refused.value.code in (ErrorCode.FORBIDDEN, ErrorCode.BAD_REQUEST)


# -- the live board ----------------------------------------------------------------------------


async def test_the_board_follows_a_visit_from_events(app: AdminApp, connect: Connect) -> None:
    """Issue, call, start, finish at window 11: the board, the queue and the calls follow."""
    kiosk = await connect("kiosk")
    async with app.run_test(size=(120, 40)) as pilot:
        await log_in(pilot)
        desk = await connect("window", window=11)
        await until(pilot, lambda: window_cell(app, 11, "state") == "空闲", "window 11 open")
        assert window_cell(app, 11, "staff") == "徐丽"

        await kiosk.request(IssueTicket, category="SW")
        await kiosk.request(IssueTicket, category="SW")
        await until(pilot, lambda: queue_cell(app, "SW", "waiting") == "2", "two waiting")
        assert queue_cell(app, "SW", "longest") != "—"

        await desk.request(CallNext)
        await until(pilot, lambda: window_cell(app, 11, "state") == "呼叫中", "calling")
        assert window_cell(app, 11, "ticket") == "C001"
        assert queue_cell(app, "SW", "waiting") == "1"
        await until(pilot, lambda: calls_shown(app)[:1] == ["C001"], "the call listed")

        await desk.request(StartService)
        await until(pilot, lambda: window_cell(app, 11, "state") == "办理中", "serving")
        await desk.request(FinishService)
        await until(pilot, lambda: window_cell(app, 11, "served") == "1", "served 1")
        assert window_cell(app, 11, "state") == "空闲"
        assert window_cell(app, 11, "ticket") == "—"
        assert window_cell(app, 11, "mean") != "—"
        assert app.board.trend["SW"][-1][2] == 1  # the queue's last point: one waiting


@pytest.mark.hall_clock
async def test_paused_with_its_reason_then_offline(
    app: AdminApp, connect: Connect, server: QueueServer, clock: Clock
) -> None:
    """A window paused shows its reason; one whose client vanished shows 离线 (not closed)."""
    async with app.run_test(size=(120, 40)) as pilot:
        await log_in(pilot)
        desk = await connect("window", window=11)
        await desk.request(PauseWindow, reason="午间轮休")
        await until(
            pilot, lambda: window_cell(app, 11, "state") == "暂停：午间轮休", "paused with reason"
        )
        await desk.close()
        await window_gone(server, 11)
        clock.advance(seconds=11)
        await until(pilot, lambda: window_cell(app, 11, "state") == "离线", "offline")
        assert "离线 1" in text(app, "#summary")


async def test_the_server_restarting_leaves_the_board_exact(
    service: HallService, connect: Connect, settings_path: Path
) -> None:
    """The server stops: a banner says so; the changes made meanwhile and after are all on the
    board once, exactly as the server has them."""
    limits = Limits(rate=10_000, burst=10_000)
    server = QueueServer(service, host="127.0.0.1", port=0, limits=limits, poll_interval=0.05)
    port = await server.start()
    app = make_app(
        server=f"ws://127.0.0.1:{port}", settings_path=settings_path, backoff=Backoff(first=0.1)
    )
    url = f"ws://127.0.0.1:{port}"
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await log_in(pilot)
            kiosk = await connect("kiosk")
            for _ in range(3):
                await kiosk.request(IssueTicket, category="SW")
            await until(pilot, lambda: queue_cell(app, "SW", "waiting") == "3", "three waiting")
            applied = app.board.events_applied

            await server.stop()
            banner = app.screen.query_one("#offline-banner", Static)
            await until(
                pilot,
                lambda: not app.online and banner.display and "正在重连" in str(banner.content),
                "the offline banner",
            )

            # While the console is away, the hall goes on (a window opens and calls).
            server = QueueServer(
                service, host="127.0.0.1", port=port, limits=limits, poll_interval=0.05
            )
            await server.start()
            desk = QueueClient(url, credentials_for_window(11))
            await desk.start()
            await desk.request(CallNext)
            await until(pilot, lambda: app.online, "the reconnection", timeout=15)
            await until(pilot, lambda: window_cell(app, 11, "ticket") == "C001", "the call")
            await until(pilot, lambda: not banner.display, "the banner gone")
            await desk.request(StartService)
            await desk.request(FinishService)
            await desk.request(CallNext)
            await until(pilot, lambda: window_cell(app, 11, "ticket") == "C002", "the next call")
            await until(pilot, lambda: window_cell(app, 11, "served") == "1", "one served")
            await desk.close()

            truth = await snapshot_at(url)
            await until(pilot, lambda: app.board.seq == truth.seq, "every event", timeout=10)
            board = app.board
            assert board.windows == {w.number: w for w in truth.windows}
            assert board.queues == {q.category: q for q in truth.queues}
            assert board.tickets == {t.id: t for t in truth.tickets}
            stat = next(s for s in truth.window_stats if s.window == 11)
            assert board.figures[11].served == stat.served == 1
            assert [c.seq for c in board.calls] == sorted({c.seq for c in board.calls})
            assert {c.number for c in board.calls} >= {"C001", "C002"}
            assert board.events_applied > applied
            assert queue_cell(app, "SW", "waiting") == "1"
    finally:
        await server.stop()


def credentials_for_window(number: int) -> Credentials:
    return Credentials(
        role=Role.WINDOW, user=f"ck{number:02d}", password=DEMO_PASSWORD, window=number
    )


async def snapshot_at(url: str) -> Snapshot:
    admin = QueueClient(url, Credentials(role=Role.ADMIN, user="zhuren", password=DEMO_PASSWORD))
    await admin.start()
    try:
        reply = await admin.request(GetSnapshot)
        snapshot: Snapshot = reply.snapshot
        return snapshot
    finally:
        await admin.close()


# -- acts --------------------------------------------------------------------------------------


async def test_close_a_window_remotely_after_confirming(app: AdminApp, connect: Connect) -> None:
    """C on window 11, confirmed: the server closes it; answering Cancel changes nothing."""
    await connect("window", window=11)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await log_in(pilot)
        await select(pilot, screen, 11)
        await pilot.press("c")
        await until(pilot, lambda: shows(app, ConfirmDialog), "the question")
        assert "11号窗口" in str(app.screen.query_one(".dialog-title").render())
        app.screen.query_one("#cancel", Button).press()
        await until(pilot, lambda: shows(app, HallScreen), "back on the hall")
        assert (await server_window(connect, 11)).state is WindowState.IDLE

        await pilot.press("c")
        await until(pilot, lambda: shows(app, ConfirmDialog), "the question")
        app.screen.query_one("#ok", Button).press()
        await until(pilot, lambda: window_cell(app, 11, "state") == "关闭", "closed")
        assert "11号窗口已关闭" in notices(app)
    assert (await server_window(connect, 11)).state is WindowState.CLOSED


async def test_pause_with_a_reason_then_resume(app: AdminApp, connect: Connect) -> None:
    """P asks for a reason (none: refused in the dialog), pauses; P again resumes."""
    await connect("window", window=12)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await log_in(pilot)
        await select(pilot, screen, 12)
        await pilot.press("p")
        await until(pilot, lambda: shows(app, TextDialog), "the reason dialog")
        app.screen.query_one("#ok", Button).press()
        await until(pilot, lambda: "请填写原因" in text(app, ".dialog-problem"), "asked why")
        app.screen.query_one("#text", Input).value = "临时抽调"
        app.screen.query_one("#ok", Button).press()
        await until(pilot, lambda: window_cell(app, 12, "state") == "暂停：临时抽调", "paused")
        view = await server_window(connect, 12)
        assert (view.state, view.pause_reason) == (WindowState.PAUSED, "临时抽调")

        await pilot.press("p")
        await until(pilot, lambda: window_cell(app, 12, "state") == "空闲", "resumed")
    assert (await server_window(connect, 12)).state is WindowState.IDLE


async def test_change_a_windows_profile_and_unknown_codes_are_refused(
    app: AdminApp, connect: Connect
) -> None:
    """F: unknown codes are named in the dialog and nothing is sent; good ones change it live."""
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await log_in(pilot)
        await select(pilot, screen, 11)
        await pilot.press("f")
        await until(pilot, lambda: shows(app, TextDialog), "the profile dialog")
        field = app.screen.query_one("#text", Input)
        assert field.value == "SW SB"
        field.value = "qy zz"
        app.screen.query_one("#ok", Button).press()
        await until(pilot, lambda: "没有业务类别：ZZ" in text(app, ".dialog-problem"), "refused")
        field.value = "qy sb"
        app.screen.query_one("#ok", Button).press()
        await until(pilot, lambda: window_cell(app, 11, "profile") == "QY SB", "the new profile")
    assert (await server_window(connect, 11)).profile == ["QY", "SB"]


async def test_call_a_named_ticket_to_a_window_and_a_missing_one_is_told(
    app: AdminApp, connect: Connect
) -> None:
    """N calls the ticket typed to the selected window; a number that does not exist is said."""
    kiosk = await connect("kiosk")
    await kiosk.request(IssueTicket, category="SW")
    await kiosk.request(IssueTicket, category="SW")
    await connect("window", window=11)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await log_in(pilot)
        await select(pilot, screen, 11)
        await pilot.press("n")
        await until(pilot, lambda: shows(app, TextDialog), "the number dialog")
        await pilot.press(*"z999", "enter")
        await until(pilot, lambda: "今日没有票号 Z999" in notices(app), "the refusal")
        await until(pilot, lambda: shows(app, HallScreen), "the hall")
        await pilot.press("n")
        await until(pilot, lambda: shows(app, TextDialog), "the number dialog")
        await pilot.press(*"c002", "enter")
        await until(pilot, lambda: window_cell(app, 11, "ticket") == "C002", "C002 called")
    ticket = await ticket_state_of(connect, "C002")
    assert (ticket.state, ticket.window) == (TicketState.CALLED, 11)


async def ticket_state_of(connect: Connect, number: str) -> Any:
    snapshot = await server_snapshot(connect)
    return next(t for t in snapshot.tickets if t.number == number)


async def test_transfer_a_windows_ticket_to_another_category(
    app: AdminApp, connect: Connect
) -> None:
    """T on a window serving a ticket: it goes to the category chosen, with the reason; a
    ticket only called is not offered (the server transfers tickets in service)."""
    kiosk = await connect("kiosk")
    await kiosk.request(IssueTicket, category="SW")
    desk = await connect("window", window=11)
    await desk.request(CallNext)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await log_in(pilot)
        await select(pilot, screen, 11)
        await pilot.press("t")
        await until(pilot, lambda: any("尚未开始办理" in n for n in notices(app)), "not yet")
        assert shows(app, HallScreen)
        await desk.request(StartService)
        await until(pilot, lambda: window_cell(app, 11, "state") == "办理中", "serving")
        await pilot.press("t")
        await until(pilot, lambda: shows(app, TransferDialog), "the transfer dialog")
        app.screen.query_one("#reason", Input).value = "属社保业务"
        app.screen.query_one("#ok", Button).press()
        await until(pilot, lambda: "请选择目标类别或窗口" in text(app, ".dialog-problem"), "asked")
        app.screen.query_one("#to-category", Select).value = "SB"
        app.screen.query_one("#ok", Button).press()
        await until(pilot, lambda: window_cell(app, 11, "ticket") == "—", "the ticket moved on")
        await until(pilot, lambda: queue_cell(app, "SB", "waiting") == "1", "waiting in SB")
        assert "C001 已转移" in notices(app)
    moved = await ticket_state_of(connect, "C001")
    assert (moved.category, moved.transfers[-1].reason) == ("SB", "属社保业务")


async def test_void_a_waiting_ticket_with_a_reason_and_a_called_one_is_refused(
    app: AdminApp, connect: Connect, service: HallService
) -> None:
    """X, a number and a reason, confirm: the waiting ticket is cancelled and the audit keeps
    why; a called one is refused in the dialog, an unknown one by the server, in words."""
    kiosk = await connect("kiosk")
    await kiosk.request(IssueTicket, category="SW")
    await kiosk.request(IssueTicket, category="SW")
    desk = await connect("window", window=11)
    await desk.request(CallNext)  # C001 called
    async with app.run_test(size=(120, 40)) as pilot:
        await log_in(pilot)
        await pilot.press("x")
        await until(pilot, lambda: shows(app, TicketReasonDialog), "the void dialog")
        app.screen.query_one("#ticket", Input).value = "c001"
        app.screen.query_one("#reason", Input).value = "市民已离开"
        app.screen.query_one("#ok", Button).press()
        await until(
            pilot,
            lambda: (
                "C001 的状态为「已呼叫」，只能作废或移动等候中的票" in text(app, ".dialog-problem")
            ),
            "the refusal in the dialog",
        )
        app.screen.query_one("#ticket", Input).value = "c002"
        app.screen.query_one("#reason", Input).value = ""
        app.screen.query_one("#ok", Button).press()
        await until(pilot, lambda: "请填写原因" in text(app, ".dialog-problem"), "a reason")
        app.screen.query_one("#reason", Input).value = "市民已离开"
        app.screen.query_one("#ok", Button).press()
        await until(pilot, lambda: shows(app, ConfirmDialog), "the question")
        app.screen.query_one("#ok", Button).press()
        await until(pilot, lambda: "C002 已作废" in notices(app), "C002 voided")
        await until(pilot, lambda: queue_cell(app, "SW", "waiting") == "0", "none waiting")

        await pilot.press("x")
        await until(pilot, lambda: shows(app, TicketReasonDialog), "the void dialog")
        app.screen.query_one("#ticket", Input).value = "Z999"
        app.screen.query_one("#reason", Input).value = "测试"
        app.screen.query_one("#ok", Button).press()
        await until(pilot, lambda: shows(app, ConfirmDialog), "the question")
        app.screen.query_one("#ok", Button).press()
        await until(pilot, lambda: "今日没有票号 Z999" in notices(app), "the server's refusal")
    assert (await ticket_state(service, "C002")).state is TicketState.CANCELLED
    assert (await ticket_state(service, "C001")).state is TicketState.CALLED
    admin = await connect("admin")
    trail = (await admin.request(Audit, ticket="C002", account="zhuren")).entries
    assert [(e.action, e.detail) for e in trail] == [("ticket_cancelled", "市民已离开")]


async def test_set_the_notice_line(app: AdminApp, connect: Connect) -> None:
    """M: the notice typed is the hall's, shown on the console (and call screens)."""
    async with app.run_test(size=(120, 40)) as pilot:
        await log_in(pilot)
        await pilot.press("m")
        await until(pilot, lambda: shows(app, TextDialog), "the notice dialog")
        app.screen.query_one("#text", Input).value = "今日16:00后暂停不动产业务"
        app.screen.query_one("#ok", Button).press()
        await until(
            pilot, lambda: "今日16:00后暂停不动产业务" in text(app, "#notice-line"), "the notice"
        )
    assert (await server_snapshot(connect)).hall.notice == "今日16:00后暂停不动产业务"


async def test_acts_need_a_selected_window_that_can_take_them(app: AdminApp) -> None:
    """Pausing a closed window is refused on the console, in words, without asking the server."""
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await log_in(pilot)
        await select(pilot, screen, 3)
        await pilot.press("p")
        await until(pilot, lambda: "3号窗口未开放，不能暂停" in notices(app), "the refusal")
        await pilot.press("t")
        await until(pilot, lambda: "3号窗口当前没有呼叫或办理中的票" in notices(app), "refusal")
        assert shows(app, HallScreen)


async def test_closing_a_ghost_window_puts_its_ticket_back_in_the_queue(
    app: AdminApp, connect: Connect
) -> None:
    """C on window 11 while it calls C001 (its staff gone without closing): the server closes
    it and the ticket waits again in its place."""
    kiosk = await connect("kiosk")
    await kiosk.request(IssueTicket, category="SW")
    desk = await connect("window", window=11)
    await desk.request(CallNext)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await log_in(pilot)
        await select(pilot, screen, 11)
        await pilot.press("c")
        await until(pilot, lambda: shows(app, ConfirmDialog), "the question")
        app.screen.query_one("#ok", Button).press()
        await until(pilot, lambda: window_cell(app, 11, "state") == "关闭", "closed")
        await until(pilot, lambda: queue_cell(app, "SW", "waiting") == "1", "C001 waits again")
    assert (await server_window(connect, 11)).state is WindowState.CLOSED
    snapshot = await server_snapshot(connect)
    c001 = next(t for t in snapshot.tickets if t.number == "C001")
    assert c001.state is TicketState.WAITING


async def test_an_act_the_server_refuses_is_told_from_its_code(
    app: AdminApp, connect: Connect
) -> None:
    """Calling a 社会事务 ticket to window 14 (综合出件 only): the server's refusal, in the
    console's words; nothing changes."""
    kiosk = await connect("kiosk")
    await kiosk.request(IssueTicket, category="SW")
    await connect("window", window=14)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await log_in(pilot)
        await select(pilot, screen, 14)
        await pilot.press("n")
        await until(pilot, lambda: shows(app, TextDialog), "the number dialog")
        app.screen.query_one("#text", Input).value = "C001"
        app.screen.query_one("#ok", Button).press()
        await until(pilot, lambda: "C001 不属于该窗口办理的业务" in notices(app), "the refusal")
        assert window_cell(app, 14, "state") == "空闲"
    assert (await server_window(connect, 14)).state is WindowState.IDLE
