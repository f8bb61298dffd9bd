"""Snapshots of the kiosk's start, ticket, closed and booking screens (fixed clock, real
server)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from pytest_textual_snapshot import SVGImageExtension
from syrupy.assertion import SnapshotAssertion
from textual.pilot import Pilot
from textual.widgets import Input

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
from kiosk.screens import ClosedScreen
from queue_server.hall import appointments
from tests.conftest import KIOSK_TOKEN, Clock
from tests.tui.test_kiosk import SIZE, on_screen, ready, text_of, ticket_shown, until

pytestmark = pytest.mark.hall_clock  # the server runs on the test clock


@pytest.fixture
def hall_config(demo_config: dict[str, Any]) -> dict[str, Any]:
    """The demo hall with its real opening hours."""
    return copy.deepcopy(demo_config)


@pytest.fixture
def svg(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(SVGImageExtension)


def kiosk(url: str, clock: Clock) -> KioskApp:
    return make_app(url, KIOSK_TOKEN, clock=clock, reset_after=600)


async def test_start_screen(url: str, clock: Clock, svg: SnapshotAssertion) -> None:
    """The start screen: hall name, clock, notice, one big button per category."""
    app = kiosk(url, clock)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.pause()
        assert svg == app.export_screenshot()


async def test_ticket_screen(url: str, clock: Clock, svg: SnapshotAssertion) -> None:
    """The ticket screen: big number, category, people ahead, estimated wait, time."""
    app = kiosk(url, clock)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("1", "n")
        await ticket_shown(pilot)
        await pilot.pause()
        assert svg == app.export_screenshot()


async def test_closed_screen(url: str, clock: Clock, svg: SnapshotAssertion) -> None:
    """The closed screen shown outside opening hours."""
    clock.now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # 20:00 in Shanghai
    app = kiosk(url, clock)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ClosedScreen))
        await pilot.pause()
        assert svg == app.export_screenshot()


async def test_one_chain_ticket_screen(url: str, clock: Clock, svg: SnapshotAssertion) -> None:
    """A one-chain ticket: the number, its item, and the steps of the visit (一链办理)."""
    app = kiosk(url, clock)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.click("#cat-QY")
        await until(pilot, lambda: bool(app.screen.query("#item-0")))
        await pilot.click("#item-0")
        await pilot.click("#prio-normal")
        await ticket_shown(pilot)
        await pilot.pause()
        assert svg == app.export_screenshot()


BOOKING_STEPS = ["category", "item", "day", "slot", "details", "confirm", "booked"]


async def book_up_to(pilot: Pilot[Any], step: str) -> None:
    """Through the booking screens as far as `step`: 企业开办 (QY), 企业设立登记, tomorrow
    09:30, 张三 with a mistyped number first (the details screen is shown with its error)."""
    app = pilot.app
    screens = [
        ("#book", BookCategoryScreen),
        ("#book-cat-QY", BookItemScreen),
        ("#book-item-0", BookDayScreen),
        ("#book-day-20261126", BookSlotScreen),
        ("#book-slot-0930", BookDetailsScreen),
    ]
    for (button, kind), name in zip(screens, BOOKING_STEPS, strict=False):
        await pilot.click(button)
        await on_screen(pilot, kind)
        if name == step != "details":
            return
    await pilot.press(*"张三", "enter", *"1381234", "enter")
    await until(pilot, lambda: bool(text_of(app, "#book-problem")))  # type: ignore[arg-type]
    if step == "details":
        return
    await pilot.press(*"5678", "enter")
    await on_screen(pilot, BookConfirmScreen)
    if step == "confirm":
        return
    await pilot.click("#submit")
    await on_screen(pilot, BookedScreen)


@pytest.mark.parametrize("step", BOOKING_STEPS)
@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_booking_screens(
    url: str,
    clock: Clock,
    svg: SnapshotAssertion,
    monkeypatch: pytest.MonkeyPatch,
    lang: str,
    size: tuple[int, int],
    step: str,
) -> None:
    """Each booking screen, in both languages, on the smallest and a roomy terminal."""
    monkeypatch.setattr(appointments, "new_code", lambda: "A3C7KM")  # the code on screen
    app = make_app(url, KIOSK_TOKEN, clock=clock, reset_after=600, lang=lang)
    async with app.run_test(size=size) as pilot:
        await ready(pilot)
        await book_up_to(pilot, step)
        for field in app.screen.query(Input):
            field.cursor_blink = False  # a steady cursor: the same picture every time
        await pilot.pause()
        assert svg == app.export_screenshot()
