"""The console's 评必反馈 screen against a real server on its test clock: every 差评's case
listed live, its detail, and its steps taken from the screen; the server's own state (GetCase)
is checked after each."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.table import Table
from textual.pilot import Pilot
from textual.widgets import Button, DataTable, Input, Select, Static

from admin_console.app import AdminApp, make_app
from admin_console.screens.cases import CASE_COLUMNS, CasesScreen
from admin_console.screens.dialogs import CaseStepDialog
from queue_protocol.messages import (
    CallNext,
    CaseAction,
    CaseState,
    CaseView,
    FinishService,
    GetCase,
    IssueTicket,
    Rate,
    StartService,
    UpdateCase,
)
from tests.conftest import Clock, Connect
from tests.tui.screens import shows
from tests.tui.test_admin_console import log_in, notices, text
from tests.tui.test_window_client import until

pytestmark = pytest.mark.hall_clock

ACT_WAIT = 10.0  # a step's round trip on a loaded machine


@pytest.fixture
def app(url: str, tmp_path: Path, clock: Clock) -> AdminApp:
    return make_app(server=url, settings_path=tmp_path / "admin.json", clock=clock)


async def bad_rating(
    connect: Connect, window: int = 3, reasons: tuple[str, ...] = ("服务态度不好",)
) -> str:
    """A 社会事务 ticket served at `window`, rated 5 非常不满意 from a kiosk with the
    ticket's secret (its slip's QR code): its number."""
    kiosk = await connect("kiosk")
    desk = await connect("window", window=window)
    issued = await kiosk.request(IssueTicket, category="SW")
    await desk.request(CallNext)
    await desk.request(StartService)
    await desk.request(FinishService)
    await kiosk.request(
        Rate, ticket=issued.ticket.number, level=5, reasons=list(reasons), secret=issued.secret
    )
    number: str = issued.ticket.number
    return number


async def server_case(connect: Connect, case: int) -> CaseView:
    admin = await connect("admin")
    view: CaseView = (await admin.request(GetCase, case=case)).case
    return view


def case_cell(app: AdminApp, case: int, column: str) -> str:
    table = app.screen.query_one("#cases", DataTable)
    return str(table.get_row(str(case))[CASE_COLUMNS.index(column)])


def offered(app: AdminApp) -> set[str]:
    """The actions the screen offers for the selected case (its buttons shown)."""
    buttons = app.screen.query("#case-acts Button").results(Button)
    return {(b.id or "").removeprefix("act-") for b in buttons if b.display}


def steps_shown(app: AdminApp) -> int:
    table = app.screen.query_one("#case-steps", Static).content
    return table.row_count if isinstance(table, Table) else 0


async def open_cases(pilot: Pilot[None]) -> CasesScreen:
    app = pilot.app
    assert isinstance(app, AdminApp)
    await pilot.press("r")
    await until(pilot, lambda: shows(app, CasesScreen), "the cases screen")
    screen = app.screen
    assert isinstance(screen, CasesScreen)
    await until(pilot, lambda: screen.loaded, "the list")
    return screen


async def take_step(
    pilot: Pilot[None],
    key: str,
    text_value: str = "",
    *,
    level: int | None = None,
    owner: str | None = None,
) -> None:
    """Press the action's key, fill its dialog in and send it."""
    app = pilot.app
    await pilot.press(key)
    await until(pilot, lambda: shows(app, CaseStepDialog), f"the dialog of {key}")
    if level is not None:
        app.screen.query_one("#level", Select).value = level
    if owner is not None:
        app.screen.query_one("#owner", Input).value = owner
    app.screen.query_one("#text", Input).value = text_value
    app.screen.query_one("#ok", Button).press()
    await until(pilot, lambda: shows(app, CasesScreen), "back on the cases")


async def test_a_bad_rating_is_listed_live_and_walked_to_its_close(
    app: AdminApp, connect: Connect
) -> None:
    """R opens the cases (none yet); a 差评 given meanwhile appears with its state, ticket,
    level, reason, window, staff, owner (mine: zhuren's) and due time; verify → rectify →
    answer → call_back → close from the screen, each recorded by the server, each offering
    only what its state allows; closed, the case stays listed and offers nothing."""
    async with app.run_test(size=(120, 40)) as pilot:
        await log_in(pilot)
        await open_cases(pilot)
        assert "未办结 0 件" in text(app, "#cases-heading")
        assert "没有工单" in text(app, "#cases-heading")

        number = await bad_rating(connect, reasons=("服务态度不好", "等候时间过长"))
        table = app.screen.query_one("#cases", DataTable)
        await until(pilot, lambda: table.row_count == 1, "the case, live", timeout=ACT_WAIT)
        assert case_cell(app, 1, "state") == "待核实"
        assert case_cell(app, 1, "ticket") == number
        assert case_cell(app, 1, "level") == "非常不满意"
        assert case_cell(app, 1, "reasons") == "服务态度不好；等候时间过长"
        assert case_cell(app, 1, "window") == "3号窗口"
        assert case_cell(app, 1, "staff") == "张伟"
        assert case_cell(app, 1, "owner") == "★邓主任（我）"
        # Opened 2026-11-25 (a Wednesday): five working days on, the weekend skipped.
        assert case_cell(app, 1, "due") == "12-02"
        assert "未办结 1 件 · 超期 0 · 我负责 1" in text(app, "#cases-heading")
        rating = text(app, "#case-rating")
        assert f"5 非常不满意（二维码，2026-11-25 10:00）  票号 {number}" in rating
        assert "工作人员：张伟" in rating
        assert offered(app) == {"verify", "appeal", "assign"}

        walk = [
            ("v", "调阅录像：窗口人员离岗十分钟", None, CaseState.VERIFIED, "已核实"),
            ("r", "窗口人员离岗须报备", None, CaseState.RECTIFYING, "整改中"),
            ("a", "已电话致歉并说明整改措施", None, CaseState.ANSWERED, "已反馈"),
            ("b", "群众表示认可", 2, CaseState.CALLED_BACK, "已回访"),
            ("c", "", None, CaseState.CLOSED, "已办结"),
        ]
        offers = [
            {"rectify", "answer", "appeal", "assign"},
            {"rectify", "answer", "appeal", "assign"},
            {"call_back", "assign"},
            {"close", "assign"},
            set(),
        ]
        for (key, said, level, state, shown), offer in zip(walk, offers, strict=True):
            await take_step(pilot, key, said, level=level)
            await until(pilot, lambda w=shown: case_cell(app, 1, "state") == w, shown, ACT_WAIT)
            case = await server_case(connect, 1)
            assert case.state is state
            assert case.steps[-1].text == said and case.steps[-1].by == "staff:zhuren"
            assert offered(app) == offer
        assert case.callback_level == 2 and case.answered_on_time is True
        assert steps_shown(app) == 6  # opened and the five steps
        assert "已于 11-25 10:00 按期反馈 · 回访：满意" in text(app, "#case-rating")
        assert "1 号工单：办结已记录，现为「已办结」" in notices(app)

        await pilot.press("v")  # nothing is offered for a closed case: told, not sent
        await until(pilot, lambda: "1 号工单现为「已办结」，不能核实" in notices(app), "told")
        assert len((await server_case(connect, 1)).steps) == 6


async def test_an_appeal_is_reviewed_by_another_supervisor(
    url: str, tmp_path: Path, clock: Clock, connect: Connect
) -> None:
    """zhuren appeals the case; his own review (uphold) is refused in words and changes
    nothing; what an appealed case is not offered (verify) is not sent; admin, another
    supervisor, excludes the rating: the case ends 已剔除 and the rating leaves the figures."""
    await bad_rating(connect)
    zhuren = make_app(server=url, settings_path=tmp_path / "a.json", clock=clock)
    async with zhuren.run_test(size=(120, 40)) as pilot:
        await log_in(pilot)
        await open_cases(pilot)
        await until(pilot, lambda: offered(zhuren) == {"verify", "appeal", "assign"}, "case")
        await take_step(pilot, "p", "该群众当日未在3号窗口办理业务")
        await until(pilot, lambda: case_cell(zhuren, 1, "state") == "申诉中", "appealed")
        assert (await server_case(connect, 1)).state is CaseState.APPEALED
        assert offered(zhuren) == {"uphold", "exclude", "assign"}

        await take_step(pilot, "u", "评价成立")
        refused = "该申诉由您本人提出，须由另一位值班主任复核"
        await until(pilot, lambda: refused in notices(zhuren), "refused", timeout=ACT_WAIT)
        await pilot.press("v")
        await until(pilot, lambda: "1 号工单现为「申诉中」，不能核实" in notices(zhuren), "told")
        case = await server_case(connect, 1)
        assert case.state is CaseState.APPEALED and len(case.steps) == 2

    admin = make_app(server=url, settings_path=tmp_path / "b.json", clock=clock)
    async with admin.run_test(size=(120, 40)) as pilot:
        await log_in(pilot, "admin")
        await open_cases(pilot)
        await until(pilot, lambda: offered(admin) == {"uphold", "exclude", "assign"}, "case")
        assert case_cell(admin, 1, "owner") == "邓主任"  # not admin's
        await take_step(pilot, "e", "核实系误评")
        await until(
            pilot, lambda: case_cell(admin, 1, "state") == "已剔除", "excluded", timeout=ACT_WAIT
        )
        case = await server_case(connect, 1)
        assert case.state is CaseState.EXCLUDED and case.rating.excluded
        assert case.steps[-1].by == "staff:admin"
        assert "申诉成立：该评价已剔除" in text(admin, "#case-rating")
        assert offered(admin) == set()


async def test_finished_cases_overdue_ones_and_assigning(
    app: AdminApp, connect: Connect, clock: Clock
) -> None:
    """A case closed before the screen opened is listed only with H; an open one past its
    due time is marked 超期 as the clock passes it; assign asks for an account (an unknown
    one refused in words) and the case is no longer mine."""
    await bad_rating(connect, window=3)
    await bad_rating(connect, window=4)
    supervisor = await connect("admin")
    for action, extra in (
        (CaseAction.VERIFY, {}),
        (CaseAction.ANSWER, {}),
        (CaseAction.CALL_BACK, {"level": 3}),
        (CaseAction.CLOSE, {}),
    ):
        await supervisor.request(UpdateCase, case=1, action=action, text="已处理", **extra)
    async with app.run_test(size=(120, 40)) as pilot:
        await log_in(pilot)
        await open_cases(pilot)
        table = app.screen.query_one("#cases", DataTable)
        await until(pilot, lambda: table.row_count == 1, "the open case")
        assert case_cell(app, 2, "state") == "待核实"
        await pilot.press("h")
        await until(pilot, lambda: table.row_count == 2, "the closed one too", timeout=ACT_WAIT)
        assert case_cell(app, 1, "state") == "已办结"
        assert "（含已办结）" in text(app, "#cases-heading")

        clock.advance(days=8)  # past 12-02's end
        await until(pilot, lambda: "超期" in case_cell(app, 2, "due"), "overdue", timeout=ACT_WAIT)
        assert case_cell(app, 2, "due") == "12-02 超期"
        assert "超期" not in case_cell(app, 1, "due")  # answered on time
        assert "超期 1" in text(app, "#cases-heading")

        app.screen.query_one("#cases", DataTable).move_cursor(row=table.get_row_index("2"))
        await until(pilot, lambda: "assign" in offered(app), "case 2 selected")
        await take_step(pilot, "o", owner="nobody")
        told = "没有账号 nobody，或该账号已停用"
        await until(pilot, lambda: told in notices(app), "refused", timeout=ACT_WAIT)
        await take_step(pilot, "o", "转请管理员处理", owner="admin")
        await until(
            pilot, lambda: case_cell(app, 2, "owner") == "系统管理员", "assigned", timeout=ACT_WAIT
        )
        case = await server_case(connect, 2)
        assert case.owner == "admin" and case.state is CaseState.OPEN
        assert "我负责 0" in text(app, "#cases-heading")


async def test_a_dialog_asks_for_what_its_step_needs_and_the_server_decides(
    app: AdminApp, connect: Connect
) -> None:
    """Verify without a text is refused in the dialog itself, Escape leaves the case as it
    was; a verify sent after another supervisor verified it meanwhile is refused by the
    server, said in words from its state."""
    await bad_rating(connect)
    async with app.run_test(size=(120, 40)) as pilot:
        await log_in(pilot)
        await open_cases(pilot)
        await until(pilot, lambda: "verify" in offered(app), "the case")
        await pilot.press("v")
        await until(pilot, lambda: shows(app, CaseStepDialog), "the dialog")
        app.screen.query_one("#ok", Button).press()
        await until(pilot, lambda: text(app, ".dialog-problem") == "请填写内容", "told")
        await pilot.press("escape")
        await until(pilot, lambda: shows(app, CasesScreen), "back")
        assert (await server_case(connect, 1)).state is CaseState.OPEN

        await pilot.press("v")
        await until(pilot, lambda: shows(app, CaseStepDialog), "the dialog again")
        other = await connect("admin", user="admin")
        await other.request(UpdateCase, case=1, action=CaseAction.VERIFY, text="已核实")
        await until(pilot, lambda: app.board.cases[1].state is CaseState.VERIFIED, "the event")
        app.screen.query_one("#text", Input).value = "调阅录像"
        app.screen.query_one("#ok", Button).press()
        told = "1 号工单现为「已核实」，不能核实"
        await until(pilot, lambda: told in notices(app), "refused", timeout=ACT_WAIT)
        await until(pilot, lambda: case_cell(app, 1, "state") == "已核实", "shown")
        case = await server_case(connect, 1)
        assert [s.by for s in case.steps] == [case.steps[0].by, "staff:admin"]
