"""Snapshots of the window client's screens, against a real server on a fixed clock."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Select, Static

from queue_protocol.client import Credentials, QueueClient
from queue_protocol.messages import IssueTicket, Priority, Role, WindowState
from queue_server.server import Limits, running
from queue_server.service import HallService
from staff_tui.dialogs import ConfirmDialog
from tests.conftest import KIOSK_TOKEN, Clock
from tests.tui.screens import shows
from tests.tui.test_window_client import log_in, until
from window_client.app import WindowApp, make_app
from window_client.i18n import Language
from window_client.screens.dialogs import (
    CancelNumberDialog,
    EndChainDialog,
    TransferDialog,
)

SIZE = (120, 40)
SMALL = (80, 24)  # the smallest terminal the desk must stay readable in
SnapCompare = Callable[..., bool]


@pytest.fixture
def threaded_url(clocked_service: HallService) -> Iterator[str]:
    """The real server in a thread of its own: snap_compare runs the app in its own loop."""
    ready = threading.Event()
    box: dict[str, object] = {}

    async def serve() -> None:
        stop = asyncio.Event()
        box["stop"], box["loop"] = stop, asyncio.get_running_loop()
        async with running(
            clocked_service, port=0, limits=Limits(rate=10_000, burst=10_000), poll_interval=0.05
        ) as server:
            box["port"] = server.port
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(10), "the server did not start"
    yield f"ws://127.0.0.1:{box['port']}"
    loop = box["loop"]
    assert isinstance(loop, asyncio.AbstractEventLoop)
    loop.call_soon_threadsafe(box["stop"].set)  # type: ignore[attr-defined]
    thread.join(10)


async def serving_scene(pilot: Pilot[None], clock: Clock, url: str) -> WindowApp:
    """Tickets waiting in two categories (one over target), window 11 serving a green ticket."""
    app = pilot.app
    assert isinstance(app, WindowApp)
    kiosk = QueueClient(url, Credentials(role=Role.KIOSK, token=KIOSK_TOKEN))
    await kiosk.start()
    await kiosk.request(IssueTicket, category="SB")
    clock.advance(minutes=12)
    await kiosk.request(IssueTicket, category="SW", item="食品经营许可", priority=Priority.GREEN)
    await kiosk.request(IssueTicket, category="SW")
    await kiosk.close()
    clock.advance(minutes=6, seconds=30)
    screen = await log_in(pilot, 11)
    await pilot.press("n")
    await until(pilot, lambda: screen.allowed("start"), "the call")
    clock.advance(minutes=1, seconds=15)
    await pilot.press("s")
    await until(pilot, lambda: app.desk.window_state is WindowState.SERVING, "serving")
    clock.advance(minutes=4, seconds=5)
    await until(pilot, lambda: app.busy is None, "the reply")
    screen.render_desk()
    return app


async def chain_scene(pilot: Pilot[None], clock: Clock, url: str) -> WindowApp:
    """Window 5 serving the second step (印章刻制) of a one-chain company opening."""
    app = pilot.app
    assert isinstance(app, WindowApp)
    kiosk = QueueClient(url, Credentials(role=Role.KIOSK, token=KIOSK_TOKEN))
    await kiosk.start()
    await kiosk.request(IssueTicket, category="QY", item="企业设立登记", priority=Priority.GREEN)
    await kiosk.request(IssueTicket, category="QY", item="企业变更登记")
    await kiosk.close()
    clock.advance(minutes=3)
    screen = await log_in(pilot, 5)
    for minutes in (2, 9):  # step 1, finished; then step 2, started
        await until(pilot, lambda: screen.allowed("call_next"), "call enabled")
        await pilot.press("n")
        await until(pilot, lambda: screen.allowed("start"), "the call")
        clock.advance(minutes=1)
        await pilot.press("s")
        await until(pilot, lambda: screen.allowed("finish"), "serving")
        clock.advance(minutes=minutes)
        if minutes == 2:
            await pilot.press("f")
    await until(pilot, lambda: app.busy is None, "the reply")
    screen.render_desk()
    return app


def test_login_screen(snap_compare: SnapCompare, tmp_path: Path) -> None:
    """The login screen: server address remembered, window, account and password fields."""
    app = make_app(server="ws://127.0.0.1:8765", settings_path=tmp_path / "s.json")
    assert snap_compare(app, terminal_size=SIZE)


def test_login_screen_at_80x24_with_a_refusal(snap_compare: SnapCompare, tmp_path: Path) -> None:
    """The login form at 80x24: every field, the button and the refusal under it still show."""
    app = make_app(server="http://127.0.0.1:8765", settings_path=tmp_path / "s.json")

    async def run_before(pilot: Pilot[None]) -> None:
        await until(pilot, lambda: app.login_screen is not None, "the login screen")
        screen = app.screen
        screen.query_one("#window", Input).value = "5"
        screen.query_one("#account", Input).value = "ck05"
        screen.query_one("#password", Input).focus()
        await pilot.press(*"yichuang", "enter")
        await until(
            pilot,
            lambda: "服务器地址无效" in str(screen.query_one("#login-message", Static).content),
            "the refusal",
        )

    assert snap_compare(app, terminal_size=SMALL, run_before=run_before)


def test_work_screen_while_serving(
    snap_compare: SnapCompare, threaded_url: str, clock: Clock, tmp_path: Path
) -> None:
    """The work screen while serving: the ticket large, its flags and times, the live queue."""
    app = make_app(server=threaded_url, settings_path=tmp_path / "s.json", clock=clock)

    async def run_before(pilot: Pilot[None]) -> None:
        await serving_scene(pilot, clock, threaded_url)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


@pytest.mark.parametrize(
    ("language", "size"),
    [("zh", SMALL), ("en", SMALL), ("en", SIZE)],
    ids=["zh-80x24", "en-80x24", "en-120x40"],
)
def test_work_screen_while_serving_in_each_language_and_size(
    snap_compare: SnapCompare,
    threaded_url: str,
    clock: Clock,
    tmp_path: Path,
    language: Language,
    size: tuple[int, int],
) -> None:
    """Every part of the work screen fits at 80x24 and 120x40, in Chinese and in English:
    the queue table, today's figures, each button with its key."""
    app = make_app(
        server=threaded_url, settings_path=tmp_path / "s.json", clock=clock, language=language
    )

    async def run_before(pilot: Pilot[None]) -> None:
        await serving_scene(pilot, clock, threaded_url)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_transfer_dialog(
    snap_compare: SnapCompare, threaded_url: str, clock: Clock, tmp_path: Path
) -> None:
    """The transfer dialog over the work screen, with a category and a reason filled in."""
    app = make_app(server=threaded_url, settings_path=tmp_path / "s.json", clock=clock)

    async def run_before(pilot: Pilot[None]) -> None:
        await serving_scene(pilot, clock, threaded_url)
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, TransferDialog), "the dialog")
        app.screen.query_one("#to-category", Select).value = "SB"
        app.screen.query_one("#reason", Input).value = "属社保医保业务"
        app.screen.query_one("#reason", Input).focus()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_one_chain_step_while_serving_at_80x24(
    snap_compare: SnapCompare, threaded_url: str, clock: Clock, tmp_path: Path
) -> None:
    """A one-chain ticket being served at 80x24: its step of five, its next step, End chain."""
    app = make_app(server=threaded_url, settings_path=tmp_path / "s.json", clock=clock)

    async def run_before(pilot: Pilot[None]) -> None:
        await chain_scene(pilot, clock, threaded_url)

    assert snap_compare(app, terminal_size=SMALL, run_before=run_before)


def test_end_chain_dialog(
    snap_compare: SnapCompare, threaded_url: str, clock: Clock, tmp_path: Path
) -> None:
    """The end-chain dialog at 80x24: the ticket and its step, preset reasons, a reason typed."""
    app = make_app(server=threaded_url, settings_path=tmp_path / "s.json", clock=clock)

    async def run_before(pilot: Pilot[None]) -> None:
        await chain_scene(pilot, clock, threaded_url)
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, EndChainDialog), "the dialog")
        app.screen.query_one("#reason", Input).value = "材料不全，另约时间补齐"

    assert snap_compare(app, terminal_size=SMALL, run_before=run_before)


LANGUAGES_AND_SIZES = pytest.mark.parametrize(
    ("language", "size"),
    [("zh", SMALL), ("en", SMALL), ("zh", SIZE), ("en", SIZE)],
    ids=["zh-80x24", "en-80x24", "zh-120x40", "en-120x40"],
)


async def void_number_typed(pilot: Pilot[None], clock: Clock, url: str) -> WindowApp:
    """Serving C001 at window 11: V pressed and the waiting E001 typed in."""
    app = await serving_scene(pilot, clock, url)
    await pilot.press("v")
    await until(pilot, lambda: isinstance(app.screen, CancelNumberDialog), "the dialog")
    await pilot.press(*"e001")
    await until(pilot, lambda: app.screen.query_one("#number", Input).value == "e001", "typed")
    return app


@LANGUAGES_AND_SIZES
def test_void_number_dialog(
    snap_compare: SnapCompare,
    threaded_url: str,
    clock: Clock,
    tmp_path: Path,
    language: Language,
    size: tuple[int, int],
) -> None:
    """The void dialog in both languages and sizes: what it is for, the number typed, OK."""
    app = make_app(
        server=threaded_url, settings_path=tmp_path / "s.json", clock=clock, language=language
    )

    async def run_before(pilot: Pilot[None]) -> None:
        await void_number_typed(pilot, clock, threaded_url)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@LANGUAGES_AND_SIZES
def test_void_confirmation(
    snap_compare: SnapCompare,
    threaded_url: str,
    clock: Clock,
    tmp_path: Path,
    language: Language,
    size: tuple[int, int],
) -> None:
    """The question before a void, naming the ticket, its two buttons whole (返回 focused)."""
    app = make_app(
        server=threaded_url, settings_path=tmp_path / "s.json", clock=clock, language=language
    )

    async def run_before(pilot: Pilot[None]) -> None:
        await void_number_typed(pilot, clock, threaded_url)
        await pilot.press("enter")
        await until(pilot, lambda: shows(app, ConfirmDialog), "the question")

    assert snap_compare(app, terminal_size=size, run_before=run_before)
