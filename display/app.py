"""The call screen (SPEC §6): what citizens in the hall watch, and the voice they hear.

One long-lived worker keeps the connection to the server (through the shared
`QueueClient`) and posts its notices to the app as messages; the app keeps the last known
state, so a lost connection only adds a banner. New calls go to the `Announcer`, which
speaks them in another process: nothing here waits for speech.

At the day's close-out (`day_closed`) the screen forgets the calls of the closed day; the
waiting counts follow from the `queue_changed` sent with it. Replayed events after a
reconnect are shown, never spoken.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rich.cells import set_cell_size
from rich.text import Text
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Static

from display.announcer import Announcement, Announcer, EngineFactory, VoiceState, default_engine
from display.voice import VoiceSettings
from display.widgets import BigText
from queue_protocol.client import (
    Backoff,
    Connected,
    Credentials,
    Disconnected,
    EventReceived,
    NotConnected,
    Notice,
    QueueClient,
    ServerError,
    Stopped,
)
from queue_protocol.messages import (
    CallView,
    CategoryView,
    ConfigChanged,
    DayClosed,
    DeviceStatus,
    GetSnapshot,
    QueueChanged,
    Role,
    Snapshot,
    SnapshotReply,
    TicketCalled,
    TicketRecalled,
    TicketRequeued,
    TicketView,
    WindowChanged,
    WindowState,
    WindowView,
)
from queue_protocol.messages import VoiceState as ServerVoice

log = logging.getLogger(__name__)

RECENT_CALLS = 8
FLASH_SECONDS = 5.0

UI_TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "now": "请 {number} 号到 {window} 号窗口",
        "recall": "（再次呼叫）",
        "recent": "最近叫号",
        "waiting": "等候人数",
        "row": "{number:<6} → {window:>3} 号窗口  {name}",
        "none": "暂无叫号",
        "voice_on": "语音播报",
        "voice_off": "语音关闭",
        "voice_no_engine": "无语音引擎",
        "voice_unheard": "语音无法播放",
        "voice_restarting": "语音重启中",
        "voice_starting": "语音启动中",
        "connecting": "正在连接服务器…",
        "disconnected": "与服务器的连接已中断，正在重新连接…（显示的是最后已知的叫号）",
        "refused": "服务器拒绝了本屏幕（{reason}），请联系管理员",
        "people": "{count}人",
        "step": "第{step}/{steps}步 {name}",
        "col_window": "窗口",
        "col_name": "名称",
        "col_number": "当前号",
        "col_state": "状态",
        "state_closed": "暂停办理",
        "state_paused": "暂停服务",
        "state_calling": "请 {number} 号",
        "state_serving": "办理中",
        "state_idle": "等候叫号",
    },
    "en": {
        "now": "Number {number}, please go to window {window}",
        "recall": " (called again)",
        "recent": "Recent calls",
        "waiting": "Waiting",
        "row": "{number:<6} → window {window:>3}  {name}",
        "none": "No calls yet",
        "voice_on": "voice on",
        "voice_off": "voice off",
        "voice_no_engine": "no voice engine",
        "voice_unheard": "voice not playing",
        "voice_restarting": "voice restarting",
        "voice_starting": "voice starting",
        "connecting": "Connecting to the server…",
        "disconnected": "Connection lost; reconnecting… (showing the last known calls)",
        "refused": "The server refused this screen ({reason}); please call an administrator",
        "people": "{count}",
        "step": "Step {step}/{steps}: {name}",
        "col_window": "Window",
        "col_name": "Name",
        "col_number": "Now",
        "col_state": "State",
        "state_closed": "Closed",
        "state_paused": "Paused",
        "state_calling": "Calling {number}",
        "state_serving": "Serving",
        "state_idle": "Open",
    },
}


@dataclass
class DisplayOptions:
    """Everything the call screen is started with (the CLI fills it in)."""

    server: str | None = "ws://127.0.0.1:8765"  # None: no connection (snapshot tests)
    token: str = ""
    lang: str = "zh"
    voice: VoiceSettings = field(default_factory=VoiceSettings)
    voice_enabled: bool = True
    playback: bool = True  # play through the sound card; off = only write --audio-dir
    audio_dir: Path | None = None
    engine: EngineFactory = default_engine
    watchdog_seconds: float = 15.0
    animate: bool = True  # flashing; tests turn it off for deterministic screenshots
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    backoff: Backoff | None = None
    # 综合屏 (the hall: newest call large, the last calls), 窗口一览 (a row per window: its
    # number now, or 暂停/关闭), or 窗口屏 (the small screen above one window, `window`).
    layout: str = "hall"
    window: int | None = None


LAYOUTS = ("hall", "windows", "window")
ROW_CELLS = (8, 24, 10, 16)  # 窗口一览 columns: window, name, number now, state


@dataclass(frozen=True)
class ChainStep:
    """The one-chain step a call is for (一链办理): `index` is 0-based."""

    index: int
    steps: int
    name: str

    @classmethod
    def of(cls, ticket: TicketView) -> ChainStep | None:
        return cls(ticket.chain_step, ticket.steps, ticket.step or "") if ticket.steps > 1 else None


# -- messages from the connection worker and the announcer ------------------------------


class ServerNotice(Message):
    """A notice from the queue client (connected, disconnected, event, stopped)."""

    def __init__(self, notice: Notice) -> None:
        super().__init__()
        self.notice = notice


class SnapshotRefreshed(Message):
    def __init__(self, snapshot: Snapshot) -> None:
        super().__init__()
        self.snapshot = snapshot


# What the server is told of each voice state (device_status); none while it settles.
REPORTED_VOICE = {
    VoiceState.ON: ServerVoice.ON,
    VoiceState.OFF: ServerVoice.ENGINE_MISSING,
    VoiceState.PLAYBACK_FAILED: ServerVoice.PLAYBACK_FAILING,
    VoiceState.STOPPED: ServerVoice.OFF,
}


class VoiceStateChanged(Message):
    def __init__(self, state: VoiceState, reason: str) -> None:
        super().__init__()
        self.state = state
        self.reason = reason


# -- the app ------------------------------------------------------------------------------


class CallScreenApp(App[None]):
    CSS_PATH = "display.tcss"
    TITLE = "一窗 叫号屏"
    # A call screen has no other use for keys: Ctrl-C quits, as in any terminal program.
    BINDINGS: ClassVar = [Binding("ctrl+c", "quit", "quit", show=False, priority=True)]

    def __init__(self, options: DisplayOptions) -> None:
        super().__init__()
        self.options = options
        self.text = UI_TEXT.get(options.lang, UI_TEXT["zh"])
        self.hall_name = ""
        self.timezone = ZoneInfo("Asia/Shanghai")
        self.notice = ""
        self.categories: dict[str, CategoryView] = {}
        self.windows: dict[int, WindowView] = {}
        self.waiting: dict[str, int] = {}
        self.calls: list[CallView] = []  # newest first
        # The one-chain step of a call, by the call's seq. Calls come with their ticket only
        # as events: a call known from a snapshot alone shows no step.
        self.chain_steps: dict[int, ChainStep] = {}
        # connecting / connected / disconnected / refused; no server (tests): nothing to show
        self.connection = "connecting" if options.server else "connected"
        self.refusal = ""
        self.queue_client: QueueClient | None = None
        self.announcer: Announcer | None = None
        # Voice switched off for this screen shows as STOPPED; OFF is an engine missing.
        self.voice_state = VoiceState.STARTING if options.voice_enabled else VoiceState.STOPPED
        self._flash_timer: Timer | None = None
        self._flash_until = 0.0

    # -- layout -----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="top"):
            yield Static("", id="hall-name")
            yield Static("", id="voice-mark")
            yield Static("", id="clock")
        yield Static("", id="banner")
        if self.options.layout == "windows":
            yield Static("", id="window-rows")
            yield Static("", id="waiting")
            yield Static("", id="notice")
            return
        if self.options.layout == "window":
            with Vertical(id="desk"):
                yield Static("", id="desk-name")
                yield BigText("", id="desk-number")
                yield Static("", id="desk-state")
            return
        with Horizontal(id="main"):
            with Vertical(id="now"):
                yield Static("", id="now-sentence")
                # The ticket above its window, each as large as its half of the panel.
                yield BigText("", id="now-number")
                yield BigText("", arrow=True, id="now-window")
                yield Static("", id="now-window-name")
                yield Static("", id="now-step")
            with Vertical(id="recent"):
                yield Static(self.text["recent"], id="recent-title")
                yield Static("", id="recent-list")
        yield Static("", id="waiting")
        yield Static("", id="notice")

    def on_mount(self) -> None:
        self._show_clock()
        self.set_interval(1.0, self._show_clock)
        self._show_calls()
        self._show_waiting()
        self._show_voice()
        self._show_connection()
        if self.options.voice_enabled:
            self.announcer = Announcer(
                self.options.voice,
                audio_dir=self.options.audio_dir,
                playback=self.options.playback,
                engine=self.options.engine,
                render_timeout=self.options.watchdog_seconds,
                on_state=self._voice_state_from_thread,
            )
            self.announcer.start()
        if self.options.server is not None:
            self.keep_connected()

    def on_unmount(self) -> None:
        if self.announcer is not None:
            self.announcer.stop()

    # -- the connection -----------------------------------------------------------------------

    @work(exclusive=True, group="connection")
    async def keep_connected(self) -> None:
        """Stay connected for the app's lifetime; every notice becomes a message."""
        assert self.options.server is not None
        credentials = Credentials(role=Role.DISPLAY, token=self.options.token, client="display")
        client = QueueClient(self.options.server, credentials, backoff=self.options.backoff)
        self.queue_client = client
        try:
            # Not connected yet, or refused: either way the client reports it in notices
            # (Disconnected / Stopped), which is what the screen shows.
            with contextlib.suppress(ServerError, NotConnected):
                await client.start(timeout=0.1)
            async for notice in client.notices():
                self.post_message(ServerNotice(notice))
                if isinstance(notice, EventReceived) and isinstance(notice.event, ConfigChanged):
                    self.refresh_snapshot()
        finally:
            await client.close()

    @work(exclusive=True, group="refresh")
    async def refresh_snapshot(self) -> None:
        """Fetch the whole state again, e.g. after the hall's notice changed."""
        if self.queue_client is None:
            return
        with contextlib.suppress(ServerError, TimeoutError):
            reply: SnapshotReply = await self.queue_client.request(GetSnapshot, timeout=10)
            self.post_message(SnapshotRefreshed(reply.snapshot))

    def on_server_notice(self, message: ServerNotice) -> None:
        notice = message.notice
        if isinstance(notice, Connected):
            self.connection = "connected"
            self.apply_snapshot(notice.hello.snapshot)
            self.report_voice()
        elif isinstance(notice, Disconnected):
            self.connection = "disconnected"
            log.warning("disconnected (%s); retrying in %.1f s", notice.reason, notice.retry_in)
        elif isinstance(notice, Stopped):
            self.connection = "refused"
            # The code, not the server's message text (that is for the log).
            self.refusal = notice.error.code.value if notice.error else ""
            log.error("the server stopped this screen: %s", notice.error)
        elif isinstance(notice, EventReceived):
            self.apply_event(notice)
        self._show_connection()

    def on_snapshot_refreshed(self, message: SnapshotRefreshed) -> None:
        self.apply_snapshot(message.snapshot)

    def _voice_state_from_thread(self, state: VoiceState, reason: str) -> None:
        self.post_message(VoiceStateChanged(state, reason))  # post_message is thread-safe

    def on_voice_state_changed(self, message: VoiceStateChanged) -> None:
        self.voice_state = message.state
        self._show_voice()
        self.report_voice()

    @work(exclusive=True, group="voice-report")
    async def report_voice(self) -> None:
        """Tell the server the true state of the voice (its alerts show a failing one)."""
        reported = REPORTED_VOICE.get(self.voice_state)
        if self.queue_client is None or reported is None or self.connection != "connected":
            return
        with contextlib.suppress(ServerError, NotConnected, TimeoutError):
            await self.queue_client.request(DeviceStatus, voice=reported, timeout=10)

    # -- state --------------------------------------------------------------------------------

    def apply_snapshot(self, snapshot: Snapshot) -> None:
        """Show the state as of a (re)connection; nothing in it is spoken."""
        hall = snapshot.hall
        self.hall_name, self.notice = hall.name, hall.notice
        with contextlib.suppress(ZoneInfoNotFoundError, ValueError):
            self.timezone = ZoneInfo(hall.timezone)
        self.categories = {c.code: c for c in snapshot.categories}
        self.windows = {w.number: w for w in snapshot.windows}
        self.waiting = {q.category: q.waiting for q in snapshot.queues}
        self.calls = sorted(snapshot.recent_calls, key=lambda c: c.seq, reverse=True)[:RECENT_CALLS]
        for call in self.calls:  # the snapshot's calls say their one-chain step too
            if call.steps > 1:
                self.chain_steps[call.seq] = ChainStep(call.chain_step, call.steps, call.step or "")
        self._forget_steps()
        self._show_clock()
        self._show_calls()
        self._show_waiting()
        self._show_windows()

    def apply_event(self, received: EventReceived) -> None:
        """Update the screen; speak a call or recall unless it was replayed."""
        event = received.event
        if isinstance(event, TicketCalled | TicketRecalled):
            call = CallView(
                seq=event.seq,
                at=event.at,
                ticket=event.ticket.id,
                number=event.ticket.number,
                category=event.ticket.category,
                window=event.window,
                window_name=event.window_name,
                zone=event.zone,
                recall=isinstance(event, TicketRecalled),
            )
            self.add_call(call, live=not received.replayed, step=ChainStep.of(event.ticket))
        elif isinstance(event, QueueChanged):
            for stat in event.queues:
                self.waiting[stat.category] = stat.waiting
            self._show_waiting()
        elif isinstance(event, WindowChanged):
            # Offline or closed windows (reason offline, day_closed, …) stay known: a zone
            # screen's categories come from its windows' profiles, whatever their state.
            self.windows[event.window.number] = event.window
            self._show_windows()
        elif isinstance(event, DayClosed):
            self.close_day(event.seq)
        elif isinstance(event, TicketRequeued):
            self.withdraw_call(event.ticket.id)

    def add_call(self, call: CallView, *, live: bool, step: ChainStep | None = None) -> None:
        """Put a call on the screen; a live one also flashes and is announced."""
        if step is not None:
            self.chain_steps[call.seq] = step
        if any(c.seq == call.seq for c in self.calls):  # already in the snapshot
            if step is not None:
                self._show_calls()  # which could not say its step
            return
        self.calls = sorted([call, *self.calls], key=lambda c: c.seq, reverse=True)[:RECENT_CALLS]
        self._forget_steps()
        self._show_calls()
        if not live:
            return
        self._flash()
        if self.announcer is not None:
            self.announcer.announce(
                Announcement(call.seq, call.number, call.window, call.window_name, call.recall)
            )

    def withdraw_call(self, ticket: str) -> None:
        """A called ticket went back to the queue (its window went away): the citizen is no
        longer asked to go there, so its calls leave the screen; nothing is spoken."""
        if any(c.ticket == ticket for c in self.calls):
            self.calls = [c for c in self.calls if c.ticket != ticket]
            self._forget_steps()
            self._stop_flash()
            self._show_calls()

    def close_day(self, seq: int) -> None:
        """The day closed at event `seq`: its calls leave the screen. Calls after it (a new
        day's, known from a snapshot newer than a replayed day_closed) stay; nothing is
        spoken."""
        self.calls = [c for c in self.calls if c.seq > seq]
        self._forget_steps()
        self._stop_flash()
        self._show_calls()

    def _forget_steps(self) -> None:
        shown = {c.seq for c in self.calls}
        self.chain_steps = {seq: s for seq, s in self.chain_steps.items() if seq in shown}

    # -- rendering ------------------------------------------------------------------------------

    def _live(self) -> bool:
        """Whether the widgets are there to update. Events and timers of the app can still
        arrive while it shuts down and its screen is being taken apart."""
        return self.is_running

    def _show_clock(self) -> None:
        if not self._live():
            return
        now = self.options.clock().astimezone(self.timezone)
        self.query_one("#clock", Static).update(now.strftime("%Y-%m-%d %H:%M:%S"))
        self.query_one("#hall-name", Static).update(self.hall_name or "一窗")
        for notice in self.query("#notice").results(Static):  # the 窗口屏 has none
            notice.update(self.notice)

    def _show_windows(self) -> None:
        """The window-row and single-window layouts: each window's number now, or its state."""
        if not self._live():
            return
        if self.options.layout == "windows":

            def row(*cells: str) -> str:
                return "".join(set_cell_size(c, w) for c, w in zip(cells, ROW_CELLS, strict=True))

            headings = [self.text[k] for k in ("col_window", "col_name", "col_number", "col_state")]
            rows = Text(row(*headings) + "\n", style="bold #8fb3e8")
            for _, shown in sorted(self.windows.items()):
                cells = (str(shown.number), shown.name, shown.ticket_number or "")
                rows.append(row(*cells, self._state_of(shown)) + "\n", style="bold")
            self.query_one("#window-rows", Static).update(rows)
        elif self.options.layout == "window":
            window = self.windows.get(self.options.window or 0)
            name = f"{window.number} {window.name}" if window else str(self.options.window)
            self.query_one("#desk-name", Static).update(name)
            number = window.ticket_number if window is not None else None
            self.query_one("#desk-number", BigText).value = number or ""
            state = self._state_of(window) if window is not None else self.text["state_closed"]
            self.query_one("#desk-state", Static).update(state)

    def _state_of(self, window: WindowView) -> str:
        if not window.connected or window.state is WindowState.CLOSED:
            return self.text["state_closed"]
        if window.state is WindowState.PAUSED:
            return self.text["state_paused"]
        if window.state is WindowState.CALLING:
            return self.text["state_calling"].format(number=window.ticket_number or "")
        if window.state is WindowState.SERVING:
            return self.text["state_serving"]
        return self.text["state_idle"]

    def _show_calls(self) -> None:
        if not self._live():
            return
        if self.options.layout != "hall":
            return
        t = self.text
        newest = self.calls[0] if self.calls else None
        step = self.chain_steps.get(newest.seq) if newest is not None else None
        now_step = self.query_one("#now-step", Static)
        now_step.display = step is not None
        now_step.update(
            t["step"].format(step=step.index + 1, steps=step.steps, name=step.name) if step else ""
        )
        if newest is None:
            self.query_one("#now-sentence", Static).update(t["none"])
            self.query_one("#now-number", BigText).value = ""
            self.query_one("#now-window", BigText).value = ""
            self.query_one("#now-window-name", Static).update("")
        else:
            sentence = t["now"].format(number=newest.number, window=newest.window)
            self.query_one("#now-sentence", Static).update(
                sentence + (t["recall"] if newest.recall else "")
            )
            self.query_one("#now-number", BigText).value = newest.number
            self.query_one("#now-window", BigText).value = str(newest.window)
            self.query_one("#now-window-name", Static).update(newest.window_name)
        rows = [
            t["row"].format(number=c.number, window=c.window, name=c.window_name)
            + (t["recall"] if c.recall else "")
            for c in self.calls
        ]
        self.query_one("#recent-list", Static).update("\n".join(rows))

    def _show_waiting(self) -> None:
        if not self._live():
            return
        served = self._categories_served()
        parts = [
            f"{c.name} {self.text['people'].format(count=self.waiting.get(code, 0))}"
            for code, c in self.categories.items()
            if code in served
        ]
        for line in self.query("#waiting").results(Static):  # the 窗口屏 has none
            line.update(f"{self.text['waiting']}：" + "  ·  ".join(parts))

    def _categories_served(self) -> set[str]:
        """Categories the windows this screen shows can serve (a zone screen shows fewer)."""
        if not self.windows or any(not w.profile for w in self.windows.values()):
            return set(self.categories)
        return {code for w in self.windows.values() for code in w.profile}

    def _show_voice(self) -> None:
        if not self._live():
            return
        key = {
            VoiceState.ON: "voice_on",
            VoiceState.STARTING: "voice_starting",
            VoiceState.RESTARTING: "voice_restarting",
            VoiceState.OFF: "voice_no_engine",
            VoiceState.PLAYBACK_FAILED: "voice_unheard",
        }.get(self.voice_state, "voice_off")
        mark = self.query_one("#voice-mark", Static)
        mark.update(self.text[key])
        mark.set_class(key not in {"voice_on", "voice_starting"}, "off")

    def _show_connection(self) -> None:
        if not self._live():
            return
        banner = self.query_one("#banner", Static)
        if self.connection == "connected":
            banner.display = False
            return
        text = self.text[self.connection].format(reason=self.refusal)
        banner.update(text)
        banner.display = True

    def show_disconnected(self, reason: str = "") -> None:
        """Show the connection-lost banner (used by tests that have no server)."""
        self.post_message(ServerNotice(Disconnected(reason or "test", 1.0)))

    def _flash(self) -> None:
        if not self.options.animate or not self._live() or self.options.layout != "hall":
            return
        now_panel = self.query_one("#now", Vertical)
        self._flash_until = self._monotonic() + FLASH_SECONDS
        if self._flash_timer is None:
            self._flash_timer = self.set_interval(0.5, self._flash_step)
        now_panel.add_class("flash")

    def _flash_step(self) -> None:
        if not self._live():
            return
        if self._monotonic() >= self._flash_until:
            self._stop_flash()
            return
        self.query_one("#now", Vertical).toggle_class("flash")

    def _stop_flash(self) -> None:
        if self._flash_timer is not None:
            self._flash_timer.stop()
            self._flash_timer = None
        if self._live() and self.options.layout == "hall":
            self.query_one("#now", Vertical).remove_class("flash")

    @staticmethod
    def _monotonic() -> float:
        return time.monotonic()


def make_app(options: DisplayOptions | None = None, **overrides: object) -> CallScreenApp:
    """The call screen app; tests pass options (or field overrides) instead of a CLI."""
    options = options or DisplayOptions()
    for name, value in overrides.items():
        setattr(options, name, value)
    return CallScreenApp(options)
