"""Widgets of the call screen: big ticket numbers that read from across a hall."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from display.bigtext import fit


class BigText(Widget):
    """Text drawn as large as the widget's box allows (display/bigtext.py), redrawn at
    every size: a 1080p TV at 200x50 and an 80x24 terminal both get the largest that
    fits. `arrow` puts a right-pointing arrow before it (→ 3 for the window)."""

    DEFAULT_CSS = """
    BigText {
        width: 1fr;
        height: 1fr;
        content-align: center middle;
    }
    """

    value: reactive[str] = reactive("")

    def __init__(self, value: str = "", *, arrow: bool = False, id: str | None = None) -> None:
        super().__init__(id=id)
        self.arrow = arrow
        self.value = value

    def render(self) -> Text:
        width, height = self.content_size
        return Text(fit(self.value, width, height, self.arrow), no_wrap=True, end="")
