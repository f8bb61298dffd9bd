"""The rating pad (评价器, SPEC §3 好差评): the small screen facing the citizen at one window.

The pad logs in with its device token (role rater); the server binds it to its one window
and tells it only about that window: who works there, and each service finished there.
After a finish it asks the citizen to rate that service (一次一评) on five levels; 不满意
and 非常不满意 need a reason, chosen from the hall's list or typed. If nobody rates within
the hall's `pad_seconds`, it tells the server `no_rating` (recorded as not rated, never as a
rating) and goes back to the welcome screen. Only the last service finished at the window
can be rated here, so a newer finish replaces the question.

A question ends only by a rating, its time-out, a newer finish or the day's close-out: not
when the window starts serving the next citizen, so staff cannot cut a citizen's 差评 short
by moving on. A tap or key on the question or reason screen restarts the wait (the citizen
is still there).

Times are measured on the pad's own clock (`PadOptions.clock`, monotonic seconds) from when
it learnt of the finish; a pad that (re)connects after a finish asks for what is left of
the wait by the server's own clock (the snapshot's `now` minus the service's end). One
timer (`tick`) checks the deadlines, so a test moves the clock instead of waiting.

After a reconnect the snapshot is the truth (its `last_service`); replayed events are
already in it and are not acted on again. What the citizen reads of a refusal comes from the
error's code and reason (`Texts.refusal`), never from the server's text.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from textual import events, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import Screen

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
    BAD_FROM,
    ConfigChanged,
    DayClosed,
    GetSnapshot,
    LastService,
    NoRating,
    Rate,
    RatingNotGiven,
    RatingReply,
    RatingSettings,
    RatingView,
    Role,
    ServiceFinished,
    Snapshot,
    SnapshotReply,
    TicketRated,
    WindowChanged,
    WindowView,
)
from rating_pad.i18n import Texts
from rating_pad.screens import IdleScreen, MessageScreen, PadScreen, RateScreen, ReasonScreen

log = logging.getLogger(__name__)

Clock = Callable[[], float]
DEFAULT_SERVER = "ws://127.0.0.1:8765"
# What the pad assumes until the server says (a server that sends no `rating`).
DEFAULT_SETTINGS = RatingSettings(reasons=[], pad_seconds=60, qr_working_days=5)
ASKED_KEPT = 20  # the services last asked about, never asked again (a reconnect, a replay)


@dataclass(frozen=True)
class Prompt:
    """A service the pad asks the citizen to rate: the last one finished at its window."""

    ticket: str  # the ticket's id
    number: str
    step: int  # the one-chain step served (0 = the first)
    category: str
    staff: str | None = None
    staff_name: str | None = None

    @property
    def key(self) -> tuple[str, int]:
        return self.ticket, self.step

    @classmethod
    def of_finish(cls, event: ServiceFinished, window: WindowView | None) -> Prompt:
        """The service a `service_finished` ended. Its ticket is as it is after the finish:
        one that waits for its next one-chain step has moved on to it."""
        ticket = event.ticket
        step = ticket.chain_step - 1 if event.next_step else ticket.chain_step
        # A ticket moved on to its next step has no staff any more: the window's is who served.
        staff = ticket.staff or (window.staff if window is not None else None)
        name = window.staff_name if window is not None and window.staff == staff else None
        return cls(ticket.id, ticket.number, step, ticket.category, staff, name)

    @classmethod
    def of_last(cls, last: LastService) -> Prompt:
        return cls(last.ticket, last.number, last.step, last.category, last.staff, last.staff_name)


@dataclass
class PadOptions:
    """Everything the pad is started with (the CLI fills it in; tests pass their own)."""

    server: str = DEFAULT_SERVER
    token: str = ""
    lang: str = "zh"
    clock: Clock = field(default=time.monotonic)  # seconds; only differences are used
    tick: float = 0.25  # how often the deadlines are checked
    thanks_seconds: float = 5.0  # the thank-you (or a notice) stays this long
    request_timeout: float = 10.0
    backoff: Backoff | None = None


class RatingPadApp(App[None]):
    CSS_PATH = "rating_pad.tcss"
    TITLE = "一窗 评价器"
    # Citizens touch this screen: no command palette, and no key quits it (stop it with a
    # signal, e.g. from its service manager).
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "locked", show=False, priority=True),
        Binding("ctrl+c", "locked", show=False, priority=True),
    ]

    def __init__(self, options: PadOptions) -> None:
        super().__init__()
        self.options = options
        self.t = Texts(options.lang)
        self.client: QueueClient | None = None
        self.online = False
        self.connected_once = False
        self.fatal: str | None = None  # the error code of a server that refused this pad
        self.window: int | None = None  # the pad's window, as its hello reply says
        self.hall_name = ""
        self.categories: dict[str, str] = {}  # code -> name
        self.windows: dict[int, WindowView] = {}
        self.settings = DEFAULT_SETTINGS
        self.prompt: Prompt | None = None
        self.deadline = 0.0  # on the pad's clock: when the prompt times out
        self.sending: Rate | None = None  # the rating waiting for its reply
        self.asked: list[tuple[str, int]] = []  # the last services asked about, oldest first
        self.last_rating: RatingView | None = None  # the last rating this pad gave (tests)

    def action_locked(self) -> None:
        log.info("exit key pressed; the rating pad stays (stop it with a signal)")

    # -- what the screens read ------------------------------------------------------------

    @property
    def window_view(self) -> WindowView | None:
        return self.windows.get(self.window) if self.window is not None else None

    def window_label(self) -> str:
        view = self.window_view
        if view is None:
            return ""
        return self.t("window", number=view.number, name=view.name)

    def category_name(self, code: str) -> str:
        return self.categories.get(code, code)

    def status_text(self) -> str:
        """The banner: why the pad cannot rate now, or nothing."""
        if self.fatal:
            return self.t("refused", code=self.fatal)
        if not self.connected_once:
            return self.t("connecting")
        if not self.online:
            return self.t("offline")
        return ""

    # -- lifecycle ----------------------------------------------------------------------

    def on_mount(self) -> None:
        self.push_screen(IdleScreen())
        self.keep_connected()
        self.set_interval(self.options.tick, self.check_time)

    @work(exclusive=True, group="connection")
    async def keep_connected(self) -> None:
        credentials = Credentials(role=Role.RATER, token=self.options.token, client="queue-rate")
        client = QueueClient(self.options.server, credentials, backoff=self.options.backoff)
        self.client = client
        try:
            # Not reachable yet, or refused: the client says so in its notices.
            with contextlib.suppress(ServerError, NotConnected):
                await client.start(timeout=0.1)
            async for notice in client.notices():
                self.on_notice(notice)
        finally:
            await client.close()

    def on_notice(self, notice: Notice) -> None:
        if isinstance(notice, Connected):
            self.online = self.connected_once = True
            self.window = notice.hello.window
            snapshot = notice.hello.snapshot
            self.apply_snapshot(snapshot)
            self.resume(snapshot)
        elif isinstance(notice, Disconnected):
            self.online = False
            log.warning("disconnected (%s); retrying in %.1f s", notice.reason, notice.retry_in)
        elif isinstance(notice, Stopped):
            self.online = False
            if notice.error is not None:
                log.error("the server stopped this pad: %s", notice.error)
                self.fatal = notice.error.code.value
        elif isinstance(notice, EventReceived) and not notice.replayed:
            self.apply_event(notice.event)
        self.update_screens()

    @work(exclusive=True, group="snapshot")
    async def refresh_snapshot(self) -> None:
        """The hall's settings again (its reasons, the wait, names) after a change."""
        if self.client is None or not self.online:
            return
        try:
            reply: SnapshotReply = await self.client.request(
                GetSnapshot, timeout=self.options.request_timeout
            )
        except (ServerError, TimeoutError, NotConnected) as exc:
            log.warning("could not refresh the snapshot: %s", exc)
            return
        self.apply_snapshot(reply.snapshot)
        self.update_screens()

    def apply_snapshot(self, snapshot: Snapshot) -> None:
        self.hall_name = snapshot.hall.name
        self.categories = {c.code: c.name for c in snapshot.categories}
        self.windows = {w.number: w for w in snapshot.windows}
        self.settings = snapshot.rating or DEFAULT_SETTINGS

    def resume(self, snapshot: Snapshot) -> None:
        """After a (re)connection: go on with the question asked, drop it if the service
        was rated or another finished meanwhile, or ask about a service that finished while
        the pad was away (for what is left of the wait)."""
        last = snapshot.last_service
        if self.prompt is not None:
            if last is not None and Prompt.of_last(last).key == self.prompt.key:
                if last.rated and self.sending is None:
                    self.end_prompt()
                return
            self.end_prompt()
        if last is None or last.rated or snapshot.now is None:
            return
        left = self.settings.pad_seconds - (snapshot.now - last.ended_at).total_seconds()
        if left > 0:
            self.ask(Prompt.of_last(last), left)

    def apply_event(self, event: Any) -> None:
        if isinstance(event, ServiceFinished):
            if event.window == self.window:
                self.ask(Prompt.of_finish(event, self.window_view), self.settings.pad_seconds)
        elif isinstance(event, WindowChanged):
            self.windows[event.window.number] = event.window
        elif isinstance(event, TicketRated | RatingNotGiven):
            # Rated by another channel, or timed out by another pad of this window.
            ticket, step = (
                (event.rating.ticket, event.rating.step)
                if isinstance(event, TicketRated)
                else (event.ticket, event.step)
            )
            asked = self.prompt
            if asked is not None and asked.key == (ticket, step) and self.sending is None:
                self.end_prompt()
        elif isinstance(event, DayClosed):
            if self.prompt is not None:
                self.end_prompt()
            self.refresh_snapshot()
        elif isinstance(event, ConfigChanged):
            self.refresh_snapshot()

    # -- the question -------------------------------------------------------------------

    def ask(self, prompt: Prompt, seconds: float) -> None:
        """Ask the citizen to rate `prompt` for `seconds`, replacing any question before."""
        if prompt.key in self.asked:
            return
        self.asked = [*self.asked[-ASKED_KEPT + 1 :], prompt.key]
        log.info("asking for the rating of %s (step %d)", prompt.number, prompt.step)
        self.prompt = prompt
        self.deadline = self.options.clock() + seconds
        self.show(RateScreen(prompt))

    def end_prompt(self) -> None:
        """The question is over without a rating from here: back to the welcome."""
        self.prompt = None
        self.go_idle()

    def check_time(self) -> None:
        """The one timer: a question nobody answered times out; a message has been read."""
        now = self.options.clock()
        if self.prompt is not None and self.sending is None and now >= self.deadline:
            self.time_out(self.prompt)
        shown = self.screen if self.screen_stack else None
        if isinstance(shown, MessageScreen) and now >= shown.until:
            self.go_idle()

    def time_out(self, prompt: Prompt) -> None:
        log.info("no rating for %s: the wait is over", prompt.number)
        self.prompt = None
        self.go_idle()
        self.send_no_rating(NoRating(id=QueueClient.new_id(), ticket=prompt.ticket))

    @work(group="no-rating")
    async def send_no_rating(self, request: NoRating) -> None:
        if self.client is None:
            return
        try:
            await self.client.request(request, timeout=self.options.request_timeout)
        except (ServerError, TimeoutError, NotConnected) as exc:
            # Nothing to show: the server's own deadline ends the pad's chance anyway.
            log.warning("no_rating for %s not recorded: %s", request.ticket, exc)

    def touched(self) -> None:
        """The citizen is still there: the wait starts again."""
        if self.prompt is not None:
            self.deadline = max(self.deadline, self.options.clock() + self.settings.pad_seconds)

    async def on_event(self, event: events.Event) -> None:
        touch = isinstance(event, events.Key | events.MouseDown) and not event.is_forwarded
        if touch and self.screen_stack and isinstance(self.screen, RateScreen | ReasonScreen):
            self.touched()
        await super().on_event(event)

    # -- rating ---------------------------------------------------------------------------

    def shown(self, origin: Screen[Any] | None) -> bool:
        """Whether a request from `origin` may act: only the screen shown may (a tap queued
        before a change of screen acts on nothing)."""
        return origin is None or origin.is_active

    def choose(self, level: int, origin: Screen[Any] | None = None) -> None:
        """A level chosen on the question screen: sent, or first its reasons (差评)."""
        if not self.shown(origin) or self.prompt is None or self.sending is not None:
            return
        if level >= BAD_FROM:
            self.push_screen(ReasonScreen(self.prompt, level))
            return
        self.send(level, ())

    def send(self, level: int, reasons: Sequence[str], origin: Screen[Any] | None = None) -> None:
        prompt = self.prompt
        if not self.shown(origin) or prompt is None or self.sending is not None:
            return
        if level >= BAD_FROM and not reasons:  # the reason screen allows none; the server neither
            return
        request = Rate(
            id=QueueClient.new_id(), ticket=prompt.ticket, level=level, reasons=list(reasons)
        )
        self.sending = request
        self.say(self.t("sending"))
        self.send_rating(prompt, request)

    # Not exclusive: a rating the server may already have recorded is never cancelled;
    # `sending` lets one go at a time.
    @work(group="rating")
    async def send_rating(self, prompt: Prompt, request: Rate) -> None:
        try:
            if self.client is None:
                raise NotConnected("not connected")
            reply: RatingReply = await self.client.request(
                request, timeout=self.options.request_timeout
            )
        except ServerError as exc:
            log.info("rating of %s refused: %s %s", prompt.number, exc.code, exc.message)
            message, over = self.t.refusal(exc.reply)
            if self.prompt is not prompt:  # a newer service is asked about meanwhile
                return
            if over:
                self.prompt = None
                self.show(MessageScreen("", message, self._until()))
            else:
                self.say(message, problem=True)
            return
        except (TimeoutError, NotConnected, ConnectionError) as exc:
            log.warning("rating of %s got no answer: %r", prompt.number, exc)
            if self.prompt is prompt:
                self.say(self.t("network"), problem=True)
            return
        finally:
            self.sending = None
        rating = self.last_rating = reply.rating
        log.info("%s rated %d (%s)", prompt.number, rating.level, ", ".join(rating.reasons))
        if self.prompt is not prompt:
            return
        self.prompt = None
        after = self.t("thanks_bad") if rating.bad else self.t("thanks_good")
        self.show(MessageScreen(self.t("thanks"), after, self._until()))

    def _until(self) -> float:
        return self.options.clock() + self.options.thanks_seconds

    # -- screens ----------------------------------------------------------------------------

    def show(self, screen: PadScreen) -> None:
        """`screen` above the welcome, in place of whatever was there."""
        while len(self.screen_stack) > 2:
            self.pop_screen()
        self.push_screen(screen)

    def go_idle(self) -> None:
        """Back to the welcome, in the pad's own language (the next citizen's)."""
        if not self.screen_stack:  # the app is shutting down
            return
        while len(self.screen_stack) > 2:
            self.pop_screen()
        if self.t.lang != self.options.lang:
            self.set_language(self.options.lang)
        self.update_screens()

    def toggle_language(self, origin: Screen[Any] | None = None) -> None:
        if self.shown(origin):
            self.set_language("en" if self.t.lang == "zh" else "zh")

    def set_language(self, lang: str) -> None:
        self.t = Texts(lang)
        for screen in self.screen_stack:
            if isinstance(screen, PadScreen):
                screen.refresh(recompose=True)

    def say(self, text: str, *, problem: bool = False) -> None:
        """A line under the question or the reasons: sending, or what went wrong."""
        if self.screen_stack and isinstance(self.screen, RateScreen | ReasonScreen):
            self.screen.say(text, problem=problem)

    def update_screens(self) -> None:
        """Names, the window's state and the banner, as they are now."""
        for screen in self.screen_stack:
            if isinstance(screen, PadScreen):
                screen.update()


def make_app(options: PadOptions | None = None, **overrides: Any) -> RatingPadApp:
    """The pad as `queue-rate` runs it; tests pass options or field overrides."""
    options = options or PadOptions()
    for name, value in overrides.items():
        setattr(options, name, value)
    return RatingPadApp(options)
