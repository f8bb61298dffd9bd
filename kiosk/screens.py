"""The kiosk's screens: start, service (item + priority), green-channel confirmation,
ticket, check-in, notices, the closed screen, and the administrator's exit (booking an
appointment: kiosk/booking.py)."""

from __future__ import annotations

import hmac
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, ClassVar, Literal, cast

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Center, Grid, Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Input, Static

from display.bigtext import big
from kiosk.i18n import Texts
from kiosk.printing import PrintResult
from queue_protocol.messages import CategoryView, Priority, TicketReply, TicketState, TicketView

if TYPE_CHECKING:
    from kiosk.app import KioskApp

# The check-in code alphabet (unambiguous characters) as the server makes them.
CODE_ALPHABET = "ACDEFHJKMNPQRTUVWXY3479"
CODE_LENGTH = 6


SHORT_SCREEN = 30  # rows: below this, buttons are 3 rows tall instead of 5 (kiosk.tcss)


class KioskScreen(Screen[None]):
    """A kiosk screen. Its requests to the app name it as their origin: the app ignores
    those of a screen no longer shown (see `KioskApp.shown`). On a short terminal it has
    the class `-short`, whose smaller buttons keep every one of them on screen."""

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.height < SHORT_SCREEN, "-short")

    @property
    def kiosk(self) -> KioskApp:
        return cast("KioskApp", self.app)

    def go_home(self) -> None:
        self.kiosk.go_home(self)


class Countdown(Static):
    """ "60 秒后自动返回首页", counting down each second (by the kiosk's clock) while the
    screen's own timer takes it home."""

    def __init__(self, seconds: float, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.seconds = seconds

    def on_mount(self) -> None:
        self.ends = self.kiosk.clock() + timedelta(seconds=self.seconds)
        self.tick()
        self.set_interval(1.0, self.tick)

    @property
    def kiosk(self) -> KioskApp:
        return cast("KioskApp", self.app)

    def restart(self) -> None:
        """Count down from the start again (the screen was touched)."""
        self.ends = self.kiosk.clock() + timedelta(seconds=self.seconds)
        self.tick()

    def remaining(self) -> int:
        return max(0, math.ceil((self.ends - self.kiosk.clock()).total_seconds()))

    def tick(self) -> None:
        self.update(self.kiosk.t("returning", s=str(self.remaining())))


class Header(Horizontal):
    """Hall name on the left, date and time on the right."""

    def compose(self) -> ComposeResult:
        yield Static("", id="hall-name")
        yield Static("", id="clock")

    def on_mount(self) -> None:
        self.update_texts()
        self.set_interval(1.0, self.update_texts)

    def update_texts(self) -> None:
        # Tolerant of its own parts being gone: its timer can fire once more while its
        # screen is taken apart (going back home, or a recompose).
        kiosk = cast("KioskApp", self.app)
        for name in self.query("#hall-name").results(Static):
            name.update(kiosk.hall_name)
        for clock in self.query("#clock").results(Static):
            clock.update(kiosk.local_now().strftime(kiosk.t("clock")))


# ---------------------------------------------------------------------------


class StartScreen(KioskScreen):
    """Categories as big buttons; keys 1-9 choose one, B books an appointment, C checks in,
    L switches language."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("b", "book", "book", show=False),
        Binding("c", "check_in", "check in", show=False),
        Binding("l", "language", "language", show=False),
        *[Binding(str(n), f"category({n})", show=False) for n in range(1, 10)],
    ]

    def compose(self) -> ComposeResult:
        t = self.kiosk.t
        with Vertical(id="start"):
            yield Header()
            yield Static(self.kiosk.notice, id="notice")
            yield Static(t("choose_category"), id="prompt", classes="prompt")
            with Grid(id="categories"):
                for n, category in enumerate(self.kiosk.categories, start=1):
                    yield Button(
                        self.label(n, category),
                        id=f"cat-{category.code}",
                        classes="category",
                        disabled=category.issuing_paused,
                    )
            with Horizontal(id="actions"):
                yield Button(t("book"), id="book", variant="success")
                yield Button(t("check_in"), id="check-in", variant="primary")
                yield Button(t("language"), id="language")
            yield Static(self.kiosk.status_text(), id="status")

    def label(self, n: int, category: CategoryView) -> str:
        """A category's button: its key and name, its letter and how many are waiting (or
        that a supervisor paused its issuing)."""
        if category.issuing_paused:
            return f"{n}  {category.name}\n{category.prefix}  ·  {self.kiosk.t('paused')}"
        waiting = self.kiosk.t("waiting_n", n=self.kiosk.waiting.get(category.code, 0))
        return f"{n}  {category.name}\n{category.prefix}  ·  {waiting}"

    def update_waiting(self) -> None:
        for n, category in enumerate(self.kiosk.categories, start=1):
            for button in self.query(f"#cat-{category.code}").results(Button):
                button.label = self.label(n, category)

    def update_status(self) -> None:
        # Absent while the screen recomposes after a configuration change; the new
        # composition shows the current status itself.
        for status in self.query("#status").results(Static):
            status.update(self.kiosk.status_text())

    @on(Button.Pressed, ".category")
    def choose(self, event: Button.Pressed) -> None:
        assert event.button.id is not None
        self.kiosk.choose_category(event.button.id.removeprefix("cat-"), self)

    def action_category(self, n: int) -> None:
        if 0 < n <= len(self.kiosk.categories):
            self.kiosk.choose_category(self.kiosk.categories[n - 1].code, self)

    @on(Button.Pressed, "#book")
    def action_book(self) -> None:
        self.kiosk.open_booking(self)

    @on(Button.Pressed, "#check-in")
    def action_check_in(self) -> None:
        self.kiosk.open_check_in(self)

    @on(Button.Pressed, "#language")
    def action_language(self) -> None:
        self.kiosk.toggle_language()


# 绿色通道 is green, as its name and the hall's signs say; the ordinary ticket the hall's
# blue; 帮办代办 amber.
PRIORITY_VARIANTS: dict[Priority, Literal["primary", "success", "warning"]] = {
    Priority.NORMAL: "primary",
    Priority.GREEN: "success",
    Priority.ASSISTED: "warning",
}


class ServiceScreen(KioskScreen):
    """One category: optional service item (with its materials), then the priority class."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "back", show=False),
        Binding("n", "issue('normal')", show=False),
        Binding("g", "issue('green')", show=False),
        Binding("a", "issue('assisted')", show=False),
    ]

    def __init__(self, category: str) -> None:
        super().__init__()
        self.category = category
        self.item: str | None = None

    def compose(self) -> ComposeResult:
        t = self.kiosk.t
        category = self.kiosk.category(self.category)
        items = [i for i in self.kiosk.items if i.category == self.category]
        with Vertical(id="service"):
            yield Header()
            yield Static(category.name if category else self.category, id="service-title")
            if items:
                yield Static(t("choose_item"), classes="prompt")
                with Horizontal(id="item-area"):
                    with VerticalScroll(id="items"):
                        yield Button(t("no_item"), id="item-none", classes="item -selected")
                        for n, item in enumerate(items):
                            yield Button(item.name, id=f"item-{n}", classes="item")
                    yield Static(t("no_materials"), id="materials")
            yield Static(t("choose_priority"), classes="prompt")
            with Horizontal(id="priorities"):
                for priority in self.kiosk.priorities:
                    yield Button(
                        t(f"priority.{priority.value}"),
                        id=f"prio-{priority.value}",
                        classes="priority",
                        variant=PRIORITY_VARIANTS.get(priority, "default"),
                    )
            yield Button(t("back"), id="back")

    @on(Button.Pressed, ".item")
    def choose_item(self, event: Button.Pressed) -> None:
        t = self.kiosk.t
        items = [i for i in self.kiosk.items if i.category == self.category]
        for button in self.query(".item"):
            button.remove_class("-selected")
        event.button.add_class("-selected")
        materials = self.query_one("#materials", Static)
        if event.button.id == "item-none":
            self.item = None
            materials.update(t("no_materials"))
            return
        assert event.button.id is not None
        item = items[int(event.button.id.removeprefix("item-"))]
        self.item = item.name
        lines = [f"{t('materials')}:"] + [f"  {n}. {m}" for n, m in enumerate(item.materials, 1)]
        materials.update("\n".join(lines))

    @on(Button.Pressed, ".priority")
    def choose_priority(self, event: Button.Pressed) -> None:
        assert event.button.id is not None
        self.action_issue(event.button.id.removeprefix("prio-"))

    def action_issue(self, priority: str) -> None:
        chosen = Priority(priority)
        if chosen not in self.kiosk.priorities:
            return
        if chosen is Priority.GREEN:

            def confirmed(ok: bool | None) -> None:
                if ok:
                    self.kiosk.issue(self.category, self.item, chosen, self)

            if self.kiosk.shown(self):
                self.app.push_screen(ConfirmGreenScreen(), confirmed)
            return
        self.kiosk.issue(self.category, self.item, chosen, self)

    @on(Button.Pressed, "#back")
    def action_back(self) -> None:
        self.go_home()


class AdminExitScreen(ModalScreen[bool]):
    """The one way out of a kiosk: the administrator's PIN (Escape returns to the kiosk;
    three wrong PINs close the box)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "leave", show=False)]
    ATTEMPTS = 3

    def __init__(self, pin: str) -> None:
        super().__init__()
        self._pin = pin
        self._wrong = 0

    def compose(self) -> ComposeResult:
        t = cast("KioskApp", self.app).t
        with Vertical(id="confirm"):
            yield Static(t("admin_title"), id="confirm-title")
            yield Input(placeholder=t("admin_pin"), password=True, id="admin-pin")
            yield Static("", id="admin-problem")
            with Horizontal(classes="buttons"):
                yield Button(t("admin_exit"), id="admin-exit", variant="error")
                yield Button(t("back"), id="admin-back")

    @on(Input.Submitted)
    @on(Button.Pressed, "#admin-exit")
    def check(self) -> None:
        entered = self.query_one("#admin-pin", Input)
        if hmac.compare_digest(entered.value.encode(), self._pin.encode()):
            self.dismiss(True)
            return
        self._wrong += 1
        entered.value = ""
        if self._wrong >= self.ATTEMPTS:
            self.dismiss(False)
            return
        self.query_one("#admin-problem", Static).update(cast("KioskApp", self.app).t("admin_wrong"))

    @on(Button.Pressed, "#admin-back")
    def action_leave(self) -> None:
        self.dismiss(False)


class ConfirmGreenScreen(ModalScreen[bool]):
    """绿色通道: the citizen confirms eligibility (the window checks documents)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "answer(False)", show=False),
        Binding("y", "answer(True)", show=False),
    ]

    def compose(self) -> ComposeResult:
        t = cast("KioskApp", self.app).t
        with Vertical(id="confirm"):
            yield Static(t("green_title"), id="confirm-title")
            yield Static(t("green_text"), id="confirm-text")
            with Horizontal(classes="buttons"):
                yield Button(t("green_confirm"), id="confirm-yes", variant="warning")
                yield Button(t("back"), id="confirm-no")

    @on(Button.Pressed, "#confirm-yes")
    def yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#confirm-no")
    def no(self) -> None:
        self.dismiss(False)

    def action_answer(self, ok: bool) -> None:
        self.dismiss(ok)


# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedTicket:
    reply: TicketReply
    category_name: str
    note: str = ""
    finished: bool = False  # done, no-show, cancelled or expired: nothing to wait for


def chain_text(t: Texts, ticket: TicketView) -> str:
    """The one-chain note for a ticket of a chain item ("一链办理 共5步，第1步：企业登记")."""
    if ticket.steps <= 1:
        return ""
    return t("ticket_chain", steps=ticket.steps, step=ticket.chain_step + 1, name=ticket.step or "")


def state_text(t: Texts, ticket: TicketView) -> str:
    """The ticket's state, said only when it is not simply waiting (a lost slip again)."""
    if ticket.state is TicketState.WAITING:
        return ""
    return t("ticket_state", state=t.state(ticket.state))


class TicketScreen(KioskScreen):
    """The ticket: number, people ahead, estimated wait, time; returns home by itself."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "done", show=False),
        Binding("escape", "done", show=False),
        Binding("p", "reprint", show=False),
    ]

    def __init__(self, issued: IssuedTicket) -> None:
        super().__init__()
        self.issued = issued

    def compose(self) -> ComposeResult:
        t = self.kiosk.t
        reply = self.issued.reply
        ticket = reply.ticket
        issued_at = ticket.issued_at.astimezone(self.kiosk.tz)
        what = self.issued.category_name + (f" · {ticket.item}" if ticket.item else "")
        if ticket.priority is not Priority.NORMAL:
            what += f" · {t.priority(ticket.priority)}"
        with Vertical(id="ticket"):
            yield Header()
            yield Static(t("ticket_title"), id="ticket-title")
            with Center():
                yield Static(big(ticket.number), id="number")
            yield Static(ticket.number, id="number-text")
            yield Static(what, id="ticket-category")
            chain = chain_text(t, ticket)
            if chain:
                yield Static(chain, id="ticket-chain")
            state = state_text(t, ticket)
            if state:
                yield Static(state, id="ticket-state")
            if self.issued.finished:
                yield Static(t("ticket_final"), id="ticket-wait")
            else:
                yield Static(
                    f"{t('ticket_ahead', n=reply.people_ahead)}    "
                    f"{t('ticket_wait', m=f'{reply.estimated_wait_minutes:.0f}')}",
                    id="ticket-wait",
                )
            yield Static(t("ticket_time", t=issued_at.strftime("%Y-%m-%d %H:%M")), id="ticket-time")
            yield Static(self.issued.note, id="ticket-note")
            if self.issued.finished:
                printing = ""
            elif self.kiosk.printer.enabled:
                printing = t("printing")
            else:
                printing = t("screen_only")
            yield Static(printing, id="print-status")
            with Horizontal(classes="buttons"):
                yield Button(t("done"), id="done", variant="primary")
                yield Button(t("reprint"), id="reprint", classes="-hidden")
            yield Countdown(self.kiosk.reset_after, id="returning")

    def on_mount(self) -> None:
        self.set_timer(self.kiosk.reset_after, self.go_home)

    def show_print(self, result: PrintResult) -> None:
        if not self.is_active:  # the citizen has left (or is leaving) this ticket
            return
        t = self.kiosk.t
        status = self.query_one("#print-status", Static)
        reprint = self.query_one("#reprint", Button)
        if result.printed:
            status.update(t("printed"))
            status.remove_class("-error")
            reprint.add_class("-hidden")
        elif result.error is not None:
            status.update(t("print_failed", error=result.error))
            status.add_class("-error")
            reprint.remove_class("-hidden")

    @on(Button.Pressed, "#done")
    def action_done(self) -> None:
        self.go_home()

    @on(Button.Pressed, "#reprint")
    def action_reprint(self) -> None:
        if self.is_active and not self.query_one("#reprint", Button).has_class("-hidden"):
            self.query_one("#print-status", Static).update(self.kiosk.t("printing"))
            self.kiosk.print_ticket(self, self.issued)


class KeyButton(Button):
    """A keypad key. A plain Button ignores taps during its 0.2 s press animation, which
    would swallow the second A of a code like 3AAC79 typed quickly; the typed code on
    screen is the feedback instead."""

    def __init__(self, label: str, *, id: str, classes: str = "key") -> None:
        super().__init__(label, id=id, classes=classes)
        self.active_effect_duration = 0


class CheckInScreen(KioskScreen):
    """Appointment check-in: the code typed on the keyboard or on the on-screen keypad."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "back", show=False)]

    def compose(self) -> ComposeResult:
        t = self.kiosk.t
        with Vertical(id="check-in-screen"):
            yield Header()
            yield Static(t("check_in_title"), id="check-in-title")
            yield Static(t("check_in_prompt"), classes="prompt")
            yield Input(id="code", max_length=CODE_LENGTH + 2, placeholder="A3C7KM")
            with Grid(id="keypad"):
                for char in CODE_ALPHABET:
                    yield KeyButton(char, id=f"key-{char}")
                yield KeyButton(t("delete"), id="key-delete", classes="key wide")
            with Horizontal(classes="buttons"):
                yield Button(t("check_in_submit"), id="submit", variant="primary")
                yield Button(t("back"), id="back")

    def on_mount(self) -> None:
        self.query_one("#code", Input).focus()

    @on(Button.Pressed, ".key")
    def key(self, event: Button.Pressed) -> None:
        code = self.query_one("#code", Input)
        if event.button.id == "key-delete":
            code.value = code.value[:-1]
        elif len(code.value) < CODE_LENGTH:
            code.value += str(event.button.label)

    @on(Input.Submitted, "#code")
    @on(Button.Pressed, "#submit")
    def submit(self) -> None:
        code = self.query_one("#code", Input).value.strip()
        if code:
            self.kiosk.check_in(code, self)

    @on(Button.Pressed, "#back")
    def action_back(self) -> None:
        self.go_home()


class NoticeScreen(KioskScreen):
    """A plain message (closed, capacity reached, wrong code…); returns home by itself."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "done", show=False),
        Binding("escape", "done", show=False),
    ]

    def __init__(
        self, title: str, message: str, *, retry: Callable[[], object] | None = None
    ) -> None:
        super().__init__()
        self.title_text = title
        self.message = message
        self.retry = retry

    def compose(self) -> ComposeResult:
        t = self.kiosk.t
        with Vertical(id="notice-screen"):
            yield Header()
            yield Static(self.title_text, id="notice-title")
            yield Static(self.message, id="notice-message")
            with Horizontal(classes="buttons"):
                if self.retry is not None:
                    yield Button(t("retry"), id="retry", variant="warning")
                yield Button(t("back"), id="done", variant="primary")
            yield Countdown(self.kiosk.reset_after, id="returning")

    def on_mount(self) -> None:
        self.set_timer(self.kiosk.reset_after, self.go_home)

    @on(Button.Pressed, "#done")
    def action_done(self) -> None:
        self.go_home()

    @on(Button.Pressed, "#retry")
    def do_retry(self) -> None:
        if self.retry is not None and self.kiosk.shown(self):
            self.retry()


class ClosedScreen(KioskScreen):
    """Outside opening hours: says so and offers nothing; leaves when the hall opens."""

    def compose(self) -> ComposeResult:
        t = self.kiosk.t
        with Vertical(id="closed-screen"):
            yield Header()
            yield Static(t("closed_title"), id="notice-title")
            yield Static(t("closed"), id="notice-message")
            yield Static(self.kiosk.notice, id="notice")
