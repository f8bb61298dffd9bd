"""The kiosk driven by Pilot against a real server on port 0, with the hall on a test clock."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, Input, Static

from kiosk.app import KioskApp, make_app
from kiosk.i18n import Texts
from kiosk.screens import (
    AdminExitScreen,
    CheckInScreen,
    ClosedScreen,
    ConfirmGreenScreen,
    NoticeScreen,
    ServiceScreen,
    StartScreen,
    TicketScreen,
)
from queue_protocol.client import QueueClient, ServerError
from queue_protocol.errors import ErrorCode
from queue_protocol.messages import (
    BookAppointment,
    CallTicket,
    CancelAppointment,
    CheckIn,
    ErrorReply,
    IssueTicket,
    PauseIssuing,
    Priority,
    ResumeIssuing,
    TicketState,
    TicketStatus,
)
from tests.conftest import KIOSK_TOKEN, Clock, Connect
from tests.tui.screens import shows
from tests.tui.test_display_readability import AA, contrast

TODAY = date(2026, 11, 25)  # the clock fixture starts at 10:00 Shanghai, a Wednesday
SIZE = (110, 40)


pytestmark = pytest.mark.hall_clock  # the server runs on the test clock


@pytest.fixture
def hall_config(demo_config: dict[str, Any]) -> dict[str, Any]:
    """The demo hall with its real opening hours; 综合出件 (CJ) may issue one ticket a day."""
    data = copy.deepcopy(demo_config)
    next(c for c in data["categories"] if c["code"] == "CJ")["daily_capacity"] = 1
    return data


@pytest.fixture
def kiosk(url: str, clock: Clock) -> KioskApp:
    return make_app(url, KIOSK_TOKEN, clock=clock, reset_after=600)


async def until(pilot: Pilot[Any], condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Let the app run until `condition` holds; fail after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out; screen is {type(pilot.app.screen).__name__}")
        await pilot.pause(0.02)


async def on_screen(pilot: Pilot[Any], kind: Any, timeout: float = 10.0) -> None:
    """Wait until the kiosk shows a screen of `kind`, laid out (tests/tui/screens.py)."""
    await until(pilot, lambda: shows(pilot.app, kind), timeout)


async def ready(pilot: Pilot[Any]) -> KioskApp:
    app = pilot.app
    assert isinstance(app, KioskApp)

    def laid_out() -> bool:
        buttons = app.screen.query(".category")
        return bool(buttons) and all(b.region.width > 0 for b in buttons)

    await until(pilot, lambda: app.ready and laid_out())
    return app


def text_of(app: KioskApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def ticket_shown(pilot: Pilot[Any]) -> TicketScreen:
    """Wait for the ticket screen, laid out: its buttons are clicked next."""
    await on_screen(pilot, TicketScreen)
    screen = pilot.app.screen
    assert isinstance(screen, TicketScreen)
    return screen


async def ticket_shown_anew(pilot: Pilot[Any], previous: TicketScreen) -> TicketScreen:
    """Wait for a ticket screen other than `previous` (the next ticket)."""
    await until(
        pilot,
        lambda: shows(pilot.app, TicketScreen) and pilot.app.screen is not previous,
    )
    screen = pilot.app.screen
    assert isinstance(screen, TicketScreen)
    return screen


async def notice_shown(pilot: Pilot[Any]) -> str:
    await until(pilot, lambda: isinstance(pilot.app.screen, NoticeScreen))
    return text_of(pilot.app, "#notice-message")  # type: ignore[arg-type]


async def test_take_a_ticket_in_each_priority_class(kiosk: KioskApp) -> None:
    """Normal, green-channel (after confirming eligibility) and assisted tickets are issued."""
    async with kiosk.run_test(size=SIZE) as pilot:
        app = await ready(pilot)
        await pilot.click("#cat-SW")
        await on_screen(pilot, ServiceScreen)
        await pilot.click("#prio-normal")
        screen = await ticket_shown(pilot)
        assert screen.issued.reply.ticket.number == "C001"
        assert screen.issued.reply.ticket.priority is Priority.NORMAL
        assert "C001" in text_of(app, "#number-text") and "社会事务" in text_of(
            app, "#ticket-category"
        )
        assert "前面还有 0 人" in text_of(app, "#ticket-wait")
        assert "2026-11-25 10:00" in text_of(app, "#ticket-time")
        await pilot.click("#done")
        await ready(pilot)

        await pilot.press("3")  # 社会事务 is the third category
        await on_screen(pilot, ServiceScreen)
        await pilot.click("#prio-green")
        await on_screen(pilot, ConfirmGreenScreen)
        await pilot.click("#confirm-yes")
        screen = await ticket_shown(pilot)
        assert screen.issued.reply.ticket.priority is Priority.GREEN
        await pilot.press("enter")
        await ready(pilot)

        await pilot.press("3", "a")
        screen = await ticket_shown(pilot)
        assert screen.issued.reply.ticket.priority is Priority.ASSISTED
        assert screen.issued.reply.ticket.number == "C003"


async def test_green_channel_can_be_declined(kiosk: KioskApp, connect: Connect) -> None:
    """Declining the eligibility question issues nothing."""
    async with kiosk.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("3", "g")
        await on_screen(pilot, ConfirmGreenScreen)
        await pilot.click("#confirm-no")
        await on_screen(pilot, ServiceScreen)
    probe = await connect("kiosk")
    assert (await probe.request(IssueTicket, category="SW")).ticket.number == "C001"


async def test_service_item_shows_its_materials(kiosk: KioskApp) -> None:
    """Choosing a service item lists its required materials and puts it on the ticket."""
    async with kiosk.run_test(size=SIZE) as pilot:
        app = await ready(pilot)
        await pilot.click("#cat-QY")
        await on_screen(pilot, ServiceScreen)
        await pilot.click("#item-0")
        assert "公司章程" in text_of(app, "#materials")
        await pilot.click("#prio-normal")
        screen = await ticket_shown(pilot)
        assert screen.issued.reply.ticket.item == "企业设立登记"


async def test_capacity_reached_issues_nothing(kiosk: KioskApp, connect: Connect) -> None:
    """When a category's daily capacity is used up the kiosk says so and issues nothing."""
    async with kiosk.run_test(size=SIZE) as pilot:
        app = await ready(pilot)
        for _ in range(2):
            await pilot.click("#cat-CJ")
            await on_screen(pilot, ServiceScreen)
            await pilot.click("#prio-normal")
            await on_screen(pilot, TicketScreen | NoticeScreen)
            if isinstance(app.screen, TicketScreen):
                await pilot.click("#done")
                await ready(pilot)  # the start screen is back and laid out: tap it
        message = await notice_shown(pilot)
        assert "综合出件" in message and "取完" in message
    probe = await connect("kiosk")
    with pytest.raises(ServerError) as missing:
        await probe.request(TicketStatus, ticket="G002")
    assert missing.value.code is ErrorCode.NOT_FOUND


async def test_closed_hall_shows_the_closed_screen(
    url: str, clock: Clock, connect: Connect
) -> None:
    """Outside opening hours the kiosk shows the closed screen and offers no categories."""
    clock.now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # 20:00 in Shanghai
    app = make_app(url, KIOSK_TOKEN, clock=clock, reset_after=600)
    async with app.run_test(size=SIZE) as pilot:
        await on_screen(pilot, ClosedScreen)
        assert "暂停取号" in text_of(app, "#notice-message")
        await pilot.press("1")
        assert isinstance(app.screen, ClosedScreen)
        clock.now = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)  # 09:00 next morning
        app.refresh_snapshot()
        await on_screen(pilot, StartScreen)


async def test_closing_between_screens_and_past_closing(kiosk: KioskApp, clock: Clock) -> None:
    """A hall that closed meanwhile, or a wait running past closing, issues nothing."""
    async with kiosk.run_test(size=SIZE) as pilot:
        app = await ready(pilot)
        await pilot.click("#cat-QY")
        await on_screen(pilot, ServiceScreen)
        clock.now = datetime(2026, 11, 25, 11, 0, tzinfo=UTC)  # 19:00
        await pilot.click("#prio-normal")
        assert "暂停取号" in await notice_shown(pilot)
        await pilot.click("#done")
        await on_screen(pilot, ClosedScreen)

        clock.now = datetime(2026, 11, 25, 10, 25, tzinfo=UTC)  # 18:25, closing at 18:30
        app.refresh_snapshot()
        await ready(pilot)
        await pilot.click("#cat-QY")  # 12-minute services: the wait runs past 18:30
        await on_screen(pilot, ServiceScreen)
        await pilot.click("#prio-normal")
        assert "下班时间" in await notice_shown(pilot)


async def book(client: QueueClient, slot: str) -> str:
    reply = await client.request(
        BookAppointment, category="QY", day=TODAY, slot=slot, name="张三", phone="13812345678"
    )
    return str(reply.appointment.code)


async def check_in(pilot: Pilot[Any], code: str, *, keypad: bool = False) -> None:
    app = pilot.app
    await pilot.click("#check-in")
    await on_screen(pilot, CheckInScreen)
    if keypad:
        for char in code:
            await pilot.click(f"#key-{char}")
        assert app.screen.query_one("#code", Input).value == code
        await pilot.click("#submit")
    else:
        await pilot.press(*code.lower(), "enter")


async def home(pilot: Pilot[Any]) -> None:
    await pilot.press("escape")
    await ready(pilot)


async def test_appointment_check_in(kiosk: KioskApp, clock: Clock, connect: Connect) -> None:
    """Check-in on time, early, late, twice and with a wrong code, as the citizen sees it."""
    booker = await connect("kiosk")
    on_time, early, late = [await book(booker, slot) for slot in ("10:30", "11:00", "14:00")]
    clock.advance(minutes=20)  # 10:20: check-in for 10:30 runs 10:15-10:45
    async with kiosk.run_test(size=SIZE) as pilot:
        app = await ready(pilot)
        await check_in(pilot, on_time, keypad=True)
        first = (await ticket_shown(pilot)).issued.reply.ticket
        assert first.priority is Priority.APPOINTMENT
        assert "预约号" in text_of(app, "#ticket-note")
        await home(pilot)

        await check_in(pilot, on_time)  # twice: the same ticket again
        again = await ticket_shown(pilot)
        assert again.issued.reply.ticket.id == first.id
        assert "之前取得" in text_of(app, "#ticket-note")
        await home(pilot)

        await check_in(pilot, early)
        assert "10:45" in await notice_shown(pilot)
        await home(pilot)

        await check_in(pilot, "XXXXXX")
        assert "没有找到" in await notice_shown(pilot)
        await home(pilot)

        clock.advance(hours=3, minutes=56)  # 14:16: past 14:00 + 15 minutes
        await check_in(pilot, late)
        screen = await ticket_shown(pilot)
        assert screen.issued.reply.ticket.priority is Priority.NORMAL
        assert "普通号" in text_of(app, "#ticket-note")


async def test_ticket_screen_returns_home_by_itself(url: str, clock: Clock) -> None:
    """After a few seconds the ticket screen goes back to the start screen on its own."""
    # Long enough that a loaded machine still sees the ticket screen before it goes.
    app = make_app(url, KIOSK_TOKEN, clock=clock, reset_after=3.0)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("5", "n")
        await ticket_shown(pilot)
        await on_screen(pilot, StartScreen, timeout=20)


async def test_retry_reuses_the_request_id(kiosk: KioskApp, connect: Connect) -> None:
    """Sending the same citizen action twice (a retry) issues one ticket, shown twice."""
    async with kiosk.run_test(size=SIZE) as pilot:
        app = await ready(pilot)
        request = IssueTicket(id="retry-1", category="SB", priority=Priority.NORMAL)
        assert app.request_ticket(request)
        first = (await ticket_shown(pilot)).issued.reply.ticket
        await home(pilot)
        assert app.request_ticket(request)
        second = (await ticket_shown(pilot)).issued.reply.ticket
        assert first.id == second.id == f"{TODAY:%Y%m%d}-E001"
    probe = await connect("kiosk")
    assert (await probe.request(IssueTicket, category="SB")).ticket.number == "E002"


async def test_english_is_available(url: str, clock: Clock) -> None:
    """The kiosk speaks Chinese by default and switches to English with one key."""
    app = make_app(url, KIOSK_TOKEN, clock=clock, reset_after=600)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert "请选择" in text_of(app, "#prompt")
        await pilot.press("l")
        await until(pilot, lambda: "Please choose" in text_of(app, "#prompt"))
        await pilot.press("2", "n")
        await ticket_shown(pilot)
        assert "people ahead" in text_of(app, "#ticket-wait")


async def test_one_chain_ticket_shows_its_steps(kiosk: KioskApp) -> None:
    """A ticket for a one-chain item says how many steps the visit has and the first one."""
    async with kiosk.run_test(size=SIZE) as pilot:
        app = await ready(pilot)
        await pilot.click("#cat-QY")
        await on_screen(pilot, ServiceScreen)
        await pilot.click("#item-0")  # 企业设立登记: five steps
        await pilot.click("#prio-normal")
        screen = await ticket_shown(pilot)
        assert screen.issued.reply.ticket.steps == 5
        assert text_of(app, "#ticket-chain") == "一链办理 共5步，第1步：企业登记"
        await pilot.click("#done")
        await ready(pilot)
        await pilot.press("1", "n")  # no item: one step, no chain note
        await ticket_shown(pilot)
        assert not app.screen.query("#ticket-chain")


async def test_check_in_refusals_say_why(kiosk: KioskApp, clock: Clock, connect: Connect) -> None:
    """Check-in opening another day, a cancelled and a missed appointment each get their text."""
    booker = await connect("kiosk")
    tomorrow = await booker.request(
        BookAppointment,
        category="QY",
        day=date(2026, 11, 26),
        slot="09:30",
        name="李四",
        phone="13912345678",
    )
    cancelled, missed = await book(booker, "11:00"), await book(booker, "10:30")
    await booker.request(CancelAppointment, code=cancelled)
    async with kiosk.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await check_in(pilot, tomorrow.appointment.code)
        assert "11月26日 09:15" in await notice_shown(pilot)
        await home(pilot)
        await check_in(pilot, cancelled)
        assert "已经取消" in await notice_shown(pilot)
        await home(pilot)

        clock.now = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)  # 09:00 next day: closed out
        await until(pilot, lambda: kiosk.ready and isinstance(kiosk.screen, StartScreen))
        await check_in(pilot, missed)
        assert "时间已经过了" in await notice_shown(pilot)


async def test_repeated_check_in_shows_the_ticket_state(
    kiosk: KioskApp, clock: Clock, connect: Connect
) -> None:
    """A code used again brings back its ticket with its state while it is open (called);
    once the ticket is over (expired at the close-out) the code is refused as used."""
    code = await book(await connect("kiosk"), "10:30")
    clock.advance(minutes=20)  # 10:20: check-in is open
    async with kiosk.run_test(size=SIZE) as pilot:
        app = await ready(pilot)
        await check_in(pilot, code)
        ticket = (await ticket_shown(pilot)).issued.reply.ticket
        assert not app.screen.query("#ticket-state")  # waiting: nothing to say
        await home(pilot)
        await (await connect("window", window=3)).request(CallTicket, ticket=ticket.id)

        await check_in(pilot, code)
        again = await ticket_shown(pilot)
        assert again.issued.reply.already_checked_in
        assert "正在呼叫" in text_of(app, "#ticket-state")
        await home(pilot)

        clock.now = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)  # 09:00 next day: closed out
        await until(pilot, lambda: app.ready and isinstance(app.screen, StartScreen))
        await check_in(pilot, code)
        await on_screen(pilot, NoticeScreen)
        assert "已经签到办理过" in text_of(app, "#notice-message")
        assert ticket.number in text_of(app, "#notice-message")
        assert "已过期" in text_of(app, "#notice-message")


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("state", list(TicketState))
def test_every_ticket_state_has_a_label(lang: str, state: TicketState) -> None:
    """Each ticket state, expired included, has its own label in both languages."""
    labels = {Texts(lang).state(s) for s in TicketState}
    assert len(labels) == len(TicketState)
    assert Texts(lang).state(state) != Texts("zh" if lang == "en" else "en").state(state)


SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("request_", "error", "zh", "en"),
    [
        (
            CheckIn(id="c", code="A3C7KM"),
            ErrorReply(
                code=ErrorCode.TOO_EARLY,
                message="opens at 99:99",
                at=datetime(2026, 11, 25, 10, 45, tzinfo=SHANGHAI),
            ),
            "请于 10:45 以后",
            "after 10:45.",
        ),
        (
            CheckIn(id="c", code="A3C7KM"),
            ErrorReply(
                code=ErrorCode.TOO_EARLY,
                message="opens at 10:45",
                at=datetime(2026, 11, 27, 1, 15, tzinfo=UTC),
            ),
            "请于 11月27日 09:15 以后",
            "after 09:15 on 2026-11-27",
        ),
        (
            CheckIn(id="c", code="A3C7KM"),
            ErrorReply(code=ErrorCode.TOO_EARLY, message="opens at 10:45"),
            "稍后再来",
            "come back later",
        ),
        (
            IssueTicket(id="i", category="QY"),
            ErrorReply(
                code=ErrorCode.HALL_CLOSED,
                message="closed now",
                reason="past_closing",
                at=datetime(2026, 11, 25, 10, 30, tzinfo=UTC),
                estimated_wait_minutes=42.4,
            ),
            "预计等候约 42 分钟，超过了今天的下班时间 18:30",
            "about 42 min) runs past today's closing time, 18:30",
        ),
        (
            IssueTicket(id="i", category="QY"),
            ErrorReply(code=ErrorCode.HALL_CLOSED, message="past closing", reason="closed_now"),
            "现在不是办公时间",
            "The hall is closed.",
        ),
        (
            IssueTicket(id="i", category="QY"),
            ErrorReply(code=ErrorCode.CAPACITY_REACHED, message="x", reason="daily_capacity"),
            "已经取完",
            "have been taken",
        ),
        (
            CheckIn(id="c", code="A3C7KM"),
            ErrorReply(code=ErrorCode.INVALID_STATE, message="was cancelled", reason="missed"),
            "时间已经过了",
            "time has passed",
        ),
        (
            CheckIn(id="c", code="A3C7KM"),
            ErrorReply(code=ErrorCode.INVALID_STATE, message="has passed", reason="cancelled"),
            "已经取消",
            "was cancelled",
        ),
        (
            CheckIn(id="c", code="A3C7KM"),
            ErrorReply(code=ErrorCode.NOT_FOUND, message="no appointment"),
            "没有找到这个签到码",
            "No appointment has this code",
        ),
        (
            IssueTicket(id="i", category="QY"),
            ErrorReply(code=ErrorCode.BAD_REQUEST, message="secret server detail"),
            "代码 bad_request",
            "code bad_request",
        ),
    ],
)
def test_refusals_are_built_from_the_error_fields(
    request_: IssueTicket | CheckIn, error: ErrorReply, zh: str, en: str, clock: Clock
) -> None:
    """A refusal's text is built from its code and fields in the hall's zone, never its message."""
    for lang, expected in (("zh", zh), ("en", en)):
        app = make_app("ws://127.0.0.1:1", KIOSK_TOKEN, clock=clock, lang=lang)
        _title, message = app.refusal_text(request_, error)
        assert expected in message
        assert error.message not in message


async def test_late_taps_on_a_screen_no_longer_shown_do_nothing(kiosk: KioskApp) -> None:
    """A tap or reset timer of a screen the citizen has left never acts on the screen shown."""
    async with kiosk.run_test(size=SIZE) as pilot:
        app = await ready(pilot)
        await pilot.press("1", "n")
        ticket_screen = await ticket_shown(pilot)
        await pilot.click("#done")
        start = app.screen
        await ready(pilot)
        await pilot.click("#cat-QY")
        await on_screen(pilot, ServiceScreen)
        service = app.screen
        # A second tap on a category that arrives once the service screen is up, and the
        # ticket screen's reset timer firing late: neither moves the citizen on.
        start.query_one("#cat-CJ", Button).press()
        ticket_screen.go_home()
        await pilot.pause()
        assert app.screen is service and len(app.screen_stack) == 3
        await pilot.click("#prio-normal")
        assert (await ticket_shown(pilot)).issued.reply.ticket.number == "A002"


async def test_second_tap_while_waiting_issues_one_ticket(
    kiosk: KioskApp, connect: Connect
) -> None:
    """Tapping again while the server answers neither issues a second ticket nor loses one."""
    async with kiosk.run_test(size=SIZE) as pilot:
        app = await ready(pilot)
        await pilot.click("#cat-SW")
        await on_screen(pilot, ServiceScreen)
        normal = app.screen.query_one("#prio-normal", Button)
        normal.press()
        await until(
            pilot, lambda: app.ticket_request is not None or isinstance(app.screen, TicketScreen)
        )
        normal.press()  # the same citizen, impatient: the request is out or answered
        screen = await ticket_shown(pilot)
        assert screen.issued.reply.ticket.number == "C001"
        await pilot.pause()
        assert app.screen is screen
        # While one request waits for its reply, another is not even sent.
        assert app.request_ticket(IssueTicket(id="first", category="SW"))
        assert not app.request_ticket(IssueTicket(id="second", category="SW"))
        assert (await ticket_shown_anew(pilot, screen)).issued.reply.ticket.number == "C002"
    probe = await connect("kiosk")
    assert (await probe.request(IssueTicket, category="SW")).ticket.number == "C003"


async def test_citizens_cannot_leave_the_kiosk(kiosk: KioskApp) -> None:
    """No PIN configured: Ctrl+Q and Ctrl+C do nothing, Ctrl+P opens no command palette."""
    async with kiosk.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        start = kiosk.screen
        await pilot.press("ctrl+q", "ctrl+c", "ctrl+p")
        await pilot.pause()
        assert kiosk.is_running
        assert kiosk.screen is start


async def test_the_administrator_leaves_with_the_pin(url: str, clock: Clock) -> None:
    """Ctrl+Q asks for the PIN: a wrong one is refused (and cleared), Escape goes back to
    the kiosk, three wrong ones close the box, the right one exits."""
    kiosk = make_app(url, KIOSK_TOKEN, clock=clock, reset_after=600, admin_pin="2468")
    async with kiosk.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        start = kiosk.screen
        await pilot.press("ctrl+q")
        await until(pilot, lambda: isinstance(kiosk.screen, AdminExitScreen))
        await pilot.press(*"1111", "enter")
        await until(pilot, lambda: text_of(kiosk, "#admin-problem") == "密码不正确")
        assert kiosk.screen.query_one("#admin-pin", Input).value == ""
        await pilot.press("escape")
        await until(pilot, lambda: kiosk.screen is start)
        await pilot.press("ctrl+q")
        await until(pilot, lambda: isinstance(kiosk.screen, AdminExitScreen))
        for _ in range(3):
            await pilot.press(*"0000", "enter")
        await until(pilot, lambda: kiosk.screen is start)
        assert kiosk.is_running
        await pilot.press("ctrl+q")
        await until(pilot, lambda: isinstance(kiosk.screen, AdminExitScreen))
        await pilot.press(*"2468", "enter")
        await until(pilot, lambda: not kiosk.is_running)


async def test_the_return_to_the_start_counts_down(kiosk: KioskApp, clock: Clock) -> None:
    """The ticket screen's "N 秒后自动返回首页" counts down with the clock."""
    async with kiosk.run_test(size=SIZE) as pilot:
        app = await ready(pilot)
        await pilot.click("#cat-SW")
        await on_screen(pilot, ServiceScreen)
        await pilot.click("#prio-normal")
        await ticket_shown(pilot)
        assert text_of(app, "#returning") == "600 秒后自动返回首页"
        clock.advance(seconds=42)
        await until(pilot, lambda: text_of(app, "#returning") == "558 秒后自动返回首页")


async def test_the_start_screen_shows_how_many_wait_per_category(
    kiosk: KioskApp, connect: Connect
) -> None:
    """Each category's button says how many wait, kept current from queue_changed."""
    async with kiosk.run_test(size=SIZE) as pilot:
        app = await ready(pilot)

        def label(code: str) -> str:
            return str(app.screen.query_one(f"#cat-{code}", Button).label)

        assert "等候 0 人" in label("SW")
        other = await connect("kiosk")
        for _ in range(2):
            await other.request(IssueTicket, category="SW")
        await until(pilot, lambda: "等候 2 人" in label("SW"))
        assert "等候 0 人" in label("QY")


async def test_chosen_item_reads_well_and_the_green_channel_is_green(kiosk: KioskApp) -> None:
    """The selected service item is at WCAG AA contrast (it was white on orange); the
    绿色通道 button is green (it was orange)."""
    async with kiosk.run_test(size=SIZE) as pilot:
        app = await ready(pilot)
        await pilot.click("#cat-SW")
        await on_screen(pilot, ServiceScreen)
        await pilot.click("#item-0")
        chosen = app.screen.query_one("#item-0", Button)
        await until(pilot, lambda: chosen.has_class("-selected"))
        await pilot.pause()
        assert contrast(chosen) >= AA
        green = app.screen.query_one("#prio-green", Button).rich_style.bgcolor
        assert green is not None
        r, g, b = green.get_truecolor()
        assert g > r and g > b, (r, g, b)


@pytest.mark.parametrize("size", [(80, 24), (100, 30)], ids=["80x24", "100x30"])
async def test_every_button_of_every_screen_is_on_screen(
    kiosk: KioskApp, size: tuple[int, int]
) -> None:
    """At 80x24 too, the start, service (with items) and ticket screens show every button
    whole: 返回 is never below the bottom row."""
    async with kiosk.run_test(size=size) as pilot:
        app = await ready(pilot)

        def off_screen() -> list[str]:
            width, height = size
            return [
                f"{b.id} at {b.region}"
                for b in app.screen.query(Button)
                if b.display
                and not b.has_class("-hidden")
                and (b.region.bottom > height or b.region.right > width or not b.region.area)
            ]

        assert off_screen() == []
        await pilot.click("#cat-QY")
        await on_screen(pilot, ServiceScreen)
        await pilot.pause()
        assert off_screen() == []
        await pilot.press("n")
        await ticket_shown(pilot)
        await pilot.pause()
        assert off_screen() == []
        await pilot.press("enter")  # done: back to the start
        await on_screen(pilot, StartScreen)
        await pilot.press("c")
        await on_screen(pilot, CheckInScreen)
        await pilot.pause()
        assert off_screen() == []


def paused_button(app: KioskApp) -> bool | None:
    """Whether the start screen's 综合出件 button is disabled (None: not on screen now)."""
    if not shows(app, StartScreen):
        return None
    button = next(iter(app.screen.query("#cat-CJ").results(Button)), None)
    return None if button is None else button.disabled


async def test_a_category_paused_by_a_supervisor_issues_nothing_until_resumed(
    kiosk: KioskApp, connect: Connect
) -> None:
    """The kiosk shows the pause on the category's button (disabled) and says so if its key
    is pressed; a kiosk that had not heard yet is refused and says so in its words."""
    admin = await connect("admin")
    async with kiosk.run_test(size=SIZE) as pilot:
        app = await ready(pilot)
        await admin.request(PauseIssuing, category="CJ", reason="今日号已满")
        await until(
            pilot,
            lambda: (
                bool(app.screen.query("#cat-CJ"))
                and app.screen.query_one("#cat-CJ", Button).disabled
            ),
        )
        await ready(pilot)
        label = str(app.screen.query_one("#cat-CJ", Button).label)
        assert "暂停取号" in label and "今日号已满" not in label
        await pilot.press(str(1 + [c.code for c in app.categories].index("CJ")))
        message = await notice_shown(pilot)
        assert "综合出件" in message and "暂停取号" in message
        await pilot.click("#done")
        await on_screen(pilot, StartScreen)
        await admin.request(ResumeIssuing, category="CJ")
        await until(
            pilot,
            lambda: (
                shows(app, StartScreen) and not app.screen.query_one("#cat-CJ", Button).disabled
            ),
        )
    refused_text = app.refusal_text(
        IssueTicket(id="x", category="CJ"),
        ErrorReply(code=ErrorCode.HALL_CLOSED, message="secret detail", reason="issuing_paused"),
    )
    assert "综合出件" in refused_text[1] and "secret" not in refused_text[1]
