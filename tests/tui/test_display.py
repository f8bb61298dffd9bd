"""The call screen against the real server: what it shows and what it says (SPEC §6)."""

from __future__ import annotations

import ctypes.util
import functools
import os
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from display.announcer import Announcer, Pyttsx3Engine, VoiceState
from display.app import CallScreenApp, DisplayOptions, make_app
from display.voice import VoiceSettings
from queue_protocol.client import Backoff
from queue_protocol.messages import CallNext, FinishService, IssueTicket, Recall, StartService
from tests.conftest import DISPLAY_TOKEN, ZONE_B_DISPLAY_TOKEN, Connect

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
        assert announcer(app).records[0].text == "请 A零零一号 到 3号窗口 办理"
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
        assert [r.text for r in announcer(app).records] == ["请 A零零二号 到 5号窗口 办理"]
        assert [r.wav for r in announcer(app).records] == [tmp_path / f"{app.calls[0].seq:06d}.wav"]
        # Its waiting line only lists what the zone's windows serve (no 综合出件).
        assert "企业开办" in text_of(app, "#waiting")
        assert "综合出件" not in text_of(app, "#waiting")


async def test_missing_engine_shows_voice_off_and_screen_works(
    url: str, connect: Connect, tmp_path: Path
) -> None:
    """Without espeak-ng the screen says 'voice off' and still shows every call."""
    app = display_app(url, tmp_path, engine=NoEngine)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.voice_state is VoiceState.OFF, "voice off")
        assert text_of(app, "#voice-mark") == "语音关闭"
        (number,) = await issue(connect, "CJ")
        await (await connect("window", window=14)).request(CallNext)
        await until(pilot, lambda: bool(app.calls) and app.calls[0].number == number, "the call")
        assert "libespeak-ng" in announcer(app).reason


async def test_no_voice_option_starts_no_announcer(url: str, tmp_path: Path) -> None:
    """--no-voice: the screen runs with no speech worker and shows 'voice off'."""
    app = display_app(url, tmp_path, voice_enabled=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.connection == "connected", "the connection")
        assert app.announcer is None
        assert text_of(app, "#voice-mark") == "语音关闭"
