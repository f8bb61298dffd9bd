"""The call screen against the real server: what it shows and what it says (SPEC §6)."""

from __future__ import annotations

import asyncio
import ctypes.util
import functools
import os
import shutil
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from display.announcer import Announcer, Pyttsx3Engine, VoiceState
from display.app import CallScreenApp, DisplayOptions, SnapshotRefreshed, make_app
from display.voice import VoiceSettings
from display.widgets import BigText
from queue_protocol.client import Backoff, EventReceived, QueueClient
from queue_protocol.messages import (
    AnyEvent,
    CallNext,
    CallTicket,
    CallView,
    DayClosed,
    DaySummary,
    FinishService,
    HallView,
    IssueTicket,
    PauseWindow,
    Recall,
    Snapshot,
    StartService,
    WindowState,
)
from queue_server.server import QueueServer
from tests.conftest import DISPLAY_TOKEN, ZONE_B_DISPLAY_TOKEN, Clock, Connect, window_gone
from tests.tui.test_display_snapshots import hall_snapshot

ESPEAK_MISSING = not (shutil.which("espeak-ng") or ctypes.util.find_library("espeak-ng"))
requires_espeak = pytest.mark.skipif(
    ESPEAK_MISSING and os.environ.get("CI") != "true",  # in CI, never skip: fail instead
    reason="espeak-ng is not installed (apt-get install espeak-ng)",
)


class HangOnceEngine:
    """The real engine, except that the first job ever blocks forever (a hung espeak-ng)."""

    def __init__(self, flag: Path, settings: VoiceSettings) -> None:
        self.flag = flag
        self.real = Pyttsx3Engine(settings)

    def synthesize(self, text: str, path: Path) -> None:
        if not self.flag.exists():
            self.flag.touch()
            threading.Event().wait()  # never returns; only the watchdog ends this process
        self.real.synthesize(text, path)


class NoEngine:
    """A machine without espeak-ng: the engine cannot be loaded."""

    def __init__(self, settings: VoiceSettings) -> None:
        raise OSError("libespeak-ng.so.1: cannot open shared object file")


def display_app(url: str, audio_dir: Path, **options: Any) -> CallScreenApp:
    defaults: dict[str, Any] = {
        "server": url,
        "token": DISPLAY_TOKEN,
        "audio_dir": audio_dir,
        "playback": False,  # test machines have no sound card; the WAVs are the evidence
        "animate": False,
    }
    return make_app(DisplayOptions(**{**defaults, **options}))


async def until(
    pilot: Pilot[None], condition: Callable[[], bool], what: str, timeout: float = 20.0
) -> None:
    """Let the app run until `condition()` holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


def text_of(app: CallScreenApp, selector: str) -> str:
    return str(app.query_one(selector, Static).content)


def announcer(app: CallScreenApp) -> Announcer:
    assert app.announcer is not None
    return app.announcer


def spoken_seqs(app: CallScreenApp) -> list[int]:
    return [r.seq for r in announcer(app).spoken()]


async def issue(connect: Connect, *categories: str) -> list[str]:
    kiosk = await connect("kiosk")
    return [(await kiosk.request(IssueTicket, category=c)).ticket.number for c in categories]


@requires_espeak
async def test_call_is_shown_large_and_spoken(url: str, connect: Connect, tmp_path: Path) -> None:
    """A call appears as the newest call and in the list, and is spoken once as a WAV."""
    app = display_app(url, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.connection == "connected", "the connection")
        assert app.hall_name == "东湖区政务服务大厅"
        (number,) = await issue(connect, "QY")
        window = await connect("window", window=3)
        await window.request(CallNext)
        await until(pilot, lambda: bool(app.calls) and app.calls[0].number == number, "the call")
        assert text_of(app, "#now-sentence") == f"请 {number} 号到 3 号窗口"
        assert "A001" in text_of(app, "#recent-list")
        seq = app.calls[0].seq
        await until(pilot, lambda: spoken_seqs(app) == [seq], "the announcement")
        assert (tmp_path / f"{seq:06d}.wav").stat().st_size > 22050 * 2  # over a second
        assert announcer(app).records[0].text == "请 A零零一号 到 三号窗口 办理"
        assert "语音播报" in text_of(app, "#voice-mark")


@requires_espeak
async def test_reconnect_replays_without_speaking_and_recall_speaks(
    url: str, connect: Connect, tmp_path: Path
) -> None:
    """After a reconnect the missed call is shown but not spoken; a later recall is spoken."""
    # A long first retry so the calls below surely happen while the screen is away.
    app = display_app(url, tmp_path, backoff=Backoff(first=1.5, jitter=0.0))
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.connection == "connected", "the connection")
        first, second = await issue(connect, "SW", "SW")
        window = await connect("window", window=11)
        await window.request(CallNext)
        await until(pilot, lambda: len(spoken_seqs(app)) == 1, "the first announcement")

        # Drop the screen's connection, as a network fault would (the server stays up).
        assert app.queue_client is not None and app.queue_client._ws is not None
        await app.queue_client._ws.close()
        await until(pilot, lambda: app.connection == "disconnected", "the disconnect")
        assert app.query_one("#banner").display
        assert app.calls[0].number == first  # the last known call stays on screen

        await window.request(StartService)
        await window.request(FinishService)
        await window.request(CallNext)  # happens while the screen is away: replayed later
        await until(pilot, lambda: app.connection == "connected", "the reconnection")
        await until(pilot, lambda: app.calls[0].number == second, "the replayed call")
        assert not app.query_one("#banner").display

        await window.request(Recall)
        await until(pilot, lambda: app.calls[0].recall, "the recall on screen")
        recall_seq = app.calls[0].seq
        await until(pilot, lambda: recall_seq in spoken_seqs(app), "the recall announcement")
        first_seq = spoken_seqs(app)[0]
        assert spoken_seqs(app) == [first_seq, recall_seq]  # the replayed call was not spoken
        assert "再次呼叫" in text_of(app, "#now-sentence")
        assert "再次呼叫" in text_of(app, "#recent-list").splitlines()[0]  # marked in the list


@requires_espeak
async def test_hung_engine_is_restarted_and_screen_keeps_updating(
    url: str, connect: Connect, tmp_path: Path
) -> None:
    """A speech engine that hangs never freezes the screen; the watchdog restarts it."""
    engine = functools.partial(HangOnceEngine, tmp_path / "hung-once")
    app = display_app(url, tmp_path / "audio", engine=engine, watchdog_seconds=3.0)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.connection == "connected", "the connection")
        await until(pilot, lambda: app.voice_state is VoiceState.ON, "the voice")
        _first, second, third = await issue(connect, "SW", "SW", "SW")
        one, two = await connect("window", window=1), await connect("window", window=2)
        await one.request(CallNext)
        await until(pilot, lambda: (tmp_path / "hung-once").exists(), "the engine to hang")

        await two.request(CallNext)  # the screen must show this while speech is stuck
        await until(pilot, lambda: app.calls[0].number == second, "the second call on screen")
        assert not announcer(app).records[0].finished  # still stuck in the hung engine

        await until(pilot, lambda: announcer(app).restarts == 1, "the watchdog", timeout=15)
        assert announcer(app).records[0].error == "speech engine hung; restarted"
        await until(pilot, lambda: len(spoken_seqs(app)) == 1, "the queued call to be spoken")
        await two.request(StartService)
        await two.request(FinishService)
        await two.request(CallNext)
        await until(pilot, lambda: app.calls[0].number == third, "the third call on screen")
        await until(pilot, lambda: len(spoken_seqs(app)) == 2, "a later call to be spoken")
        assert app.voice_state is VoiceState.ON
        assert [r.seq for r in announcer(app).records] == sorted(
            r.seq for r in announcer(app).records
        )


@requires_espeak
async def test_zone_display_neither_shows_nor_speaks_other_zones(
    url: str, connect: Connect, tmp_path: Path
) -> None:
    """A display bound to 一楼B区 ignores a call at window 1 (一楼A区) and shows window 5's."""
    app = display_app(url, tmp_path, token=ZONE_B_DISPLAY_TOKEN)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.connection == "connected", "the connection")
        zone_a, zone_b = await issue(connect, "QY", "QY")
        await (await connect("window", window=1)).request(CallNext)  # 一楼A区
        await (await connect("window", window=5)).request(CallNext)  # 一楼B区
        await until(pilot, lambda: bool(app.calls), "the zone B call")
        # Events arrive in order, so the zone A call would have come first.
        assert [c.number for c in app.calls] == [zone_b]
        assert zone_a not in text_of(app, "#recent-list")
        await until(pilot, lambda: len(spoken_seqs(app)) == 1, "the announcement")
        assert [r.text for r in announcer(app).records] == ["请 A零零二号 到 五号窗口 办理"]
        assert [r.wav for r in announcer(app).records] == [tmp_path / f"{app.calls[0].seq:06d}.wav"]
        # Its waiting line only lists what the zone's windows serve (no 综合出件).
        assert "企业开办" in text_of(app, "#waiting")
        assert "综合出件" not in text_of(app, "#waiting")


async def test_missing_engine_shows_voice_off_and_screen_works(
    url: str, connect: Connect, tmp_path: Path
) -> None:
    """Without espeak-ng the screen says so and still shows every call."""
    app = display_app(url, tmp_path, engine=NoEngine)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.voice_state is VoiceState.OFF, "voice off")
        assert text_of(app, "#voice-mark") == "无语音引擎"
        (number,) = await issue(connect, "CJ")
        await (await connect("window", window=14)).request(CallNext)
        await until(pilot, lambda: bool(app.calls) and app.calls[0].number == number, "the call")
        assert "libespeak-ng" in announcer(app).reason


@requires_espeak
async def test_sound_that_cannot_play_is_shown(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sound card that is not there: the screen says voice cannot play (not 语音播报)."""
    home = tmp_path / "home"
    home.mkdir()
    (home / ".asoundrc").write_text("pcm.!default { type hw card 99 }\n")
    monkeypatch.setenv("HOME", str(home))
    app = display_app(url, tmp_path / "audio", playback=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(
            pilot, lambda: app.voice_state is VoiceState.PLAYBACK_FAILED, "playback failing"
        )
        assert text_of(app, "#voice-mark") == "语音无法播放"


async def test_no_voice_option_starts_no_announcer(url: str, tmp_path: Path) -> None:
    """--no-voice: the screen runs with no speech worker and shows 'voice off'."""
    app = display_app(url, tmp_path, voice_enabled=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.connection == "connected", "the connection")
        assert app.announcer is None
        assert text_of(app, "#voice-mark") == "语音关闭"


def announced(app: CallScreenApp) -> list[int]:
    """Seqs of every call handed to the announcer (spoken or not: NoEngine has no voice)."""
    return [r.seq for r in announcer(app).records]


async def next_event(client: QueueClient, name: str, timeout: float = 20.0) -> AnyEvent:
    """The next event called `name` that `client` receives."""

    async def wait() -> AnyEvent:
        async for notice in client.notices():
            if isinstance(notice, EventReceived) and notice.event.name == name:
                return notice.event
        raise AssertionError(f"the connection ended before {name}")

    return await asyncio.wait_for(wait(), timeout)


# 00:00:01 on 2026-11-26 in Shanghai: the open-all-day test hall closes out its day at midnight.
AFTER_MIDNIGHT = datetime(2026, 11, 25, 16, 0, 1, tzinfo=UTC)


@pytest.mark.hall_clock
async def test_day_closed_clears_the_calls(
    url: str, connect: Connect, clock: Clock, tmp_path: Path
) -> None:
    """A close-out clears the calls and waiting counts silently; the next day's call is spoken."""
    app = display_app(url, tmp_path, engine=NoEngine)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.connection == "connected", "the connection")
        first, _waiting = await issue(connect, "SW", "SW")
        window = await connect("window", window=11)
        await window.request(CallNext)
        await until(pilot, lambda: bool(app.calls) and app.calls[0].number == first, "the call")
        assert app.waiting["SW"] == 1 and announced(app) == [app.calls[0].seq]
        spoken_before = announced(app)

        clock.now = AFTER_MIDNIGHT
        await until(pilot, lambda: not app.calls, "the calls to leave the screen")
        await until(pilot, lambda: app.waiting["SW"] == 0, "the waiting count to drop")
        assert text_of(app, "#now-sentence") == "暂无叫号"
        assert text_of(app, "#recent-list") == ""
        assert app.query_one("#now-number", BigText).value == ""
        assert "社会事务 0人" in text_of(app, "#waiting")
        assert app.windows[11].state is WindowState.CLOSED
        assert announced(app) == spoken_before

        (new_day,) = await issue(connect, "SW")
        assert new_day == "C001"  # numbering starts again
        window = await connect("window", window=11)
        await window.request(CallNext)
        await until(pilot, lambda: bool(app.calls), "the new day's call")
        assert [c.number for c in app.calls] == ["C001"]
        assert announced(app) == [*spoken_before, app.calls[0].seq]


@pytest.mark.hall_clock
async def test_day_closed_while_away_is_replayed_silently(
    url: str, connect: Connect, clock: Clock, tmp_path: Path
) -> None:
    """A close-out missed while away clears the screen on reconnect and announces nothing."""
    app = display_app(url, tmp_path, engine=NoEngine, backoff=Backoff(first=2.0, jitter=0.0))
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.connection == "connected", "the connection")
        first, second = await issue(connect, "SW", "SW")
        window = await connect("window", window=11)
        await window.request(CallNext)
        await until(pilot, lambda: bool(app.calls) and app.calls[0].number == first, "the call")
        spoken_before = announced(app)
        probe = await connect("display")

        assert app.queue_client is not None and app.queue_client._ws is not None
        await app.queue_client._ws.close()
        await until(pilot, lambda: app.connection == "disconnected", "the disconnect")
        await window.request(StartService)
        await window.request(FinishService)
        await window.request(CallNext)  # the second call, while the screen is away
        clock.now = AFTER_MIDNIGHT
        closed = await next_event(probe, "day_closed")

        await until(pilot, lambda: app.connection == "connected", "the reconnection")
        assert app.queue_client.hello is not None
        assert app.queue_client.hello.snapshot.seq >= closed.seq  # so the close-out replays
        await until(pilot, lambda: app.queue_client.last_seq >= closed.seq, "the replay")
        await pilot.pause()
        assert app.calls == [] and second not in text_of(app, "#recent-list")
        assert text_of(app, "#now-sentence") == "暂无叫号"
        assert announced(app) == spoken_before


@pytest.mark.hall_clock
async def test_zone_display_survives_windows_going_offline(
    url: str, connect: Connect, clock: Clock, tmp_path: Path, server: QueueServer
) -> None:
    """A zone display follows its window going offline, then closed; the call of the ticket
    that went back to the queue leaves the screen, silently."""
    app = display_app(url, tmp_path, engine=NoEngine, token=ZONE_B_DISPLAY_TOKEN)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.connection == "connected", "the connection")
        (number,) = await issue(connect, "QY")
        zone_b, zone_a = await connect("window", window=5), await connect("window", window=1)
        await zone_b.request(CallNext)
        await until(pilot, lambda: bool(app.calls), "the call")
        assert app.windows[5].connected
        spoken_before = announced(app)

        await zone_b.close()  # the staff member's client crashes; so does window 1's
        await zone_a.close()
        await window_gone(server, 5)
        await window_gone(server, 1)
        clock.advance(seconds=11)
        await until(pilot, lambda: not app.windows[5].connected, "window 5 offline")
        clock.advance(minutes=5)
        await until(pilot, lambda: app.windows[5].state is WindowState.CLOSED, "window 5 closed")
        await until(pilot, lambda: app.waiting.get("QY") == 1, "the requeued ticket waiting")
        assert 1 not in app.windows  # another zone's window is not this screen's business
        assert all(c.number != number for c in app.calls)  # no longer called to window 5
        assert "企业开办 1人" in text_of(app, "#waiting")
        assert "综合出件" not in text_of(app, "#waiting")
        assert announced(app) == spoken_before


async def test_one_chain_call_shows_its_step(url: str, connect: Connect, tmp_path: Path) -> None:
    """A one-chain call shows its step under the big call; the voice says the plain call."""
    app = display_app(url, tmp_path, engine=NoEngine)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.connection == "connected", "the connection")
        kiosk = await connect("kiosk")
        await kiosk.request(IssueTicket, category="QY", item="企业设立登记")
        window = await connect("window", window=5)
        await window.request(CallNext)
        await until(pilot, lambda: bool(app.calls), "the first step's call")
        assert text_of(app, "#now-step") == "第1/5步 企业登记"
        assert app.query_one("#now-step").display
        assert announcer(app).records[0].text == "请 A零零一号 到 五号窗口 办理"

        await window.request(StartService)
        await window.request(FinishService)  # on to the next step
        await window.request(CallNext)
        await until(pilot, lambda: len(app.calls) == 2, "the second step's call")
        assert text_of(app, "#now-step") == "第2/5步 印章刻制"
        assert announcer(app).records[1].text == "请 A零零一号 到 五号窗口 办理"

        plain = await kiosk.request(IssueTicket, category="QY")  # no chain item: one step
        await window.request(StartService)
        await window.request(FinishService)
        await window.request(CallTicket, ticket=plain.ticket.id)
        await until(pilot, lambda: app.calls[0].number == "A002", "a plain call")
        assert not app.query_one("#now-step").display


async def test_replayed_day_closed_keeps_the_new_days_calls() -> None:
    """A close-out replayed after a snapshot taken the next day removes only older calls."""
    app = make_app(DisplayOptions(server=None, voice_enabled=False, animate=False))
    async with app.run_test(size=(100, 30)) as pilot:
        at = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
        calls = [
            CallView(
                seq=seq,
                at=at,
                ticket=f"20261126-{number}",
                number=number,
                category="SW",
                window=11,
                window_name="社会事务11号",
            )
            for seq, number in ((300, "C001"), (301, "C002"))
        ]
        snapshot = Snapshot(
            seq=301,
            hall=HallView(name="东湖区政务服务大厅", timezone="Asia/Shanghai"),
            categories=[],
            windows=[],
            queues=[],
            recent_calls=calls,
        )
        app.apply_snapshot(snapshot)
        closed = DayClosed(
            seq=250, at=at, day=date(2026, 11, 25), closed_at=at, summary=DaySummary()
        )
        app.apply_event(EventReceived(closed, replayed=True))
        await pilot.pause()
        assert [c.number for c in app.calls] == ["C002", "C001"]
        assert "C002" in text_of(app, "#now-sentence")


async def test_updates_arriving_during_shutdown_are_dropped() -> None:
    """A snapshot or event that lands while the screen shuts down is dropped, not a crash."""
    app = make_app(DisplayOptions(server=None, voice_enabled=False, animate=False))
    closing = asyncio.Event()

    async def keep_refreshing() -> None:  # as the connection worker does, up to the end
        while not closing.is_set():
            app.post_message(SnapshotRefreshed(hall_snapshot()))
            await asyncio.sleep(0.001)

    async with app.run_test(size=(100, 30)) as pilot:
        refresher = asyncio.create_task(keep_refreshing())
        await until(pilot, lambda: app.hall_name != "", "the first refresh")
    closing.set()
    await refresher


async def test_screens_above_a_window_and_of_every_window_follow_the_window(
    url: str, connect: Connect, tmp_path: Path
) -> None:
    """窗口屏 above window 14 shows the number it calls, then 暂停服务 when it pauses; the
    窗口一览 row of window 14 says the same."""
    desk = display_app(url, tmp_path / "desk", engine=NoEngine, layout="window", window=14)
    rows = display_app(url, tmp_path / "rows", engine=NoEngine, layout="windows")
    async with desk.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: desk.connection == "connected", "the connection")
        assert text_of(desk, "#desk-state") == "暂停办理"  # nobody logged in yet
        (number,) = await issue(connect, "CJ")
        window = await connect("window", window=14)
        await until(pilot, lambda: text_of(desk, "#desk-state") == "等候叫号", "window open")
        await window.request(CallNext)
        await until(
            pilot, lambda: desk.query_one("#desk-number", BigText).value == number, "the number"
        )
        assert text_of(desk, "#desk-state") == f"请 {number} 号"
        async with rows.run_test(size=(100, 30)) as rows_pilot:
            await until(rows_pilot, lambda: rows.connection == "connected", "the rows' connection")
            await until(rows_pilot, lambda: number in text_of(rows, "#window-rows"), "the row")
            await window.request(StartService)
            await window.request(FinishService)
            await window.request(PauseWindow, reason="午休")
            await until(rows_pilot, lambda: "暂停服务" in text_of(rows, "#window-rows"), "paused")
        await until(pilot, lambda: text_of(desk, "#desk-state") == "暂停服务", "paused")
        assert desk.query_one("#desk-number", BigText).value == ""
