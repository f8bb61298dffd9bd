"""What the Pilot tests of every app wait for before they click."""

from __future__ import annotations

from typing import Any

from textual.app import App
from textual.screen import ModalScreen
from textual.widgets import Button


def shows(app: App[Any], kind: Any) -> bool:
    """Whether `app` shows a screen of `kind` with its buttons laid out. A click sent before
    a new screen's layout lands where the old screen was (a lost key on a loaded machine)."""
    if not isinstance(app.screen, kind):
        return False
    buttons = list(app.screen.query(Button))
    if not buttons and isinstance(app.screen, ModalScreen):
        return False  # a dialog pushed but not composed yet: its buttons are still to come
    return all(b.region.width > 0 for b in buttons if b.display)
