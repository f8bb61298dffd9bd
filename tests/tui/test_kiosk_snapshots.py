"""Snapshots of the kiosk's start, ticket and closed screens (fixed clock, real server)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from pytest_textual_snapshot import SVGImageExtension
from syrupy.assertion import SnapshotAssertion

from kiosk.app import KioskApp, make_app
from kiosk.screens import ClosedScreen
from tests.conftest import KIOSK_TOKEN, Clock
from tests.tui.test_kiosk import SIZE, ready, ticket_shown, until

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
