"""Snapshots of the rating pad at 80x24, the smallest screen it runs on (real server, test
clock): the welcome, the question, and a 差评's reasons."""

from __future__ import annotations

import pytest
from pytest_textual_snapshot import SVGImageExtension
from syrupy.assertion import SnapshotAssertion

from rating_pad.screens import ReasonScreen
from tests.conftest import Clock
from tests.tui.test_kiosk import until
from tests.tui.test_rating_pad import (  # noqa: F401 (hall_fixture: the fixture `hall`)
    SIZE,
    Hall,
    hall_fixture,
    on_screen,
    pad,
    served_and_asked,
    welcomed,
)

pytestmark = pytest.mark.hall_clock


@pytest.fixture
def svg(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(SVGImageExtension)


async def test_welcome(url: str, clock: Clock, hall: Hall, svg: SnapshotAssertion) -> None:
    """欢迎, the window, and who works there with the 工号."""
    app = pad(url, clock)
    async with app.run_test(size=SIZE) as pilot:
        await welcomed(pilot)
        await pilot.pause()
        assert svg == app.export_screenshot()


@pytest.mark.parametrize("step", ["question", "reasons"])
async def test_question(
    url: str, clock: Clock, hall: Hall, svg: SnapshotAssertion, step: str
) -> None:
    """请对本次服务进行评价: the ticket's number, large, and the five levels; after 非常不满意,
    the hall's reasons (the first chosen), the typed reason, 提交 and 返回."""
    app = pad(url, clock)
    async with app.run_test(size=SIZE) as pilot:
        await served_and_asked(pilot, hall)
        if step == "reasons":
            await pilot.press("5")
            await on_screen(pilot, ReasonScreen)
            await pilot.press("1")  # by key: no pressed button's look to race the picture
            await until(pilot, lambda: app.screen.query_one("#reason-0").has_class("-selected"))
        await pilot.pause()
        assert svg == app.export_screenshot()
