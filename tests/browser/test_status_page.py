"""The ticket status page in a real browser: Debian's headless Chromium, driven through
chromium-driver by selenium, against the real server on port 0, at a phone's width.

The browser is driven from threads (`asyncio.to_thread`): the server runs on this test's
event loop and must go on serving while the browser waits.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import struct
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from queue_protocol.client import Credentials, QueueClient
from queue_protocol.messages import (
    CallNext,
    EndChain,
    FinishService,
    IssueTicket,
    ListRatings,
    Role,
    StartService,
    TicketReply,
)
from queue_server.server import QueueServer
from queue_server.service import HallService
from tests.conftest import DEMO_PASSWORD, KIOSK_TOKEN

PHONE_WIDTH = 360
INSTALL_HINT = (
    "the status page's browser tests need Debian's chromium and chromium-driver: "
    "apt-get install -y chromium chromium-driver"
)
# Where a run may leave its screenshot for docs/ (YICHUANG_SCREENSHOTS=docs).
SCREENSHOTS = os.environ.get("YICHUANG_SCREENSHOTS")
T = TypeVar("T")


def _browser_binaries() -> tuple[str, str]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or driver is None:
        if os.environ.get("CI") == "true":
            pytest.fail(INSTALL_HINT)
        pytest.skip(INSTALL_HINT)
    return chromium, driver


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    chromium, driver = _browser_binaries()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--lang=zh-CN",
        f"--user-data-dir={tmp_path / 'chromium'}",
    ):
        options.add_argument(argument)
    # A phone's screen: headless Chromium keeps its windows at least 500 px wide.
    phone = {"width": PHONE_WIDTH, "height": 780, "pixelRatio": 1.0, "touch": True}
    options.add_experimental_option("mobileEmulation", {"deviceMetrics": phone})
    chrome = webdriver.Chrome(options=options, service=Service(executable_path=driver))
    try:
        yield chrome
    finally:
        chrome.quit()


class Hall:
    """A real server on a port of its own, which the test can stop and start again."""

    def __init__(self, service: HallService) -> None:
        self.service = service
        self.server: QueueServer | None = None
        self.port = 0

    async def start(self) -> None:
        service = HallService(self.service.engine, clock=self.service.clock)
        self.server = QueueServer(service, port=self.port, poll_interval=0.05)
        self.port = await self.server.start()

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()
            self.server = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def page(self, reply: TicketReply) -> str:
        return f"http://127.0.0.1:{self.port}/t/{reply.ticket.id}?k={reply.secret}"


@pytest.fixture
async def hall(service: HallService) -> AsyncIterator[Hall]:
    running = Hall(service)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


async def _in_browser(fn: Callable[[], T]) -> T:
    return await asyncio.to_thread(fn)


async def _until(browser: WebDriver, condition: Callable[[WebDriver], Any], what: str) -> None:
    """Wait (in a thread, up to 20 s) until `condition` holds in the browser."""
    await _in_browser(
        lambda: WebDriverWait(browser, 20, poll_frequency=0.1).until(condition, message=what)
    )


def _text(browser: WebDriver, element: str) -> str:
    return str(browser.find_element(By.ID, element).text)


def _shown(browser: WebDriver, element: str) -> bool:
    return bool(browser.find_element(By.ID, element).is_displayed())


async def test_the_page_follows_the_queue_the_call_and_a_server_restart(
    hall: Hall, browser: WebDriver, tmp_path: Path
) -> None:
    kiosk = QueueClient(hall.url, Credentials(role=Role.KIOSK, token=KIOSK_TOKEN))
    window = QueueClient(
        hall.url, Credentials(role=Role.WINDOW, user="ck11", password=DEMO_PASSWORD, window=11)
    )
    await kiosk.start()
    await window.start()
    try:
        for _ in range(2):
            await kiosk.request(IssueTicket, category="SW")
        mine: TicketReply = await kiosk.request(IssueTicket, category="SW")

        await _in_browser(lambda: browser.get(hall.page(mine)))
        await _until(browser, lambda b: _text(b, "number") == "C003", "the ticket's number")
        assert _text(browser, "category") == "社会事务"
        assert _text(browser, "state") == "等候中"
        await _until(browser, lambda b: _text(b, "ahead") == "2", "two people ahead")
        width = await _in_browser(
            lambda: browser.execute_script("return [innerWidth, document.body.scrollWidth]")
        )
        assert width[0] == PHONE_WIDTH and width[1] <= PHONE_WIDTH, width  # no sideways scroll
        await _screenshot(browser, tmp_path / "status-page.png")

        await window.request(CallNext)  # C001
        await _until(browser, lambda b: _text(b, "ahead") == "1", "one person ahead")
        await window.request(StartService)
        await window.request(FinishService)
        await window.request(CallNext)  # C002
        await _until(browser, lambda b: _text(b, "ahead") == "0", "no one ahead")
        assert _shown(browser, "next")  # 下一位就是您
        await window.request(StartService)
        await window.request(FinishService)

        await window.request(CallNext)  # mine
        await _until(browser, lambda b: _shown(b, "called"), "the call")
        assert _text(browser, "window") == "社会事务11号"
        assert _text(browser, "state") == "正在叫号"
        assert "社会事务11号" in await _in_browser(lambda: browser.title)
        await _screenshot(browser, tmp_path / "status-page-called.png")

        await _in_browser(lambda: browser.find_element(By.ID, "lang").click())
        await _until(browser, lambda b: _text(b, "state") == "Called", "the English page")
        await _in_browser(lambda: browser.find_element(By.ID, "lang").click())
        await _until(browser, lambda b: _text(b, "state") == "正在叫号", "back to Chinese")

        assert not _shown(browser, "banner")
        await hall.stop()
        await _until(browser, lambda b: _shown(b, "banner"), "the reconnect banner")
        assert _text(browser, "banner") == "连接中断，正在重新连接…"
        await hall.start()  # the same port, the same database
        await _until(browser, lambda b: not _shown(b, "banner"), "the banner gone")
        assert _text(browser, "number") == "C003" and _text(browser, "state") == "正在叫号"

        await window.wait_connected(20)  # the window client is back too
        await window.request(StartService)
        await window.request(FinishService)
        await _until(browser, lambda b: _shown(b, "rating"), "the rating buttons")
        await _in_browser(
            lambda: browser.find_element(By.CSS_SELECTOR, "#levels button[data-level='1']").click()
        )
        await _until(browser, lambda b: _shown(b, "thanks"), "thanks for the rating")
        assert not _shown(browser, "rating")
    finally:
        await kiosk.close()
        await window.close()


async def test_a_wrong_link_shows_nothing_of_the_ticket(hall: Hall, browser: WebDriver) -> None:
    async with QueueClient(hall.url, Credentials(role=Role.KIOSK, token=KIOSK_TOKEN)) as kiosk:
        mine: TicketReply = await kiosk.request(IssueTicket, category="SW")
    wrong = hall.page(mine).replace(f"k={mine.secret}", "k=not-the-secret")
    await _in_browser(lambda: browser.get(wrong))
    await _until(browser, lambda b: _shown(b, "invalid"), "the invalid-link page")
    assert _text(browser, "invalid-title") == "链接无效"
    assert not _shown(browser, "ticket")
    assert mine.ticket.number not in await _in_browser(lambda: browser.page_source)


async def _screenshot(browser: WebDriver, shot: Path) -> None:
    """A screenshot at the phone's width (kept in $YICHUANG_SCREENSHOTS when set: docs/)."""
    await _in_browser(lambda: browser.save_screenshot(str(shot)))
    assert _png_width(shot) == PHONE_WIDTH
    if SCREENSHOTS:
        shutil.copy(shot, Path(SCREENSHOTS) / shot.name)


def _png_width(path: Path) -> int:
    """The width of a PNG, from its IHDR chunk."""
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return int(struct.unpack(">I", header[16:20])[0])


async def test_a_bad_rating_asks_for_its_reason_before_it_is_sent(
    hall: Hall, browser: WebDriver
) -> None:
    """不满意 and 非常不满意 need a reason (好差评): the page shows the hall's reasons and
    sends nothing until one is chosen; then the rating is recorded with it."""
    async with (
        QueueClient(hall.url, Credentials(role=Role.KIOSK, token=KIOSK_TOKEN)) as kiosk,
        QueueClient(
            hall.url,
            Credentials(role=Role.WINDOW, user="ck11", password=DEMO_PASSWORD, window=11),
        ) as window,
        QueueClient(
            hall.url, Credentials(role=Role.ADMIN, user="zhuren", password=DEMO_PASSWORD)
        ) as admin,
    ):
        mine: TicketReply = await kiosk.request(IssueTicket, category="SW")
        for verb in (CallNext, StartService, FinishService):
            await window.request(verb)
        await _in_browser(lambda: browser.get(hall.page(mine)))
        await _until(browser, lambda b: _shown(b, "rating"), "the rating buttons")
        assert not _shown(browser, "why")
        await _in_browser(
            lambda: browser.find_element(By.CSS_SELECTOR, "#levels button[data-level='5']").click()
        )
        await _until(browser, lambda b: _shown(b, "why"), "the reasons")
        reasons = await _in_browser(
            lambda: [b.text for b in browser.find_elements(By.CSS_SELECTOR, "#reasons button")]
        )
        assert reasons[:2] == ["服务态度不好", "等候时间过长"]
        assert (await admin.request(ListRatings)).ratings == []  # nothing sent yet
        assert not _shown(browser, "thanks")
        await _in_browser(
            lambda: browser.find_elements(By.CSS_SELECTOR, "#reasons button")[1].click()
        )
        await _until(browser, lambda b: _shown(b, "thanks"), "thanks for the rating")
        [rated] = (await admin.request(ListRatings)).ratings
        assert (rated.level, rated.reasons, rated.channel.value) == (5, ["等候时间过长"], "qr")
        assert rated.case is not None  # a 差评 opens its follow-up case


async def test_a_one_chain_visit_is_rated_step_then_visit_as_a_whole(
    hall: Hall, browser: WebDriver
) -> None:
    """The page of a one-chain visit (一链办理) rates its last step, then asks for the
    visit as a whole, then thanks the citizen; both are recorded by the slip (qr)."""
    async with (
        QueueClient(hall.url, Credentials(role=Role.KIOSK, token=KIOSK_TOKEN)) as kiosk,
        QueueClient(
            hall.url,
            Credentials(role=Role.WINDOW, user="ck05", password=DEMO_PASSWORD, window=5),
        ) as window,
        QueueClient(
            hall.url, Credentials(role=Role.ADMIN, user="zhuren", password=DEMO_PASSWORD)
        ) as admin,
    ):
        mine: TicketReply = await kiosk.request(IssueTicket, category="QY", item="企业设立登记")
        for verb in (CallNext, StartService, FinishService, CallNext, StartService):
            await window.request(verb)
        await window.request(EndChain, reason="申请人材料不全，改日再办")
        await _in_browser(lambda: browser.get(hall.page(mine)))
        await _until(browser, lambda b: _shown(b, "rating"), "the rating buttons")
        assert _text(browser, "rate-prompt") == "请对本次服务进行评价："

        def level(n: int) -> None:
            browser.find_element(By.CSS_SELECTOR, f"#levels button[data-level='{n}']").click()

        await _in_browser(lambda: level(2))
        await _until(
            browser, lambda b: "整体体验" in _text(b, "rate-prompt"), "the visit's question"
        )
        assert _shown(browser, "rating") and not _shown(browser, "thanks")
        await _in_browser(lambda: level(1))
        await _until(browser, lambda b: _shown(b, "thanks"), "thanks for the rating")
        assert not _shown(browser, "rating")
        ratings = (await admin.request(ListRatings)).ratings
        rated = sorted((r.step is None, r.level, r.channel.value) for r in ratings)
        assert rated == [(False, 2, "qr"), (True, 1, "qr")]
