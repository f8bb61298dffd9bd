"""Snapshots of the supervisor console, against a real server on a fixed clock, at 120x40 and
200x50, in Chinese and English."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input

from admin_console.app import AdminApp, make_app
from admin_console.i18n import Language
from admin_console.screens.dialogs import TextDialog
from queue_protocol.client import Credentials, QueueClient
from queue_protocol.messages import (
    CallNext,
    FinishService,
    IssueTicket,
    PauseWindow,
    Priority,
    Role,
    SetNotice,
    StartService,
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
    await supervisor.close()
    await log_in(pilot)
    table = app.screen.query_one("#windows", DataTable)
    await until(pilot, lambda: table.row_count == 15, "the board")
    assert app.hall_screen is not None
    app.hall_screen.select_window(11)
    app.hall_screen.render_hall()
    await pilot.pause()
    return app


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

    assert snap_compare(app, terminal_size=SIZES["120x40"], run_before=run_before)
