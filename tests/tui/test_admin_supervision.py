"""The supervisor console's alerts, moves, issuing and audit against a real server on its
test clock (issue 14): Pilot drives the real app, the server's own state is checked."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, DataTable, Input, Select, Static

from admin_console.app import AdminApp, make_app
from admin_console.screens.audit import AUDIT_COLUMNS, AuditScreen
from admin_console.screens.dialogs import TextDialog, TransferDialog
from admin_console.screens.hall import ALERT_COLUMNS, HallScreen
from queue_protocol.client import ServerError
from queue_protocol.errors import ErrorCode
from queue_protocol.messages import (
    CallNext,
    CancelTicket,
    FinishService,
    IssueTicket,
    Rate,
    StartService,
    TicketState,
)
from queue_server.service import HallService
from tests.conftest import Clock, Connect
from tests.tui.screens import shows
from tests.tui.test_admin_console import (
    log_in,
    notices,
    queue_cell,
    server_snapshot,
    text,
    window_cell,
)
from tests.tui.test_window_client import ticket_state, until

pytestmark = pytest.mark.hall_clock

ALERT_WAIT = 15.0  # the server checks its alerts every 2 s; a loaded machine is slower


@pytest.fixture
def app(url: str, tmp_path: Path, clock: Clock) -> AdminApp:
    """The console on the server's test clock (times in state, waits, the audit's today)."""
    return make_app(server=url, settings_path=tmp_path / "admin.json", clock=clock)


def alert_rows(app: AdminApp) -> list[tuple[str, ...]]:
    table = app.screen.query_one("#alerts", DataTable)
    return [tuple(str(c) for c in table.get_row_at(i)) for i in range(table.row_count)]


def alert_cell(app: AdminApp, row: int, column: str) -> str:
    rows = alert_rows(app)
    return rows[row][ALERT_COLUMNS.index(column)] if len(rows) > row else ""


async def focus_queues_on(pilot: Pilot[None], screen: HallScreen, code: str) -> None:
    screen.query_one("#queues", DataTable).focus()
    screen.select_category(code)
    await until(
        pilot, lambda: (c := screen.selected_category()) and c.code == code, "category selected"
    )


# -- alerts ------------------------------------------------------------------------------------


async def test_a_long_wait_is_shown_acknowledged_and_gone_when_called(
    app: AdminApp, connect: Connect, clock: Clock
) -> None:
    """A CJ ticket waits past its 10 minutes: the panel shows it as a warning with its figures;
    A acknowledges it (the server records zhuren); calling the ticket clears it."""
    kiosk = await connect("kiosk")
    ticket = (await kiosk.request(IssueTicket, category="CJ")).ticket
    async with app.run_test(size=(120, 40)) as pilot:
        await log_in(pilot)
        assert text(app, "#alerts-heading") == "告警：无"
        clock.advance(minutes=11)
        await until(pilot, lambda: alert_rows(app), "the alert", timeout=ALERT_WAIT)
        assert alert_cell(app, 0, "severity") == "警告"
        about = alert_cell(app, 0, "about")
        assert about.startswith(f"综合出件 {ticket.number} 已等候 11") and "目标 10 分钟" in about
        assert alert_cell(app, 0, "acknowledged") == "未确认"
        assert "未确认 1" in text(app, "#alerts-heading")

        await pilot.press("a")
        await until(pilot, lambda: alert_cell(app, 0, "acknowledged") == "已确认（zhuren）", "seen")
        assert "告警已确认" in notices(app)
        assert "未确认 0" in text(app, "#alerts-heading")
        shown = (await server_snapshot(connect)).alerts
        assert [a.acknowledged_by for a in shown] == ["staff:zhuren"]
        await pilot.press("a")  # already acknowledged: told, not sent again
        await until(pilot, lambda: "该告警已确认" in notices(app), "already")

        window = await connect("window", window=14)
        await window.request(CallNext)
        await until(
            pilot,
            lambda: text(app, "#alerts-heading") == "告警：无",
            "cleared",
            timeout=ALERT_WAIT,
        )
        assert not app.screen.query_one("#alerts", DataTable).display
        await pilot.press("a")
        await until(pilot, lambda: "当前没有告警" in notices(app), "nothing to acknowledge")


async def test_a_bad_rating_is_shown_until_a_supervisor_acknowledges_it(
    app: AdminApp, connect: Connect
) -> None:
    """差评 (5 非常不满意) at window 3: shown with the window, ticket and rating;
    acknowledged, it is gone (from this console and from the server's open alerts)."""
    kiosk = await connect("kiosk")
    window = await connect("window", window=3)
    issued = await kiosk.request(IssueTicket, category="SW")
    await window.request(CallNext)
    await window.request(StartService)
    await window.request(FinishService)
    async with app.run_test(size=(120, 40)) as pilot:
        await log_in(pilot)
        await kiosk.request(
            Rate,
            ticket=issued.ticket.number,
            level=5,
            reasons=["服务态度不好"],
            secret=issued.secret,
        )
        await until(pilot, lambda: alert_rows(app), "the alert", timeout=ALERT_WAIT)
        about = alert_cell(app, 0, "about")
        assert about.startswith("3号窗口") and f"{issued.ticket.number} 收到差评（5 分）" in about
        await pilot.press("a")
        await until(pilot, lambda: text(app, "#alerts-heading") == "告警：无", "gone")
    assert (await server_snapshot(connect)).alerts == []


# -- moving a ticket -----------------------------------------------------------------------


async def test_move_a_waiting_ticket_to_another_category(
    app: AdminApp, connect: Connect, clocked_service: HallService
) -> None:
    """G: a GC ticket taken by mistake goes to 社会事务 with a reason; a move to where it is
    already is refused in words; a called ticket is refused in the dialog."""
    kiosk = await connect("kiosk")
    wrong = (await kiosk.request(IssueTicket, category="GC")).ticket
    async with app.run_test(size=(120, 40)) as pilot:
        await log_in(pilot)
        await until(pilot, lambda: queue_cell(app, "GC", "waiting") == "1", "GC waiting")
        for target in ("SW", "SW"):
            await pilot.press("g")
            await until(pilot, lambda: shows(app, TransferDialog), "the move dialog")
            app.screen.query_one("#ticket", Input).value = wrong.number.lower()
            app.screen.query_one("#to-category", Select).value = target
            app.screen.query_one("#reason", Input).value = "取错号"
            app.screen.query_one("#ok", Button).press()
            await until(pilot, lambda: shows(app, HallScreen), "the hall")
        await until(pilot, lambda: queue_cell(app, "SW", "waiting") == "1", "moved to SW")
        assert queue_cell(app, "GC", "waiting") == "0"
        assert f"{wrong.number} 已移动" in notices(app)
        await until(
            pilot,
            lambda: f"{wrong.number} 已在该类别/窗口，无需移动" in notices(app),
            "the second move refused",
        )

        window = await connect("window", window=11)
        await window.request(CallNext)
        await until(pilot, lambda: queue_cell(app, "SW", "waiting") == "0", "called")
        await pilot.press("g")
        await until(pilot, lambda: shows(app, TransferDialog), "the move dialog")
        app.screen.query_one("#ticket", Input).value = wrong.number
        app.screen.query_one("#to-window", Input).value = "3"
        app.screen.query_one("#reason", Input).value = "专人办理"
        app.screen.query_one("#ok", Button).press()
        await until(
            pilot,
            lambda: "只能作废或移动等候中的票" in text(app, ".dialog-problem"),
            "refused in the dialog",
        )
    moved = await ticket_state(clocked_service, wrong.number)
    assert (moved.category, moved.state) == ("SW", TicketState.CALLED)
    assert moved.transfers[-1].reason == "取错号"


async def test_move_a_waiting_ticket_to_a_named_window(
    app: AdminApp, connect: Connect, clocked_service: HallService
) -> None:
    """To window 2 by number: only window 2 may call it."""
    kiosk = await connect("kiosk")
    ticket = (await kiosk.request(IssueTicket, category="SW")).ticket
    async with app.run_test(size=(120, 40)) as pilot:
        await log_in(pilot)
        await pilot.press("g")
        await until(pilot, lambda: shows(app, TransferDialog), "the move dialog")
        app.screen.query_one("#ticket", Input).value = ticket.number
        app.screen.query_one("#to-window", Input).value = "2"
        app.screen.query_one("#reason", Input).value = "专人办理"
        app.screen.query_one("#ok", Button).press()
        await until(pilot, lambda: f"{ticket.number} 已移动" in notices(app), "moved")
    one = await connect("window", window=1)
    with pytest.raises(ServerError) as refused:
        await one.request(CallNext)
    assert refused.value.code is ErrorCode.QUEUE_EMPTY
    two = await connect("window", window=2)
    called = (await two.request(CallNext)).ticket
    assert called is not None and called.number == ticket.number


# -- issuing -----------------------------------------------------------------------------------


async def test_pause_and_resume_issuing_a_category_from_the_queues(
    app: AdminApp, connect: Connect
) -> None:
    """I on 企业开办 with a reason: the queues panel says so and kiosks are refused; I again
    resumes it."""
    kiosk = await connect("kiosk")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await log_in(pilot)
        assert queue_cell(app, "QY", "issuing") == "正常"
        await focus_queues_on(pilot, screen, "QY")
        await pilot.press("i")
        await until(pilot, lambda: shows(app, TextDialog), "the reason dialog")
        app.screen.query_one("#text", Input).value = "今日号已满"
        app.screen.query_one("#ok", Button).press()
        await until(pilot, lambda: queue_cell(app, "QY", "issuing") == "已停", "paused")
        assert "已停止取号：企业开办（今日号已满）" in text(app, "#queues-heading")
        assert "企业开办 已停止取号" in notices(app)
        with pytest.raises(ServerError) as refused:
            await kiosk.request(IssueTicket, category="QY")
        assert refused.value.code is ErrorCode.HALL_CLOSED
        assert refused.value.reply.reason == "issuing_paused"

        await pilot.press("i")
        await until(pilot, lambda: queue_cell(app, "QY", "issuing") == "正常", "resumed")
        assert text(app, "#queues-heading") == "排队"
        assert "企业开办 已恢复取号" in notices(app)
    assert (await kiosk.request(IssueTicket, category="QY")).ticket.category == "QY"


# -- the audit screen --------------------------------------------------------------------------


def audit_rows(app: AdminApp) -> list[dict[str, str]]:
    table = app.screen.query_one("#audit", DataTable)
    return [
        dict(zip(AUDIT_COLUMNS, (str(c) for c in table.get_row_at(i)), strict=True))
        for i in range(table.row_count)
    ]


async def search(pilot: Pilot[None], **filters: str) -> None:
    app = pilot.app
    assert isinstance(app, AdminApp)
    for field in ("account", "window", "ticket", "since"):
        app.screen.query_one(f"#{field}", Input).value = filters.get(field, "")
    app.screen.query_one("#audit-status", Static).update("")
    app.screen.query_one("#search", Button).press()
    await until(pilot, lambda: text(app, "#audit-status").startswith("共"), "the answer")


async def test_the_audit_lists_who_did_what_filters_and_exports_csv(
    app: AdminApp, connect: Connect, clock: Clock, tmp_path: Path
) -> None:
    """U: the trail, newest first; by account, window, ticket and start time; a bad time is
    told; the CSV holds what the screen lists."""
    kiosk = await connect("kiosk")
    desk = await connect("window", window=4)
    first = (await kiosk.request(IssueTicket, category="SW")).ticket
    await desk.request(CallNext)
    clock.advance(minutes=30)
    second = (await kiosk.request(IssueTicket, category="SW")).ticket
    admin = await connect("admin")
    await admin.request(CancelTicket, ticket=second.number, reason="市民离开")
    async with app.run_test(size=(200, 50)) as pilot:
        await log_in(pilot)
        await pilot.press("u")
        await until(pilot, lambda: shows(app, AuditScreen), "the audit screen")
        await until(pilot, lambda: text(app, "#audit-status").startswith("共"), "the answer")
        rows = audit_rows(app)
        assert (rows[0]["action"], rows[0]["by"]) == ("登录", "staff:zhuren")  # this console
        newest = rows[1]  # the void, the last thing anyone did before
        assert (newest["action"], newest["by"], newest["detail"]) == (
            "作废",
            "staff:zhuren",
            "市民离开",
        )
        assert ("叫号", "staff:ck04") in {(r["action"], r["by"]) for r in rows}

        await search(pilot, account="zhuren", ticket=second.number)
        rows = audit_rows(app)
        assert [(r["action"], r["ticket"], r["detail"]) for r in rows] == [
            ("作废", second.number, "市民离开")
        ]
        await search(pilot, window="4")
        assert {r["by"] for r in audit_rows(app)} == {"staff:ck04"}
        assert first.number in {r["ticket"] for r in audit_rows(app)}
        await search(pilot, ticket=first.number, since="10:20")  # the issue, the call: 10:00
        assert audit_rows(app) == []
        await search(pilot, ticket=first.number, since="2026-11-25 09:59")
        assert [r["action"] for r in audit_rows(app)] == ["叫号", "取号"]

        app.screen.query_one("#since", Input).value = "ten o'clock"
        app.screen.query_one("#search", Button).press()
        await until(
            pilot, lambda: "起始时间无效：ten o'clock" in text(app, "#audit-status"), "told"
        )
        assert [r["action"] for r in audit_rows(app)] == ["叫号", "取号"]  # unchanged

        path = tmp_path / "out" / "audit.csv"
        app.screen.query_one("#csv-path", Input).value = str(path)
        app.screen.query_one("#export", Button).press()
        await until(pilot, lambda: "无法写入文件" in text(app, "#audit-status"), "no folder")
        await asyncio.to_thread(path.parent.mkdir)
        app.screen.query_one("#export", Button).press()
        await until(pilot, lambda: "已导出 2 条" in text(app, "#audit-status"), "written")
        await pilot.press("escape")
        await until(pilot, lambda: shows(app, HallScreen), "back to the hall")
    content = await asyncio.to_thread(path.read_text, encoding="utf-8-sig")
    lines = list(csv.reader(io.StringIO(content)))
    assert lines[0] == ["seq", "time", "by", "action", "window", "ticket", "detail"]
    assert [(r[3], r[2], r[5]) for r in lines[1:]] == [
        ("ticket_called", "staff:ck04", first.number),
        ("ticket_issued", lines[2][2], first.number),
    ]
    assert lines[1][1].startswith("2026-11-25T10:00:00+08:00")


# -- the server's clock ------------------------------------------------------------------------


async def test_times_are_counted_on_the_servers_clock_whatever_the_pcs_says(
    url: str, tmp_path: Path, connect: Connect, clock: Clock
) -> None:
    """The supervisor's PC runs 7 minutes slow: window 11's time in state and the longest
    wait still read as the server has them (from the snapshot's `now`)."""
    slow = make_app(
        server=url,
        settings_path=tmp_path / "admin.json",
        clock=lambda: clock.now - timedelta(minutes=7),
    )
    kiosk = await connect("kiosk")
    await kiosk.request(IssueTicket, category="GC")
    await connect("window", window=11)  # SW SB: GC waits on
    clock.advance(minutes=2)
    async with slow.run_test(size=(120, 40)) as pilot:
        await log_in(pilot)
        await until(pilot, lambda: window_cell(slow, 11, "in_state") == "2分00秒", "2 min")
        assert queue_cell(slow, "GC", "longest") == "2分00秒"
