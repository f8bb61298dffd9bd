"""Screenshots of the call screen: a fixed hall state, a frozen clock, no flashing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from textual.pilot import Pilot

from display.announcer import VoiceState
from display.app import CallScreenApp, DisplayOptions, VoiceStateChanged, make_app
from queue_protocol.client import EventReceived
from queue_protocol.messages import (
    CallView,
    CategoryView,
    HallView,
    QueueStat,
    Snapshot,
    TicketCalled,
    TicketState,
    TicketView,
    WindowState,
    WindowView,
)

NOW = datetime(2026, 11, 25, 2, 30, tzinfo=UTC)  # 10:30 in Shanghai

CALLS = [
    ("A001", "QY", 5, "企业开办5号"),
    ("C001", "SW", 11, "社会事务11号"),
    ("B001", "GC", 7, "工程建设7号"),
    ("A002", "QY", 1, "综合受理1号"),
    ("E001", "SB", 12, "社保医保12号"),
    ("G001", "CJ", 14, "综合出件14号"),
    ("D001", "BT", 9, "不动产税务9号"),
    ("A003", "QY", 2, "综合受理2号"),
    ("C002", "SW", 3, "综合受理3号"),
]
CATEGORIES = [
    ("QY", "企业开办", "A", 4),
    ("GC", "工程建设项目", "B", 1),
    ("SW", "社会事务", "C", 6),
    ("BT", "不动产/税务", "D", 2),
    ("SB", "社保医保", "E", 3),
    ("BB", "帮办代办", "F", 0),
    ("CJ", "综合出件", "G", 5),
]


def hall_snapshot() -> Snapshot:
    calls = [
        CallView(
            seq=100 + i,
            at=NOW - timedelta(minutes=len(CALLS) - i),
            ticket=f"20261125-{number}",
            number=number,
            category=category,
            window=window,
            window_name=name,
        )
        for i, (number, category, window, name) in enumerate(CALLS)
    ]
    return Snapshot(
        seq=200,
        hall=HallView(
            name="东湖区政务服务大厅",
            timezone="Asia/Shanghai",
            notice="只进一扇门，办妥所有事 · 午间不休、延时服务，周末照常办理",
        ),
        categories=[
            CategoryView(code=code, name=name, prefix=prefix, target_wait_minutes=20)
            for code, name, prefix, _ in CATEGORIES
        ],
        windows=[
            WindowView(number=n, name=f"综合受理{n}号", profile=[], state=WindowState.IDLE)
            for n in range(1, 4)
        ],
        queues=[QueueStat(category=code, waiting=waiting) for code, _, _, waiting in CATEGORIES],
        recent_calls=list(reversed(calls)),
    )


def screen(**options: Any) -> CallScreenApp:
    return make_app(
        DisplayOptions(server=None, animate=False, clock=lambda: NOW, voice_enabled=False),
        **options,
    )


async def show_hall(pilot: Pilot[None]) -> None:
    app = pilot.app
    assert isinstance(app, CallScreenApp)
    app.apply_snapshot(hall_snapshot())
    app.post_message(VoiceStateChanged(VoiceState.ON, ""))
    await pilot.pause()


def test_call_screen_with_calls(snap_compare: Any) -> None:
    """The newest call in big digits, the last eight calls, waiting counts and the notice."""
    assert snap_compare(screen(), terminal_size=(100, 30), run_before=show_hall)


def test_call_screen_on_a_hall_tv(snap_compare: Any) -> None:
    """200x50, a 1080p TV at a normal terminal font size: the number fills its panel."""
    assert snap_compare(screen(), terminal_size=(200, 50), run_before=show_hall)


def test_call_screen_at_80x24(snap_compare: Any) -> None:
    """The smallest terminal: the newest call still large, nothing cut off."""
    assert snap_compare(screen(), terminal_size=(80, 24), run_before=show_hall)


def test_call_screen_disconnected_banner(snap_compare: Any) -> None:
    """A lost connection shows a banner and keeps the last known calls; voice off is marked."""

    async def lose_connection(pilot: Pilot[None]) -> None:
        await show_hall(pilot)
        app = pilot.app
        assert isinstance(app, CallScreenApp)
        app.post_message(VoiceStateChanged(VoiceState.OFF, "no espeak-ng"))
        app.show_disconnected("connection refused")
        await pilot.pause()

    assert snap_compare(screen(), terminal_size=(100, 30), run_before=lose_connection)


def test_call_screen_english_empty(snap_compare: Any) -> None:
    """In English, before any call: the 'no calls yet' state."""

    async def english(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert isinstance(app, CallScreenApp)
        snapshot = hall_snapshot().model_copy(update={"recent_calls": []})
        app.apply_snapshot(snapshot)
        await pilot.pause()

    assert snap_compare(screen(lang="en"), terminal_size=(100, 30), run_before=english)


def test_call_screen_one_chain_step(snap_compare: Any) -> None:
    """A call of a one-chain ticket shows its step under the big call (第2/5步 印章刻制)."""

    async def chain_call(pilot: Pilot[None]) -> None:
        await show_hall(pilot)
        app = pilot.app
        assert isinstance(app, CallScreenApp)
        ticket = TicketView(
            id="20261125-A004",
            number="A004",
            category="QY",
            item="企业设立登记",
            state=TicketState.CALLED,
            issued_at=NOW - timedelta(minutes=40),
            chain_step=1,
            steps=5,
            step="印章刻制",
        )
        called = TicketCalled(
            seq=201, at=NOW, ticket=ticket, window=6, window_name="企业开办6号", zone="一楼B区"
        )
        app.apply_event(EventReceived(called))
        await pilot.pause()

    assert snap_compare(screen(), terminal_size=(100, 30), run_before=chain_call)


def desks_snapshot() -> Snapshot:
    """Four windows: calling, serving, paused, and one nobody is logged in at."""
    states = [
        (1, WindowState.CALLING, "C002", True),
        (2, WindowState.SERVING, "A003", True),
        (3, WindowState.PAUSED, None, True),
        (4, WindowState.CLOSED, None, False),
    ]
    windows = [
        WindowView(
            number=n,
            name=f"综合受理{n}号",
            profile=[],
            state=state,
            ticket=f"20261125-{number}" if number else None,
            ticket_number=number,
            connected=connected,
        )
        for n, state, number, connected in states
    ]
    return hall_snapshot().model_copy(update={"windows": windows})


async def show_desks(pilot: Pilot[None]) -> None:
    app = pilot.app
    assert isinstance(app, CallScreenApp)
    app.apply_snapshot(desks_snapshot())
    await pilot.pause()


def test_window_rows_layout(snap_compare: Any) -> None:
    """窗口一览: a row per window, its number now, or 暂停服务 / 暂停办理."""
    app = screen(layout="windows")
    assert snap_compare(app, terminal_size=(100, 30), run_before=show_desks)


def test_screen_above_one_window(snap_compare: Any) -> None:
    """窗口屏 above window 1 (calling C002): the number as large as the screen allows."""
    app = screen(layout="window", window=1)
    assert snap_compare(app, terminal_size=(80, 24), run_before=show_desks)
