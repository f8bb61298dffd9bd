"""Snapshots of the supervisor console, against a real server on a fixed clock, at 120x40 and
200x50, in Chinese and English."""

from __future__ import annotations

import asyncio
import copy
import threading
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from rich.table import Table
from textual.pilot import Pilot
from textual.widgets import Button, DataTable, Input, Select, Static

from admin_console.app import AdminApp, make_app
from admin_console.i18n import Language
from admin_console.screens.audit import AuditScreen
from admin_console.screens.cases import CasesScreen
from admin_console.screens.dialogs import TextDialog, TicketReasonDialog, TransferDialog
from queue_protocol.client import Credentials, QueueClient
from queue_protocol.messages import (
    CallNext,
    CaseAction,
    FinishService,
    IssueTicket,
    PauseIssuing,
    PauseWindow,
    Priority,
    Rate,
    Role,
    SetNotice,
    StartService,
    UpdateCase,
)
from tests.conftest import DEMO_PASSWORD, KIOSK_TOKEN, Clock
from tests.tui.screens import shows
from tests.tui.test_admin_console import log_in
from tests.tui.test_window_client import until
from tests.tui.test_window_snapshots import threaded_url  # noqa: F401  (a fixture)

SnapCompare = Callable[..., bool]
T = TypeVar("T")
SIZES = {"120x40": (120, 40), "200x50": (200, 50)}
EVERY_LANGUAGE_AND_SIZE = pytest.mark.parametrize(
    ("language", "size"),
    [(lang, size) for lang in ("zh", "en") for size in SIZES],
    ids=[f"{lang}-{size}" for lang in ("zh", "en") for size in SIZES],
)


class Desks:
    """Window clients on a loop of their own, connected for the whole test: the snapshot is
    taken after run_before returns, and a window whose client has gone shows 离线."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.clients: list[QueueClient] = []

    async def run(self, work: Coroutine[Any, Any, T]) -> T:
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, self.loop))

    async def open(self, url: str, number: int) -> QueueClient:
        desk = QueueClient(
            url,
            Credentials(
                role=Role.WINDOW, user=f"ck{number:02d}", password=DEMO_PASSWORD, window=number
            ),
        )
        await self.run(desk.start())
        self.clients.append(desk)
        return desk

    async def request(self, desk: QueueClient, request: type[Any], **fields: Any) -> Any:
        return await self.run(desk.request(request, **fields))

    def close(self) -> None:
        async def close_all() -> None:
            await asyncio.gather(*(c.close() for c in self.clients))

        asyncio.run_coroutine_threadsafe(close_all(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def hall_config(hall_config: dict[str, Any]) -> dict[str, Any]:
    """The demo hall with 社会事务's target at 20 minutes, so that busy_hall's alerts both
    start at its last step: the server checks them every 2 s of real time, and an earlier
    start would show an earlier time. A device gone is not alerted here: when the server
    counts the kiosk gone from depends on when its connection's end is seen."""
    config = copy.deepcopy(hall_config)
    for category in config["categories"]:
        if category["code"] == "SW":
            category["target_wait_minutes"] = 20
    config["alerts"] = {"off": ["device_offline"]}
    return config


@pytest.fixture
def desks() -> Iterator[Desks]:
    running = Desks()
    yield running
    running.close()


async def busy_hall(pilot: Pilot[None], clock: Clock, url: str, desks: Desks) -> AdminApp:
    """Tickets waiting in four categories, window 11 serving its second ticket, window 5
    calling, window 1 paused for lunch, a notice; then the supervisor logs in."""
    app = pilot.app
    assert isinstance(app, AdminApp)
    kiosk = QueueClient(url, Credentials(role=Role.KIOSK, token=KIOSK_TOKEN))
    await kiosk.start()
    await kiosk.request(IssueTicket, category="SB")
    clock.advance(minutes=12)
    await kiosk.request(IssueTicket, category="SW", priority=Priority.GREEN)
    await kiosk.request(IssueTicket, category="SW")
    await kiosk.request(IssueTicket, category="QY", item="企业设立登记")
    await kiosk.request(IssueTicket, category="QY")
    await kiosk.request(IssueTicket, category="GC")
    await kiosk.close()
    clock.advance(minutes=6)
    w11, w5, w1 = [await desks.open(url, number) for number in (11, 5, 1)]
    for minutes in (4, 7):  # two services at window 11, the second still going
        await desks.request(w11, CallNext)
        clock.advance(minutes=1)
        await desks.request(w11, StartService)
        clock.advance(minutes=minutes)
        if minutes == 4:
            await desks.request(w11, FinishService)
    await desks.request(w5, CallNext)
    await desks.request(w1, PauseWindow, reason="午间轮休")
    clock.advance(minutes=3, seconds=20)
    supervisor = QueueClient(
        url, Credentials(role=Role.ADMIN, user="admin", password=DEMO_PASSWORD)
    )
    await supervisor.start()
    await supervisor.request(SetNotice, notice="今日16:00后不动产业务暂停取号")
    await supervisor.request(PauseIssuing, category="BT", reason="今日号已取完")
    await supervisor.close()
    await log_in(pilot)
    table = app.screen.query_one("#windows", DataTable)
    await until(pilot, lambda: table.row_count == 15, "the board")
    # The server's alert check (every 2 s) has seen the hall as it now is: 企业开办 and
    # 社会事务 past their 20 minutes.
    try:
        await until(pilot, lambda: len(app.board.alerts) == 2, "the alerts", timeout=15)
    except AssertionError:
        raise AssertionError(f"alerts: {list(app.board.alerts.values())}") from None
    assert app.hall_screen is not None
    app.hall_screen.select_window(11)
    app.hall_screen.render_hall()
    await pilot.pause()
    return app


async def steady(pilot: Pilot[None]) -> None:
    """A steady cursor in every field shown: the same picture every time."""
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False
    await pilot.pause()


def test_login_screen(snap_compare: SnapCompare, tmp_path: Path) -> None:
    """The login screen: server address remembered, account and password."""
    app = make_app(server="ws://127.0.0.1:8765", settings_path=tmp_path / "s.json")
    assert snap_compare(app, terminal_size=SIZES["120x40"])


def test_login_screen_in_english(snap_compare: SnapCompare, tmp_path: Path) -> None:
    """--lang en: the same login screen in English."""
    app = make_app(server="ws://127.0.0.1:8765", settings_path=tmp_path / "s.json", language="en")
    assert snap_compare(app, terminal_size=SIZES["120x40"])


@EVERY_LANGUAGE_AND_SIZE
def test_the_live_hall(
    snap_compare: SnapCompare,
    threaded_url: str,  # noqa: F811
    clock: Clock,
    desks: Desks,
    tmp_path: Path,
    language: Language,
    size: str,
) -> None:
    """The board in a busy moment: every window's state (serving, calling, paused with its
    reason, closed), its ticket and time in state; the queues, one over its target; calls."""
    app = make_app(
        server=threaded_url, settings_path=tmp_path / "s.json", clock=clock, language=language
    )

    async def run_before(pilot: Pilot[None]) -> None:
        await busy_hall(pilot, clock, threaded_url, desks)

    assert snap_compare(app, terminal_size=SIZES[size], run_before=run_before)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_pause_dialog(
    snap_compare: SnapCompare,
    threaded_url: str,  # noqa: F811
    clock: Clock,
    desks: Desks,
    tmp_path: Path,
    language: Language,
) -> None:
    """The pause dialog over the board, a reason typed."""
    app = make_app(
        server=threaded_url, settings_path=tmp_path / "s.json", clock=clock, language=language
    )

    async def run_before(pilot: Pilot[None]) -> None:
        await busy_hall(pilot, clock, threaded_url, desks)
        await pilot.press("p")
        await until(pilot, lambda: shows(app, TextDialog), "the dialog")
        app.screen.query_one("#text", Input).value = "临时抽调" if language == "zh" else "Training"
        await steady(pilot)

    assert snap_compare(app, terminal_size=SIZES["120x40"], run_before=run_before)


@EVERY_LANGUAGE_AND_SIZE
def test_the_audit_screen(
    snap_compare: SnapCompare,
    threaded_url: str,  # noqa: F811
    clock: Clock,
    desks: Desks,
    tmp_path: Path,
    language: Language,
    size: str,
) -> None:
    """U over the busy hall: the filters, the hall's trail newest first, the CSV export."""
    app = make_app(
        server=threaded_url, settings_path=tmp_path / "s.json", clock=clock, language=language
    )

    async def run_before(pilot: Pilot[None]) -> None:
        await busy_hall(pilot, clock, threaded_url, desks)
        await pilot.press("u")
        await until(pilot, lambda: shows(app, AuditScreen), "the audit screen")
        table = app.screen.query_one("#audit", DataTable)
        await until(pilot, lambda: table.row_count > 0, "the trail")
        await steady(pilot)

    assert snap_compare(app, terminal_size=SIZES[size], run_before=run_before)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_move_dialog(
    snap_compare: SnapCompare,
    threaded_url: str,  # noqa: F811
    clock: Clock,
    desks: Desks,
    tmp_path: Path,
    language: Language,
) -> None:
    """G: the move dialog, a ticket, a category and a reason filled in."""
    app = make_app(
        server=threaded_url, settings_path=tmp_path / "s.json", clock=clock, language=language
    )

    async def run_before(pilot: Pilot[None]) -> None:
        await busy_hall(pilot, clock, threaded_url, desks)
        await pilot.press("g")
        await until(pilot, lambda: shows(app, TransferDialog), "the dialog")
        app.screen.query_one("#ticket", Input).value = "B001"
        app.screen.query_one("#to-category", Select).value = "QY"
        app.screen.query_one("#reason", Input).value = "取错号" if language == "zh" else "Wrong"
        await steady(pilot)

    assert snap_compare(app, terminal_size=SIZES["120x40"], run_before=run_before)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_void_dialog_refusing_a_called_ticket(
    snap_compare: SnapCompare,
    threaded_url: str,  # noqa: F811
    clock: Clock,
    desks: Desks,
    tmp_path: Path,
    language: Language,
) -> None:
    """X: the void dialog says, in it, that the ticket called at window 5 cannot be voided."""
    app = make_app(
        server=threaded_url, settings_path=tmp_path / "s.json", clock=clock, language=language
    )

    async def run_before(pilot: Pilot[None]) -> None:
        await busy_hall(pilot, clock, threaded_url, desks)
        await pilot.press("x")
        await until(pilot, lambda: shows(app, TicketReasonDialog), "the dialog")
        called = app.board.windows[5].ticket_number or ""
        app.screen.query_one("#ticket", Input).value = called
        app.screen.query_one("#reason", Input).value = "测试" if language == "zh" else "Test"
        ok = app.screen.query_one("#ok", Button)
        ok.press()
        problem = app.screen.query_one(".dialog-problem", Static)
        await until(pilot, lambda: str(problem.content) != "", "told")
        # A pressed button is drawn "active" for a moment: the snapshot waits it out.
        await until(pilot, lambda: not ok.has_class("-active"), "the press drawn out")
        await steady(pilot)

    assert snap_compare(app, terminal_size=SIZES["120x40"], run_before=run_before)


async def cases_hall(pilot: Pilot[None], clock: Clock, url: str, desks: Desks) -> CasesScreen:
    """Three 差评: one from 11-25 left open past its due time; on 12-03 one verified and
    rectified (a QR rating with a comment) and one entered from a paper form, its phone
    masked, given to admin. Then zhuren opens the cases. (A day's end logs the windows out:
    they log in again on the later day.)"""
    kiosk = QueueClient(url, Credentials(role=Role.KIOSK, token=KIOSK_TOKEN))
    await kiosk.start()

    async def served(desk: QueueClient) -> Any:
        issued = await kiosk.request(IssueTicket, category="SW")
        await desks.request(desk, CallNext)
        clock.advance(minutes=1)
        await desks.request(desk, StartService)
        clock.advance(minutes=6)
        await desks.request(desk, FinishService)
        return issued

    first = await served(await desks.open(url, 3))
    await kiosk.request(
        Rate, ticket=first.ticket.number, level=5, reasons=["办事效率低"], secret=first.secret
    )
    clock.advance(days=8)
    w3, w4 = [await desks.open(url, number) for number in (3, 4)]
    second = await served(w3)
    await kiosk.request(
        Rate,
        ticket=second.ticket.number,
        level=5,
        reasons=["服务态度不好", "一次性告知不清"],
        comment="窗口人员办理时接打私人电话",
        secret=second.secret,
    )
    third = await served(w4)
    await desks.request(
        w4, Rate, ticket=third.ticket.id, level=4, reasons=["等候时间过长"], phone="13812345678"
    )
    await kiosk.close()
    supervisor = QueueClient(
        url, Credentials(role=Role.ADMIN, user="zhuren", password=DEMO_PASSWORD)
    )
    await supervisor.start()
    clock.advance(hours=2)
    await supervisor.request(
        UpdateCase, case=2, action=CaseAction.VERIFY, text="调阅录像属实：办理中接打电话约三分钟"
    )
    clock.advance(hours=3)
    await supervisor.request(
        UpdateCase, case=2, action=CaseAction.RECTIFY, text="当事人已作书面检讨，窗口重申工作纪律"
    )
    await supervisor.request(
        UpdateCase, case=3, action=CaseAction.ASSIGN, owner="admin", text="请管理员跟进"
    )
    await supervisor.close()
    app = pilot.app
    assert isinstance(app, AdminApp)
    await log_in(pilot)
    await pilot.press("r")
    await until(pilot, lambda: shows(app, CasesScreen), "the cases screen")
    screen = app.screen
    assert isinstance(screen, CasesScreen)
    table = screen.query_one("#cases", DataTable)
    await until(pilot, lambda: screen.loaded and table.row_count == 3, "the cases")
    return screen


@EVERY_LANGUAGE_AND_SIZE
def test_the_cases_screen(
    snap_compare: SnapCompare,
    threaded_url: str,  # noqa: F811
    clock: Clock,
    desks: Desks,
    tmp_path: Path,
    language: Language,
    size: str,
) -> None:
    """R: the open cases soonest due first, the overdue one marked, zhuren's starred; the
    first one's rating and its one step below, and what its state allows."""
    app = make_app(
        server=threaded_url, settings_path=tmp_path / "s.json", clock=clock, language=language
    )

    async def run_before(pilot: Pilot[None]) -> None:
        await cases_hall(pilot, clock, threaded_url, desks)
        await steady(pilot)

    assert snap_compare(app, terminal_size=SIZES[size], run_before=run_before)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_cases_detail(
    snap_compare: SnapCompare,
    threaded_url: str,  # noqa: F811
    clock: Clock,
    desks: Desks,
    tmp_path: Path,
    language: Language,
) -> None:
    """The case being rectified selected: its rating with the comment, its three steps,
    and the actions offered from 整改中."""
    app = make_app(
        server=threaded_url, settings_path=tmp_path / "s.json", clock=clock, language=language
    )

    async def run_before(pilot: Pilot[None]) -> None:
        screen = await cases_hall(pilot, clock, threaded_url, desks)
        screen.select_case(2)
        steps = screen.query_one("#case-steps", Static)
        await until(
            pilot, lambda: isinstance(t := steps.content, Table) and t.row_count == 3, "steps"
        )
        await steady(pilot)

    assert snap_compare(app, terminal_size=SIZES["120x40"], run_before=run_before)
