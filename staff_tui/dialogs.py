"""What the staff programs' dialogs share: a modal box with OK / Cancel that Escape cancels
and that says in itself what is wrong with its input, and the question asked before an act
that cannot be taken back. Each program's own dialogs are built on `Dialog`."""

from __future__ import annotations

from typing import ClassVar, TypeVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from staff_tui.app import words_of

T = TypeVar("T")


class Dialog(ModalScreen[T | None]):
    """A dialog box with OK / Cancel; Escape cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", show=False)]

    def buttons(self, ok: str = "", cancel: str = "") -> ComposeResult:
        """OK and Cancel, or the words given for them."""
        t = words_of(self)
        with Horizontal(classes="dialog-buttons"):
            yield Button(ok or t("act.ok"), id="ok", variant="primary")
            yield Button(cancel or t("act.cancel"), id="cancel")

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    def complain(self, message: str) -> None:
        """Say what is wrong, in the dialog's `.dialog-problem` line (as plain text)."""
        self.query_one(".dialog-problem", Static).update(Text(message))


class ConfirmDialog(Dialog[bool]):
    """Ask before an act that cannot be taken back; Cancel has the focus (Enter alone does
    not confirm). `yes` and `no` name the buttons where OK / Cancel would be unclear."""

    def __init__(
        self, question: str, *, dialog_id: str = "confirm-dialog", yes: str = "", no: str = ""
    ) -> None:
        super().__init__()
        self.question = question
        self._dialog_id = dialog_id
        self._yes = yes
        self._no = no

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id=self._dialog_id):
            yield Label(Text(self.question), classes="dialog-title")
            yield from self.buttons(self._yes, self._no)

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        self.dismiss(True)
