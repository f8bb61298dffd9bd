"""The call screen reads across a hall: the newest call large, every text at WCAG AA
contrast in both phases of the flash (computed from the colours Textual renders)."""

from __future__ import annotations

import pytest
from rich.color import Color
from textual.containers import Vertical
from textual.widget import Widget

from display.bigtext import extent, fit
from display.widgets import BigText
from tests.tui.test_display_snapshots import screen, show_hall

AA = 4.5  # WCAG 2 contrast for normal text
TEXTS = ("#now-sentence", "#now-number", "#now-window", "#now-window-name", "#recent-list")


def luminance(color: Color) -> float:
    """WCAG relative luminance of an sRGB colour."""
    triplet = color.get_truecolor()

    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in triplet)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(widget: Widget) -> float:
    style = widget.rich_style
    assert style.color is not None and style.bgcolor is not None, widget
    lighter, darker = sorted((luminance(style.color), luminance(style.bgcolor)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


@pytest.mark.parametrize("flash", [False, True], ids=["steady", "flash"])
async def test_every_text_of_the_call_panel_is_at_aa_contrast(flash: bool) -> None:
    app = screen()
    async with app.run_test(size=(200, 50)) as pilot:
        await show_hall(pilot)
        app.query_one("#now", Vertical).set_class(flash, "flash")
        await pilot.pause()
        ratios = {sel: round(contrast(app.query_one(sel)), 2) for sel in TEXTS}
        assert all(r >= AA for r in ratios.values()), ratios


@pytest.mark.parametrize("size", [(200, 50), (120, 40), (80, 24)])
async def test_the_newest_call_fills_its_panel(size: tuple[int, int]) -> None:
    """At 200x50 (a 1080p TV at a normal font size) the ticket number is at least a
    quarter of the screen high; at every size it is as large as its box allows and the
    window number is drawn too."""
    app = screen()
    async with app.run_test(size=size) as pilot:
        await show_hall(pilot)
        await pilot.pause()
        number = app.query_one("#now-number", BigText)
        window = app.query_one("#now-window", BigText)
        assert (number.value, window.value) == ("C002", "3")
        columns, rows = extent(fit(number.value, *number.content_size))
        box = number.content_size
        assert columns <= box.width and rows <= box.height
        assert columns > box.width * 0.8 or rows > box.height * 0.8  # fills one way
        if size == (200, 50):
            assert rows >= 50 / 4
        assert extent(fit(window.value, *window.content_size, True))[1] >= 3
