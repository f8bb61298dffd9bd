"""The rating pad's screens: the welcome, the question (five levels), the reasons of a 差评,
and a message (thank you, or why the rating could not be taken) that leaves by itself."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal, cast

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Input, Static

from display.widgets import BigText
from queue_protocol.messages import WindowState

if TYPE_CHECKING:
    from rating_pad.app import Prompt, RatingPadApp

# A rating carries at most 10 reasons (the protocol's limit): 9 of the hall's and one typed.
MOST_CHOSEN = 9
SHORT_SCREEN = 30  # rows: below this, buttons are 3 rows tall instead of 5 (rating_pad.tcss)
LEVELS = (1, 2, 3, 4, 5)
# 满意 in green, 基本满意 in the hall's blue, 不满意 amber, 非常不满意 red.
LEVEL_VARIANTS: dict[int, Literal["success", "primary", "warning", "error"]] = {
    1: "success",
    2: "success",
    3: "primary",
    4: "warning",
    5: "error",
}


class PadScreen(Screen[None]):
    """A screen of the pad: the hall and the window at the top, the connection banner under
    them. On a short terminal it has the class `-short` (smaller buttons)."""

    AUTO_FOCUS = None  # no button is focused: a stray Enter rates nothing
    LANGUAGE_BUTTON = False
    WINDOW_AT_TOP = True  # the window's name beside the hall's (the welcome shows it large)

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.height < SHORT_SCREEN, "-short")

    @property
    def pad(self) -> RatingPadApp:
        return cast("RatingPadApp", self.app)

    def compose_top(self) -> ComposeResult:
        with Horizontal(id="top"):
            yield Static(self.pad.hall_name, id="hall-name")
            if self.WINDOW_AT_TOP:
                yield Static(self.pad.window_label(), id="window-label")
            if self.LANGUAGE_BUTTON:
                yield Button(self.pad.t("language"), id="language", compact=True)
        status = self.pad.status_text()
        banner = Static(status, id="banner")
        banner.display = bool(status)
        yield banner

    def texts(self) -> dict[str, str]:
        """What the screen's lines say now, by their id: composed with them, and updated."""
        return {"#hall-name": self.pad.hall_name, "#window-label": self.pad.window_label()}

    def update(self) -> None:
        """Show the app's state as it is now (names, the window, the connection). Its lines
        may be absent while the screen recomposes (a change of language)."""
        for selector, text in self.texts().items():
            for line in self.query(selector).results(Static):
                line.update(text)
        status = self.pad.status_text()
        for banner in self.query("#banner").results(Static):
            banner.update(status)
            banner.display = bool(status)

    def on_screen_resume(self) -> None:
        self.update()

    @on(Button.Pressed, "#language")
    def action_language(self) -> None:
        if self.LANGUAGE_BUTTON:
            self.pad.toggle_language(self)


class IdleScreen(PadScreen):
    """欢迎: the window, who works there (name and 工号), or that it is closed."""

    LANGUAGE_BUTTON = True
    WINDOW_AT_TOP = False
    BINDINGS: ClassVar[list[BindingType]] = [Binding("l", "language", show=False)]

    def compose(self) -> ComposeResult:
        t = self.pad.t
        texts = self.texts()
        with Vertical(id="idle"):
            yield from self.compose_top()
            with Vertical(id="welcome-panel"):
                yield Static(t("welcome"), id="welcome")
                for line in ("window-name", "staff", "window-state"):
                    yield Static(texts[f"#{line}"], id=line)
            yield Static(t("welcome_hint"), id="welcome-hint")

    def texts(self) -> dict[str, str]:
        t = self.pad.t
        view = self.pad.window_view
        staff, state = "", ""  # not connected yet: the banner says so
        if view is None:
            return {**super().texts(), "#window-name": "", "#staff": "", "#window-state": ""}
        if view.state is WindowState.CLOSED or not view.connected:  # closed, or its PC gone
            staff = t("closed")
        elif not view.staff:
            staff = t("no_staff")
        else:
            staff = t("staff", name=view.staff_name or view.staff, account=view.staff)
            if view.state is WindowState.PAUSED:
                state = t("paused")
            elif view.state is WindowState.CALLING and view.ticket_number:
                state = t("calling", number=view.ticket_number)
            elif view.state is WindowState.SERVING and view.ticket_number:
                state = t("serving", number=view.ticket_number)
        return {
            **super().texts(),
            "#window-name": self.pad.window_label(),
            "#staff": staff,
            "#window-state": state,
        }


class PromptScreen(PadScreen):
    """A screen about one service: the question, or its reasons."""

    def __init__(self, prompt: Prompt) -> None:
        super().__init__()
        self.prompt = prompt

    def say(self, text: str, *, problem: bool = False) -> None:
        for line in self.query("#say").results(Static):
            line.update(text)
            line.set_class(problem, "-problem")

    def service_text(self) -> str:
        """号码 A001 · 社会事务 · 服务人员 王芳 工号 ck01."""
        t, prompt = self.pad.t, self.prompt
        parts = [t("rate_ticket", number=prompt.number), self.pad.category_name(prompt.category)]
        if prompt.staff:
            parts.append(t("staff", name=prompt.staff_name or prompt.staff, account=prompt.staff))
        return "  ·  ".join(parts)


class RateScreen(PromptScreen):
    """请对本次服务进行评价: the ticket's number, large, and five levels (keys 1-5)."""

    LANGUAGE_BUTTON = True
    BINDINGS: ClassVar[list[BindingType]] = [
        *[Binding(str(n), f"choose({n})", show=False) for n in LEVELS],
        Binding("l", "language", show=False),
    ]

    def compose(self) -> ComposeResult:
        t = self.pad.t
        with Vertical(id="rate"):
            yield from self.compose_top()
            yield Static(t("rate_title"), id="rate-title")
            yield BigText(self.prompt.number, id="rate-number")
            yield Static(self.service_text(), id="rate-service")
            with Horizontal(id="levels"):
                for n in LEVELS:
                    yield Button(
                        f"{n}\n{t.level(n)}",
                        id=f"level-{n}",
                        classes="level",
                        variant=LEVEL_VARIANTS[n],
                    )
            yield Static(t("rate_keys"), id="say")

    @on(Button.Pressed, ".level")
    def pressed(self, event: Button.Pressed) -> None:
        assert event.button.id is not None
        self.action_choose(int(event.button.id.removeprefix("level-")))

    def action_choose(self, level: int) -> None:
        self.pad.choose(level, self)


class ReasonScreen(PromptScreen):
    """不满意 / 非常不满意: the hall's reasons as buttons (keys 1-9 too) and a typed one; at
    least one, or nothing can be sent. 返回 (Escape) goes back to the five levels."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *[Binding(str(n), f"reason({n - 1})", show=False) for n in range(1, 10)],
        Binding("escape", "back", show=False),
    ]

    def __init__(self, prompt: Prompt, level: int) -> None:
        super().__init__(prompt)
        self.level = level
        self.chosen: set[int] = set()  # indexes into the hall's reasons

    @property
    def reasons(self) -> list[str]:
        return self.pad.settings.reasons

    def compose(self) -> ComposeResult:
        t = self.pad.t
        with Vertical(id="reason"):
            yield from self.compose_top()
            yield Static(t("reason_title", level=t.level(self.level)), id="reason-title")
            yield Static(self.service_text(), id="reason-service")
            with VerticalScroll(id="reason-area"), Grid(id="reasons"):
                for n, reason in enumerate(self.reasons):
                    label = f"{n + 1} {reason}" if n < 9 else reason
                    yield Button(label, id=f"reason-{n}", classes="reason")
            yield Input(placeholder=t("reason_typed"), max_length=100, id="reason-typed")
            with Horizontal(id="reason-actions"):
                yield Button(t("submit"), id="submit", variant=LEVEL_VARIANTS[self.level])
                yield Button(t("back"), id="back")
            yield Static(t("reason_needed"), id="say")

    def on_mount(self) -> None:
        self._enable()

    def chosen_reasons(self) -> list[str]:
        """The reasons chosen, in the hall's order, then the one typed."""
        reasons = [r for n, r in enumerate(self.reasons) if n in self.chosen]
        typed = self.query_one("#reason-typed", Input).value.strip()
        if typed and typed not in reasons:
            reasons.append(typed)
        return reasons

    def _enable(self) -> None:
        self.query_one("#submit", Button).disabled = not self.chosen_reasons()

    @on(Button.Pressed, ".reason")
    def pressed(self, event: Button.Pressed) -> None:
        assert event.button.id is not None
        self.action_reason(int(event.button.id.removeprefix("reason-")))

    def action_reason(self, n: int) -> None:
        if not 0 <= n < len(self.reasons):
            return
        if n not in self.chosen and len(self.chosen) >= MOST_CHOSEN:
            return
        self.chosen ^= {n}
        self.query_one(f"#reason-{n}", Button).set_class(n in self.chosen, "-selected")
        self._enable()

    @on(Input.Changed, "#reason-typed")
    def typed(self) -> None:
        self._enable()

    @on(Input.Submitted, "#reason-typed")
    @on(Button.Pressed, "#submit")
    def submit(self) -> None:
        reasons = self.chosen_reasons()
        if not reasons:
            self.say(self.pad.t("reason_needed"), problem=True)
            return
        self.pad.send(self.level, reasons, self)

    @on(Button.Pressed, "#back")
    def action_back(self) -> None:
        if self.pad.shown(self) and self.pad.sending is None:
            self.dismiss()


class MessageScreen(PadScreen):
    """感谢您的评价, or why the rating was not taken; the pad goes back to the welcome at
    `until` (its clock)."""

    def __init__(self, title: str, message: str, until: float) -> None:
        super().__init__()
        self.title_text = title
        self.message = message
        self.until = until

    def compose(self) -> ComposeResult:
        with Vertical(id="message"):
            yield from self.compose_top()
            with Vertical(id="message-panel"):
                if self.title_text:
                    yield Static(self.title_text, id="message-title")
                yield Static(self.message, id="message-text")
