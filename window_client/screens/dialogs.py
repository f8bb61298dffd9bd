"""Modal dialogs of the work screen besides the confirmation (staff_tui.dialogs): transfer,
pause reason, end a one-chain visit, call a number, void (cancel) a number, reinstate."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Button, Input, Label, OptionList, RadioButton, RadioSet, Select, Static
from textual.widgets.option_list import Option

from queue_protocol.messages import (
    CategoryView,
    TicketState,
    TicketView,
    WindowState,
    WindowView,
)
from staff_tui.dialogs import Dialog
from window_client.i18n import t


@dataclass(frozen=True)
class TransferChoice:
    to_category: str | None
    to_window: int | None
    reason: str


def serving(window: WindowView) -> bool:
    """Whether someone works at the window now (a transferred ticket is called soon)."""
    return window.connected and window.state not in (WindowState.CLOSED, WindowState.PAUSED)


def window_choice(window: WindowView) -> str:
    """A window in the transfer list: number, name, and its state (离线 when no client)."""
    state = t(f"state.{window.state.value}") if window.connected else t("state.offline")
    return f"{window.number} {window.name} · {state}"


class TransferDialog(Dialog[TransferChoice]):
    """Transfer the ticket being served to another category or to a named window."""

    def __init__(
        self,
        number: str,
        categories: list[CategoryView],
        windows: list[WindowView],
        current_category: str,
    ) -> None:
        super().__init__()
        self._number = number
        self._categories = categories
        self._windows = windows
        self._current_category = current_category
        self._warned: int | None = None  # the closed window the sender was warned about

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="transfer-dialog"):
            yield Static(t("transfer.heading", number=self._number), classes="dialog-heading")
            with RadioSet(id="transfer-kind"):
                yield RadioButton(t("transfer.to_category"), id="kind-category", value=True)
                yield RadioButton(t("transfer.to_window"), id="kind-window")
            yield Select(
                [
                    (f"{c.prefix} {c.name} ({c.code})", c.code)
                    for c in self._categories
                    if c.code != self._current_category
                ],
                id="to-category",
                prompt=t("transfer.to_category"),
            )
            yield Select(
                [(window_choice(w), w.number) for w in self._windows],
                id="to-window",
                prompt=t("transfer.to_window"),
            )
            yield Label(t("transfer.reason"))
            yield Input(id="reason", max_length=200)
            yield Static(classes="dialog-problem")
            yield from self.buttons()

    def on_mount(self) -> None:
        self._show_kind()

    @on(RadioSet.Changed)
    def _show_kind(self) -> None:
        by_window = self.query_one("#kind-window", RadioButton).value
        self.query_one("#to-category", Select).display = not by_window
        self.query_one("#to-window", Select).display = by_window

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        by_window = self.query_one("#kind-window", RadioButton).value
        category = self.query_one("#to-category", Select).value
        window = self.query_one("#to-window", Select).value
        reason = self.query_one("#reason", Input).value.strip()
        target_category = None if by_window or category is Select.NULL else str(category)
        target_window = window if by_window and isinstance(window, int) else None
        if target_category is None and target_window is None:
            self.complain(t("transfer.need_target"))
            return
        chosen = next((w for w in self._windows if w.number == target_window), None)
        if chosen is not None and not serving(chosen) and self._warned != chosen.number:
            # The ticket would wait for a window nobody works at: say so once; OK again sends.
            self._warned = chosen.number
            self.complain(t("transfer.window_not_serving", window=window_choice(chosen)))
            return
        if not reason:
            self.complain(t("transfer.need_reason"))
            self.query_one("#reason", Input).focus()
            return
        self.dismiss(TransferChoice(target_category, target_window, reason))


class _ReasonDialog(Dialog[str]):
    """Ask for a reason: a few usual ones are one key away, or type one in."""

    def __init__(self, dialog_id: str, *, heading: str, note: str = "", words: str) -> None:
        """`words` names the texts `{words}.presets`, `.reason` and `.need_reason`."""
        super().__init__()
        self._dialog_id = dialog_id
        self._heading = heading
        self._note = note
        self._words = words

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id=self._dialog_id):
            yield Static(Text(self._heading), classes="dialog-heading")
            if self._note:
                yield Static(self._note, classes="dialog-note")
            yield OptionList(*t(f"{self._words}.presets").split(","), id="presets")
            yield Label(t(f"{self._words}.reason"))
            yield Input(id="reason", max_length=200)
            yield Static(classes="dialog-problem")
            yield from self.buttons()

    def on_mount(self) -> None:
        self.query_one("#reason", Input).focus()

    @on(OptionList.OptionSelected)
    def _preset(self, event: OptionList.OptionSelected) -> None:
        self.query_one("#reason", Input).value = str(event.option.prompt)
        self.query_one("#reason", Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        reason = self.query_one("#reason", Input).value.strip()
        if not reason:
            self.complain(t(f"{self._words}.need_reason"))
            return
        self.dismiss(reason)


class PauseDialog(_ReasonDialog):
    """Ask why the window pauses."""

    def __init__(self) -> None:
        super().__init__("pause-dialog", heading=t("pause.heading"), words="pause")


class EndChainDialog(_ReasonDialog):
    """Why a one-chain visit ends at the step being served (its later steps are dropped)."""

    def __init__(self, ticket: TicketView) -> None:
        heading = t(
            "endchain.heading",
            number=ticket.number,
            index=ticket.chain_step + 1,
            steps=ticket.steps,
            step=ticket.step or t("ticket.none"),
        )
        super().__init__(
            "end-chain-dialog", heading=heading, note=t("endchain.note"), words="endchain"
        )


class CallNumberDialog(Dialog[str]):
    """Call one ticket by its number, e.g. A005."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="call-number-dialog"):
            yield Static(t("callnum.heading"), classes="dialog-heading")
            yield Input(id="number", placeholder=t("callnum.number"), max_length=40)
            yield Static(classes="dialog-problem")
            yield from self.buttons()

    def on_mount(self) -> None:
        self.query_one("#number", Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        number = self.query_one("#number", Input).value.strip().upper()
        if not number:
            self.complain(t("callnum.need_number"))
            return
        self.dismiss(number)


class CancelNumberDialog(Dialog[str]):
    """Which waiting ticket to void (cancel), by its number, e.g. A012. The protocol cancels
    only waiting tickets: the ticket called or served here is refused at once, naming the
    key that does apply (no-show; finish or transfer)."""

    def __init__(self, current: TicketView | None = None) -> None:
        super().__init__()
        self._current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="cancel-number-dialog"):
            yield Static(t("cancelnum.heading"), classes="dialog-heading")
            yield Static(t("cancelnum.note"), classes="dialog-note")
            yield Input(id="number", placeholder=t("cancelnum.number"), max_length=40)
            yield Static(classes="dialog-problem")
            yield from self.buttons()

    def on_mount(self) -> None:
        self.query_one("#number", Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        number = self.query_one("#number", Input).value.strip().upper()
        if not number:
            self.complain(t("cancelnum.need_number"))
            return
        current = self._current
        if current is not None and number in (current.number, current.id.upper()):
            serving = current.state is TicketState.SERVING
            key = "cancelnum.is_serving" if serving else "cancelnum.is_called"
            self.complain(t(key, number=current.number))
            return
        self.dismiss(number)


class ReinstateDialog(Dialog[str]):
    """Pick one of today's no-shows at this window to put back in the queue."""

    def __init__(self, no_shows: list[tuple[TicketView, str]]) -> None:
        super().__init__()
        self._no_shows = no_shows

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="reinstate-dialog"):
            yield Static(t("reinstate.heading"), classes="dialog-heading")
            yield OptionList(
                *[Option(label, id=ticket.id) for ticket, label in self._no_shows],
                id="no-shows",
            )
            yield Static(classes="dialog-problem")
            yield from self.buttons()

    def on_mount(self) -> None:
        options = self.query_one("#no-shows", OptionList)
        options.highlighted = 0 if self._no_shows else None
        options.focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        options = self.query_one("#no-shows", OptionList)
        if options.highlighted is None:
            self.complain(t("reinstate.none"))
            return
        self.dismiss(options.get_option_at_index(options.highlighted).id)
