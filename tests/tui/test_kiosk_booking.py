"""Booking an appointment at the kiosk, driven by Pilot against a real server on port 0."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest
from escpos.printer import Dummy
from textual.pilot import Pilot
from textual.widgets import Button, Input

from kiosk.app import KioskApp, make_app
from kiosk.booking import (
    BookCategoryScreen,
    BookConfirmScreen,
    BookDayScreen,
    BookDetailsScreen,
    BookedScreen,
    BookItemScreen,
    BookSlotScreen,
)
from kiosk.i18n import Texts
from kiosk.printing import TicketPrinter
from kiosk.screens import NoticeScreen, StartScreen
from queue_protocol.errors import ErrorCode
from queue_protocol.messages import (
    BookAppointment,
    ErrorReply,
    ListAppointments,
    Priority,
)
from tests.conftest import KIOSK_TOKEN, Clock, Connect
from tests.tui.screens import shows
from tests.tui.test_kiosk import (
    SIZE,
    TODAY,
    check_in,
    on_screen,
    ready,
    text_of,
    ticket_shown,
    until,
)

pytestmark = pytest.mark.hall_clock  # the server runs on the test clock

PHONE = "13812345678"
HOLIDAY = date(2026, 11, 27)  # a Friday the hall does not open


@pytest.fixture
def hall_config(demo_config: dict[str, Any]) -> dict[str, Any]:
    """The demo hall with its real opening hours, closed on Friday 2026-11-27."""
    data = copy.deepcopy(demo_config)
    data["hall"]["holidays"] = [HOLIDAY.isoformat()]
    return data


@pytest.fixture
def kiosk(url: str, clock: Clock) -> KioskApp:
    return make_app(url, KIOSK_TOKEN, clock=clock, reset_after=600)


async def choose(pilot: Pilot[Any], category: str, item: str | None = "none") -> None:
    """From the start screen to the day screen: 预约, the category, its item if it asks."""
    app = pilot.app
    await pilot.click("#book")
    await on_screen(pilot, BookCategoryScreen)
    await pilot.click(f"#book-cat-{category}")
    await on_screen(pilot, BookItemScreen | BookDayScreen)
    if isinstance(app.screen, BookItemScreen):
        await pilot.click(f"#book-item-{item}")
        await on_screen(pilot, BookDayScreen)


async def slot_of(pilot: Pilot[Any], day: date, slot: str) -> None:
    """From the day screen to the details screen for `slot` on `day`."""
    await pilot.click(f"#book-day-{day:%Y%m%d}")
    await on_screen(pilot, BookSlotScreen)
    await pilot.click(f"#book-slot-{slot.replace(':', '')}")
    await on_screen(pilot, BookDetailsScreen)


async def fill_in(pilot: Pilot[Any], name: str, phone: str) -> None:
    """Type the name and the phone on the details screen, and go on."""
    await pilot.click("#book-name")
    await pilot.press(*name, "enter")
    await pilot.press(*phone, "enter")


async def appointments(connect: Connect, day: date = TODAY) -> list[Any]:
    admin = await connect("admin")
    return list((await admin.request(ListAppointments, day=day)).appointments)


async def test_book_then_check_in_with_the_printed_code(
    url: str, clock: Clock, connect: Connect
) -> None:
    """A citizen books 企业开办 at 10:30, takes the slip, and checks in with its code."""
    paper = Dummy()
    app = make_app(url, KIOSK_TOKEN, printer=TicketPrinter(lambda: paper, "dummy"), clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await choose(pilot, "QY", item="0")  # 企业设立登记
        await slot_of(pilot, TODAY, "10:30")
        await fill_in(pilot, "张三", PHONE)
        await on_screen(pilot, BookConfirmScreen)
        summary = text_of(app, "#book-summary")
        assert "企业设立登记" in summary and "10:30" in summary and PHONE in summary
        await pilot.click("#submit")
        await on_screen(pilot, BookedScreen)
        await until(pilot, lambda: "请取走预约凭条" in text_of(app, "#print-status"))
        assert app.last_booking is not None
        code = app.last_booking.appointment.code
        assert code in text_of(app, "#booked-code-text")
        assert "138****5678" in text_of(app, "#booked-when")
        assert PHONE not in text_of(app, "#booked-when")
    printed = paper.output
    assert code.encode() + b"\n" in printed
    assert "138****5678".encode("gb18030") in printed and PHONE.encode() not in printed
    assert "张三".encode("gb18030") not in printed
    [booked] = await appointments(connect)
    assert (booked.code, booked.name, booked.slot, booked.item) == (
        code,
        "张三",
        "10:30",
        "企业设立登记",
    )

    clock.advance(minutes=20)  # 10:20: check-in for 10:30 is open
    app = make_app(url, KIOSK_TOKEN, clock=clock, reset_after=600)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await check_in(pilot, code)
        ticket = (await ticket_shown(pilot)).issued.reply.ticket
        assert ticket.priority is Priority.APPOINTMENT and ticket.item == "企业设立登记"


async def test_a_full_slot_cannot_be_picked(kiosk: KioskApp, connect: Connect) -> None:
    """A fully booked slot is shown as full and tapping it goes nowhere."""
    other = await connect("kiosk")
    await other.request(
        BookAppointment, category="BB", day=TODAY, slot="14:30", name="李四", phone=PHONE
    )
    async with kiosk.run_test(size=SIZE) as pilot:
        app = await ready(pilot)
        await choose(pilot, "BB")
        await pilot.click(f"#book-day-{TODAY:%Y%m%d}")
        await on_screen(pilot, BookSlotScreen)
        full = app.screen.query_one("#book-slot-1430", Button)
        assert full.disabled and "已约满" in str(full.label)
        assert "余 1 位" in str(app.screen.query_one("#book-slot-1530", Button).label)
        slots = app.screen
        await pilot.click("#book-slot-1430")
        await pilot.pause()
        assert app.screen is slots
        await pilot.click("#book-slot-1530")
        await on_screen(pilot, BookDetailsScreen)
    assert [a.name for a in await appointments(connect)] == ["李四"]


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_a_bad_phone_is_refused_at_the_kiosk(
    url: str, clock: Clock, connect: Connect, lang: str
) -> None:
    """A mistyped mobile number (or no name) is said in the kiosk's language; nothing is booked."""
    t = Texts(lang)
    app = make_app(url, KIOSK_TOKEN, clock=clock, reset_after=600, lang=lang)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await choose(pilot, "GC")
        await slot_of(pilot, TODAY, "11:00")
        screen = app.screen
        for phone in ("1381234567", "23812345678"):  # ten digits; not a mobile prefix
            await fill_in(pilot, "Wang", phone)
            await until(pilot, lambda: text_of(app, "#book-problem") == t("phone_invalid"))
            assert app.screen is screen
            app.screen.query_one("#book-phone", Input).value = ""
        app.screen.query_one("#book-name", Input).value = ""
        await pilot.click("#next")
        await until(pilot, lambda: text_of(app, "#book-problem") == t("name_missing"))
        assert app.screen is screen
    assert await appointments(connect) == []


async def test_a_slot_taken_meanwhile_sends_the_citizen_back_to_the_slots(
    kiosk: KioskApp, connect: Connect
) -> None:
    """The last place taken between choosing and confirming: the slots again, fresh, saying
    so, with the name and number kept."""
    async with kiosk.run_test(size=SIZE) as pilot:
        app = await ready(pilot)
        await choose(pilot, "BB")
        await slot_of(pilot, TODAY, "15:30")
        await fill_in(pilot, "赵六", PHONE)
        await on_screen(pilot, BookConfirmScreen)
        other = await connect("kiosk")
        await other.request(
            BookAppointment, category="BB", day=TODAY, slot="15:30", name="钱七", phone=PHONE
        )
        await pilot.click("#submit")
        await until(pilot, lambda: isinstance(app.screen, BookSlotScreen) and app.screen.problem)
        await on_screen(pilot, BookSlotScreen)
        assert "刚刚约满" in text_of(app, "#book-problem")
        assert app.screen.query_one("#book-slot-1530", Button).disabled
        await pilot.click("#book-slot-1430")
        await on_screen(pilot, BookDetailsScreen)
        assert app.screen.query_one("#book-name", Input).value == "赵六"
        assert app.screen.query_one("#book-phone", Input).value == PHONE
    assert [a.name for a in await appointments(connect)] == ["钱七"]


async def test_days_the_hall_does_not_open_are_left_out(kiosk: KioskApp) -> None:
    """The day screen offers the days the hall opens among the next seven, not its holiday."""
    async with kiosk.run_test(size=SIZE) as pilot:
        app = await ready(pilot)
        await choose(pilot, "BB")
        days = [b.id for b in app.screen.query(".book-day")]
        opens = ["20261125", "20261126", "20261128", "20261129", "20261130", "20261201"]
        assert days == [f"book-day-{d}" for d in opens]
        assert "今天" in str(app.screen.query_one(f"#book-day-{TODAY:%Y%m%d}", Button).label)


async def test_back_goes_one_step_back_and_escape_too(kiosk: KioskApp) -> None:
    """返回 on a booking screen goes to the step before; from the first, to the start."""
    async with kiosk.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await choose(pilot, "QY")
        await pilot.click("#back")
        await on_screen(pilot, BookItemScreen)
        await pilot.press("escape")
        await on_screen(pilot, BookCategoryScreen)
        await pilot.click("#back")
        await on_screen(pilot, StartScreen)


async def test_booking_screens_go_back_to_the_start_when_left_alone(url: str, clock: Clock) -> None:
    """A booking screen nobody touches for the reset time goes back to the start screen."""
    app = make_app(url, KIOSK_TOKEN, clock=clock, reset_after=3.0)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await choose(pilot, "QY")
        await slot_of(pilot, TODAY, "11:00")
        await on_screen(pilot, StartScreen, timeout=20)


async def test_the_network_failing_offers_a_retry_that_books_once(
    kiosk: KioskApp, connect: Connect
) -> None:
    """Retrying a booking whose answer was lost sends the same request id: one booking."""
    async with kiosk.run_test(size=SIZE) as pilot:
        app = await ready(pilot)
        request = BookAppointment(
            id="book-1", category="QY", day=TODAY, slot="16:00", name="孙八", phone=PHONE
        )
        assert app.request_booking(request)
        first = await on_booked(pilot)
        await pilot.press("enter")
        await on_screen(pilot, StartScreen)
        assert app.request_booking(request)  # as the retry button does
        again = await on_booked(pilot, after=first)
        assert again.booked.appointment.code == first.booked.appointment.code
    assert len(await appointments(connect)) == 1


async def on_booked(pilot: Pilot[Any], after: BookedScreen | None = None) -> BookedScreen:
    """Wait for a booked screen other than `after`, laid out."""
    await until(pilot, lambda: shows(pilot.app, BookedScreen) and pilot.app.screen is not after)
    screen = pilot.app.screen
    assert isinstance(screen, BookedScreen)
    return screen


@pytest.mark.parametrize(
    ("error", "zh", "en"),
    [
        (
            ErrorReply(code=ErrorCode.HALL_CLOSED, message="closed (holiday)", reason="holiday"),
            "11月27日 周五 大厅不办公",
            "closed on Fri 27 Nov",
        ),
        (
            ErrorReply(code=ErrorCode.CAPACITY_REACHED, message="x", reason="slot_full"),
            "刚刚约满",
            "just been fully booked",
        ),
        (
            ErrorReply(code=ErrorCode.BAD_REQUEST, message="the slot has already begun"),
            "现在不能预约",
            "can no longer be booked",
        ),
        (
            ErrorReply(code=ErrorCode.NOT_FOUND, message="QY takes no appointments"),
            "有调整",
            "has just changed",
        ),
        (
            ErrorReply(code=ErrorCode.INTERNAL, message="secret server detail"),
            "代码 internal",
            "code internal",
        ),
    ],
)
def test_booking_refusals_are_built_from_the_error_fields(
    error: ErrorReply, zh: str, en: str, clock: Clock
) -> None:
    """A refused booking's text comes from its code and fields, never its message."""
    for lang, expected in (("zh", zh), ("en", en)):
        app = make_app("ws://127.0.0.1:1", KIOSK_TOKEN, clock=clock, lang=lang)
        _title, message = app.booking_refusal_text(error, HOLIDAY)
        assert expected in message
        assert error.message not in message


@pytest.mark.parametrize("size", [(80, 24), (100, 30)], ids=["80x24", "100x30"])
async def test_every_booking_screen_shows_its_buttons_and_back(
    kiosk: KioskApp, size: tuple[int, int]
) -> None:
    """At 80x24 too, each booking screen shows every button whole, 返回 among them."""
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

        async def check() -> None:
            await pilot.pause()
            assert off_screen() == [], type(app.screen).__name__
            back = app.screen.query_one("#back", Button)
            assert str(back.label) == "返回"

        await pilot.press("b")
        await on_screen(pilot, BookCategoryScreen)
        await check()
        await pilot.click("#book-cat-GC")  # three items by appointment: the most
        await on_screen(pilot, BookItemScreen)
        await check()
        await pilot.click("#book-item-none")
        await on_screen(pilot, BookDayScreen)
        await check()
        await pilot.click("#book-day-20261126")
        await on_screen(pilot, BookSlotScreen)
        await check()
        await pilot.click("#book-slot-0900")
        await on_screen(pilot, BookDetailsScreen)
        await check()
        await fill_in(pilot, "Li", "1")
        await until(pilot, lambda: bool(text_of(app, "#book-problem")))
        await check()
        app.screen.query_one("#book-phone", Input).value = PHONE
        await pilot.click("#next")
        await on_screen(pilot, BookConfirmScreen)
        await check()
        await pilot.click("#submit")
        await on_screen(pilot, BookedScreen)
        await check()
        await pilot.click("#back")
        await on_screen(pilot, StartScreen)


async def test_no_booking_without_slots(url: str, clock: Clock, clocked_service: Any) -> None:
    """A hall that takes no appointments says so instead of an empty list."""
    data = clocked_service.export_config()
    data["appointments"]["slots"] = []
    clocked_service.import_config(data)
    app = make_app(url, KIOSK_TOKEN, clock=clock, reset_after=600)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("b")
        await on_screen(pilot, NoticeScreen)
        assert "没有可以预约的业务" in text_of(app, "#notice-message")
