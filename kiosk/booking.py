"""Booking an appointment at the kiosk (预约, SPEC §3): the category, its service item (when
it has items offered by appointment), a day, a slot, the citizen's name and mobile number,
a confirmation; then the check-in code on screen and on a slip.

The kiosk learns the places from `appointment_slots`, which says nothing about anyone's
booking. Each step is a screen of its own: 返回 goes one step back (from the first, to the
start), and a screen left untouched for the kiosk's reset time goes back to the start. The
mobile number is checked here, so that a mistyped one is said at once in the citizen's
language and never reaches the server.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from typing import ClassVar

from rich.cells import cell_len
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Center, Grid, Horizontal, Vertical, VerticalScroll
from textual.timer import Timer
from textual.widgets import Button, Input, Static

from display.bigtext import fit
from kiosk.printing import PrintResult
from kiosk.screens import Countdown, Header, KioskScreen
from queue_protocol.messages import AppointmentView, SlotView

DAYS_AHEAD = 7  # today and the six days after it
# A mainland mobile number: 11 digits, 1 then 3-9 (13x … 19x).
MOBILE = re.compile(r"1[3-9]\d{9}")
NAME_MAX = 50  # as the protocol allows (BookAppointment.name)


@dataclass(frozen=True)
class Offer:
    """The places of the days ahead that the hall opens, as `appointment_slots` answered
    them when the citizen pressed 预约 (days answered `hall_closed` are left out)."""

    today: date
    days: tuple[tuple[date, tuple[SlotView, ...]], ...]

    def categories(self) -> set[str]:
        return {s.category for _, slots in self.days for s in slots}

    def slots(self, day: date, category: str) -> list[SlotView]:
        return [s for d, slots in self.days if d == day for s in slots if s.category == category]


@dataclass(frozen=True)
class Draft:
    """What the citizen has chosen so far; the name and phone stay out of reprs (logs)."""

    category: str
    item: str | None = None
    day: date | None = None
    slot: str | None = None
    name: str = field(default="", repr=False)
    phone: str = field(default="", repr=False)


@dataclass(frozen=True)
class Booked:
    appointment: AppointmentView
    category_name: str


def mobile_ok(phone: str) -> bool:
    return MOBILE.fullmatch(phone) is not None


class BookingScreen(KioskScreen):
    """A step of booking. Every key or tap (`KioskApp.on_event`) restarts the wait before
    the screen goes back to the start by itself, and so does coming back to it."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "back", show=False)]

    def __init__(self, draft: Draft | None = None, offer: Offer | None = None) -> None:
        super().__init__()
        self.draft = draft
        self.offer = offer
        self._idle: Timer | None = None

    def on_mount(self) -> None:
        self.touched()

    def on_screen_resume(self) -> None:
        self.touched()

    def touched(self) -> None:
        if self._idle is not None:
            self._idle.stop()
        self._idle = self.set_timer(self.kiosk.reset_after, self.go_home)
        for countdown in self.query(Countdown).results(Countdown):
            countdown.restart()

    def trail(self) -> str:
        """What is chosen so far: 企业开办 · 企业设立登记 · 11月26日 周四 · 10:30."""
        if self.draft is None:
            return ""
        d, t = self.draft, self.kiosk.t
        category = self.kiosk.category(d.category)
        parts = [category.name if category else d.category]
        if d.item:
            parts.append(d.item)
        if d.day is not None:
            parts.append(t.day(d.day, self.offer.today if self.offer else None))
        if d.slot:
            parts.append(d.slot)
        return " · ".join(parts)

    def heading(self, prompt: str) -> ComposeResult:
        yield Header()
        yield Static(self.trail() or self.kiosk.t("book_title"), classes="book-title")
        yield Static(prompt, classes="prompt")

    def footer(self, *buttons: Button) -> ComposeResult:
        with Horizontal(classes="buttons"):
            yield from buttons
            yield Button(self.kiosk.t("back"), id="back")
        yield Countdown(self.kiosk.reset_after, id="returning")

    @on(Button.Pressed, "#back")
    def back_pressed(self) -> None:
        self.action_back()

    def action_back(self) -> None:
        self.kiosk.step_back(self)

    def step(self, screen: BookingScreen) -> None:
        if self.kiosk.shown(self):
            self.app.push_screen(screen)


class BookCategoryScreen(BookingScreen):
    """The categories that take appointments in the days ahead."""

    def compose(self) -> ComposeResult:
        assert self.offer is not None
        offered = self.offer.categories()
        with Vertical(classes="booking"):
            yield from self.heading(self.kiosk.t("book_category"))
            with Grid(id="book-categories", classes="book-grid"):
                for category in self.kiosk.categories:
                    if category.code in offered:
                        yield Button(
                            category.name, id=f"book-cat-{category.code}", classes="book-category"
                        )
            yield from self.footer()

    @on(Button.Pressed, ".book-category")
    def choose(self, event: Button.Pressed) -> None:
        assert event.button.id is not None and self.offer is not None
        draft = Draft(category=event.button.id.removeprefix("book-cat-"))
        if self.kiosk.appointment_items(draft.category):
            self.step(BookItemScreen(draft, self.offer))
        else:
            self.step(BookDayScreen(draft, self.offer))


class BookItemScreen(BookingScreen):
    """The category's service items offered by appointment, or none in particular."""

    def compose(self) -> ComposeResult:
        assert self.draft is not None
        t = self.kiosk.t
        with Vertical(classes="booking"):
            yield from self.heading(t("book_item"))
            with VerticalScroll(classes="book-scroll"), Grid(id="book-items", classes="book-grid"):
                yield Button(t("no_item"), id="book-item-none", classes="book-item")
                for n, item in enumerate(self.kiosk.appointment_items(self.draft.category)):
                    yield Button(item.name, id=f"book-item-{n}", classes="book-item")
            yield from self.footer()

    @on(Button.Pressed, ".book-item")
    def choose(self, event: Button.Pressed) -> None:
        assert event.button.id is not None and self.draft is not None and self.offer
        chosen = event.button.id.removeprefix("book-item-")
        items = self.kiosk.appointment_items(self.draft.category)
        item = None if chosen == "none" else items[int(chosen)].name
        self.step(BookDayScreen(replace(self.draft, item=item), self.offer))


class BookDayScreen(BookingScreen):
    """The days ahead the hall opens, each with its free places; a day without any is shown
    and cannot be chosen."""

    def compose(self) -> ComposeResult:
        assert self.draft is not None and self.offer is not None
        t = self.kiosk.t
        with Vertical(classes="booking"):
            yield from self.heading(t("book_day"))
            with Grid(id="book-days", classes="book-grid"):
                for day, _ in self.offer.days:
                    slots = self.offer.slots(day, self.draft.category)
                    free = sum(s.free for s in slots)
                    status = t("free_n", n=free) if free else t("full" if slots else "no_slots")
                    yield Button(
                        f"{t.day(day, self.offer.today)}\n{status}",
                        id=f"book-day-{day:%Y%m%d}",
                        classes="book-day",
                        disabled=not free,
                    )
            yield from self.footer()

    @on(Button.Pressed, ".book-day")
    def choose(self, event: Button.Pressed) -> None:
        assert event.button.id is not None and self.draft is not None
        day = date.fromisoformat(event.button.id.removeprefix("book-day-"))
        self.kiosk.show_slots(replace(self.draft, day=day), self)


class BookSlotScreen(BookingScreen):
    """The day's slots with their free places (fresh from the server); a full one is shown
    and cannot be chosen. `problem` says why the citizen is back here (a slot just taken)."""

    def __init__(
        self, draft: Draft, offer: Offer, slots: list[SlotView], problem: str = ""
    ) -> None:
        super().__init__(draft, offer)
        self.slots = slots
        self.problem = problem

    def compose(self) -> ComposeResult:
        t = self.kiosk.t
        with Vertical(classes="booking"):
            yield from self.heading(t("book_slot"))
            yield Static(self.problem, id="book-problem", classes="-error" if self.problem else "")
            with VerticalScroll(classes="book-scroll"), Grid(id="book-slots", classes="book-grid"):
                for s in self.slots:
                    yield Button(
                        f"{s.slot}\n{t('free_n', n=s.free) if s.free else t('full')}",
                        id=f"book-slot-{s.slot.replace(':', '')}",
                        classes="book-slot",
                        disabled=not s.free,
                    )
            if not self.slots:
                yield Static(t("no_slots"), classes="prompt")
            yield from self.footer()

    @on(Button.Pressed, ".book-slot")
    def choose(self, event: Button.Pressed) -> None:
        assert event.button.id is not None and self.draft is not None
        digits = event.button.id.removeprefix("book-slot-")
        slot = f"{digits[:2]}:{digits[2:]}"
        if any(s.slot == slot and s.free for s in self.slots):
            self.step(BookDetailsScreen(replace(self.draft, slot=slot), self.offer))


class BookDetailsScreen(BookingScreen):
    """The citizen's name and 11-digit mobile number, checked before going on."""

    def compose(self) -> ComposeResult:
        assert self.draft is not None
        t = self.kiosk.t
        with Vertical(classes="booking"):
            yield from self.heading(t("book_details"))
            with Horizontal(classes="book-field"):
                yield Static(t("book_name"), classes="book-label")
                yield Input(self.draft.name, id="book-name", max_length=NAME_MAX)
            with Horizontal(classes="book-field"):
                yield Static(t("book_phone"), classes="book-label")
                yield Input(
                    self.draft.phone,
                    id="book-phone",
                    max_length=11,
                    restrict=r"[0-9]*",
                    placeholder=t("book_phone_hint"),
                )
            yield Static("", id="book-problem")
            yield from self.footer(Button(t("next"), id="next", variant="primary"))

    def on_mount(self) -> None:
        self.query_one("#book-name", Input).focus()

    @on(Input.Submitted, "#book-name")
    def to_phone(self) -> None:
        self.query_one("#book-phone", Input).focus()

    @on(Input.Submitted, "#book-phone")
    @on(Button.Pressed, "#next")
    def next(self) -> None:
        assert self.draft is not None
        t = self.kiosk.t
        name = self.query_one("#book-name", Input).value.strip()
        phone = self.query_one("#book-phone", Input).value.strip()
        problem = self.query_one("#book-problem", Static)
        if not name:
            problem.update(t("name_missing"))
        elif not mobile_ok(phone):
            problem.update(t("phone_invalid"))
        else:
            self.step(BookConfirmScreen(replace(self.draft, name=name, phone=phone), self.offer))
            return
        problem.add_class("-error")


class BookConfirmScreen(BookingScreen):
    """Everything once more before booking; the number is shown whole to be checked."""

    def compose(self) -> ComposeResult:
        assert self.draft is not None
        t = self.kiosk.t
        d = self.draft
        category = self.kiosk.category(d.category)
        what = (category.name if category else d.category) + (f" · {d.item}" if d.item else "")
        when = f"{t.day(d.day, self.offer.today if self.offer else None)} {d.slot}" if d.day else ""
        rows = [
            (t("summary_what"), what),
            (t("summary_when"), when),
            (t("summary_name"), d.name),
            (t("summary_phone"), d.phone),
        ]
        with Vertical(classes="booking"):
            yield Header()
            yield Static(t("book_title"), classes="book-title")
            yield Static(t("book_confirm"), classes="prompt")
            width = max(cell_len(k) for k, _ in rows)
            lines = [f"{k}{' ' * (width - cell_len(k))}  {v}" for k, v in rows]
            yield Static("\n".join(lines), id="book-summary")
            yield from self.footer(Button(t("book_submit"), id="submit", variant="success"))

    @on(Button.Pressed, "#submit")
    def submit(self) -> None:
        assert self.draft is not None
        self.kiosk.book(self.draft, self)


class BookedScreen(BookingScreen):
    """The booking made: the check-in code, large, and when to come; returns to the start by
    itself."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "back", show=False),
        Binding("p", "reprint", show=False),
    ]

    def __init__(self, booked: Booked) -> None:
        super().__init__()
        self.booked = booked

    def compose(self) -> ComposeResult:
        t = self.kiosk.t
        a = self.booked.appointment
        what = self.booked.category_name + (f" · {a.item}" if a.item else "")
        today = self.kiosk.local_now().date()
        printing = t("printing") if self.kiosk.printer.enabled else t("slip_screen_only")
        with Vertical(id="booked", classes="booking"):
            yield Header()
            yield Static(t("booked_title"), classes="book-title")
            with Center():
                yield Static(fit(a.code, 72, 6), id="booked-code")
            yield Static(t("booked_code", code=a.code), id="booked-code-text")
            yield Static(what, id="booked-what")
            yield Static(
                f"{t.day(a.day, today)} {a.slot}    {t('booked_phone', phone=a.phone)}",
                id="booked-when",
            )
            yield Static(t("booked_hint"), id="booked-hint")
            yield Static(printing, id="print-status")
            with Horizontal(classes="buttons"):
                yield Button(t("back"), id="back", variant="primary")
                yield Button(t("reprint"), id="reprint", classes="-hidden")
            yield Countdown(self.kiosk.reset_after, id="returning")

    def action_back(self) -> None:
        self.go_home()

    def show_print(self, result: PrintResult) -> None:
        if not self.is_active:  # the citizen has left (or is leaving) this screen
            return
        t = self.kiosk.t
        status = self.query_one("#print-status", Static)
        reprint = self.query_one("#reprint", Button)
        if result.printed:
            status.update(t("slip_printed"))
            status.remove_class("-error")
            reprint.add_class("-hidden")
        elif result.error is not None:
            status.update(t("slip_failed", error=result.error))
            status.add_class("-error")
            reprint.remove_class("-hidden")

    @on(Button.Pressed, "#reprint")
    def action_reprint(self) -> None:
        if self.is_active and not self.query_one("#reprint", Button).has_class("-hidden"):
            self.query_one("#print-status", Static).update(self.kiosk.t("printing"))
            self.kiosk.print_booking(self, self.booked)
