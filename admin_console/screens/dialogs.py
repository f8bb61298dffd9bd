"""Modal dialogs of the console's acts besides the confirmation (staff_tui.dialogs): a
reason, one line of text (a ticket number, a profile, the notice), a transfer, a case's
step. Each checks what it can before anything is sent and says what is wrong in the dialog
itself."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Button, Input, Label, Select, Static

from admin_console.i18n import t
from queue_protocol.messages import CategoryView
from staff_tui.dialogs import Dialog

Check = Callable[[str], str | None]  # the problem with a value, in words; None if fine


class TextDialog(Dialog[str]):
    """One line of text, checked by `check` before the dialog closes with it."""

    def __init__(
        self,
        dialog_id: str,
        *,
        heading: str,
        placeholder: str,
        value: str = "",
        note: str = "",
        check: Check | None = None,
        max_length: int = 200,
    ) -> None:
        super().__init__()
        self._dialog_id = dialog_id
        self.heading = heading
        self.placeholder = placeholder
        self.value = value
        self.note = note
        self.check = check
        self.max_length = max_length

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id=self._dialog_id):
            yield Label(Text(self.heading), classes="dialog-title")
            if self.note:
                yield Static(Text(self.note), classes="dialog-note")
            yield Input(
                self.value, placeholder=self.placeholder, id="text", max_length=self.max_length
            )
            yield Static(classes="dialog-problem")
            yield from self.buttons()

    def on_mount(self) -> None:
        self.query_one("#text", Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        value = self.query_one("#text", Input).value.strip()
        problem = self.check(value) if self.check else None
        if problem:
            self.complain(problem)
            return
        self.dismiss(value)


def needs_text(message: str) -> Check:
    """A check that refuses an empty value with `message`."""
    return lambda value: None if value else message


@dataclass(frozen=True)
class TicketReason:
    ticket: str
    reason: str


class TicketReasonDialog(Dialog[TicketReason]):
    """A ticket number and why (a void): both needed; `check_ticket` may refuse the number."""

    def __init__(self, dialog_id: str, *, heading: str, check_ticket: Check) -> None:
        super().__init__()
        self._dialog_id = dialog_id
        self.heading = heading
        self.check_ticket = check_ticket

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id=self._dialog_id):
            yield Label(Text(self.heading), classes="dialog-title")
            yield Input(placeholder=t("ticket.number"), id="ticket", max_length=40)
            yield Input(placeholder=t("ticket.reason"), id="reason", max_length=200)
            yield Static(classes="dialog-problem")
            yield from self.buttons()

    def on_mount(self) -> None:
        self.query_one("#ticket", Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        ticket = self.query_one("#ticket", Input).value.strip().upper()
        reason = self.query_one("#reason", Input).value.strip()
        problem = (
            (None if ticket else t("ticket.need_number"))
            or self.check_ticket(ticket)
            or (None if reason else t("reason.needed"))
        )
        if problem:
            self.complain(problem)
            return
        self.dismiss(TicketReason(ticket, reason))


@dataclass(frozen=True)
class TransferChoice:
    to_category: str | None
    to_window: int | None
    reason: str
    ticket: str | None = None  # a move names the waiting ticket


class TransferDialog(Dialog[TransferChoice]):
    """Where a window's ticket goes: a category, or a window by number, and why."""

    def __init__(
        self,
        heading: str,
        categories: Iterable[CategoryView],
        windows: Iterable[int],
        *,
        ticket: bool = False,
        check_ticket: Check | None = None,
    ) -> None:
        super().__init__()
        self.heading = heading
        self.categories = list(categories)
        self.windows = set(windows)
        self.ask_ticket = ticket  # a move: the dialog asks which waiting ticket
        self.check_ticket = check_ticket

    def compose(self) -> ComposeResult:
        dialog_id = "move-dialog" if self.ask_ticket else "transfer-dialog"
        with Vertical(classes="dialog", id=dialog_id):
            yield Label(Text(self.heading), classes="dialog-title")
            if self.ask_ticket:
                yield Label(t("move.ticket"))
                yield Input(placeholder=t("ticket.number"), id="ticket", max_length=40)
            yield Label(t("transfer.to_category"))
            yield Select(
                [(f"{c.code} {c.name}", c.code) for c in self.categories],
                id="to-category",
                prompt="—",
            )
            yield Label(t("transfer.to_window"))
            yield Input(id="to-window", type="integer", max_length=4)
            yield Label(t("transfer.reason"))
            yield Input(id="reason", max_length=200)
            yield Static(classes="dialog-problem")
            yield from self.buttons()

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        selected = self.query_one("#to-category", Select).value
        category = selected if isinstance(selected, str) else None
        window_text = self.query_one("#to-window", Input).value.strip()
        reason = self.query_one("#reason", Input).value.strip()
        window = int(window_text) if window_text.isdigit() else None
        ticket = None
        if self.ask_ticket:
            ticket = self.query_one("#ticket", Input).value.strip().upper()
            problem = None if ticket else t("ticket.need_number")
            if problem is None and self.check_ticket is not None:
                problem = self.check_ticket(ticket)
            if problem:
                self.complain(problem)
                return
        if category is None and not window_text:
            self.complain(t("transfer.need_target"))
            return
        if window_text and window not in self.windows:
            self.complain(t("transfer.bad_window", window=window_text))
            return
        if not reason:
            self.complain(t("reason.needed"))
            return
        self.dismiss(TransferChoice(category, window, reason, ticket))


@dataclass(frozen=True)
class CaseStep:
    """What a step of a follow-up case says: its text, and the citizen's level (call_back)
    or the account now responsible (assign)."""

    text: str
    level: int | None = None
    owner: str | None = None


class CaseStepDialog(Dialog[CaseStep]):
    """One step of a case (工单): its text, needed unless `text_optional`; the citizen's
    level 1–5 when `ask_level` (回访); an account when `ask_owner` (转派)."""

    def __init__(
        self,
        *,
        heading: str,
        placeholder: str,
        note: str = "",
        text_optional: bool = False,
        ask_level: bool = False,
        ask_owner: bool = False,
    ) -> None:
        super().__init__()
        self.heading = heading
        self.placeholder = placeholder
        self.note = note
        self.text_optional = text_optional
        self.ask_level = ask_level
        self.ask_owner = ask_owner

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="case-dialog"):
            yield Label(Text(self.heading), classes="dialog-title")
            if self.note:
                yield Static(Text(self.note), classes="dialog-note")
            if self.ask_level:
                yield Label(t("case.dialog.level"))
                yield Select(
                    [(f"{n} {t(f'level.{n}')}", n) for n in range(1, 6)],
                    id="level",
                    prompt="—",
                )
            if self.ask_owner:
                yield Input(placeholder=t("case.dialog.owner"), id="owner", max_length=64)
            yield Input(placeholder=self.placeholder, id="text", max_length=2000)
            yield Static(classes="dialog-problem")
            yield from self.buttons()

    def on_mount(self) -> None:
        first = "#level" if self.ask_level else "#owner" if self.ask_owner else "#text"
        self.query_one(first).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        text = self.query_one("#text", Input).value.strip()
        level = owner = None
        if self.ask_level:
            chosen = self.query_one("#level", Select).value
            level = chosen if isinstance(chosen, int) else None
            if level is None:
                self.complain(t("case.need_level"))
                return
        if self.ask_owner:
            owner = self.query_one("#owner", Input).value.strip() or None
            if owner is None:
                self.complain(t("case.need_owner"))
                return
        if not text and not self.text_optional:
            self.complain(t("case.need_text"))
            return
        self.dismiss(CaseStep(text, level, owner))
