"""Widgets of the call screen: big ticket numbers that read from across a hall."""

from __future__ import annotations

from rich.text import Text
from textual.renderables.digits import DIGITS, DIGITS3X3_BOLD
from textual.widgets import Static

# Textual's Digits font covers 0-9 and A-F; ticket prefixes go further (the demo hall uses
# A-G), so the capitals are drawn here in the same 3x3 box-drawing style as its digits.
LETTERS: dict[str, tuple[str, str, str]] = {
    # A-F again, in the heavy strokes of the digits (Textual draws its A-F with thin ones).
    "A": ("┏━┓", "┣━┫", "╹ ╹"),
    "B": ("┳━┓", "┣━┫", "┻━┛"),
    "C": ("┏━╸", "┃  ", "┗━╸"),
    "D": ("┳━┓", "┃ ┃", "┻━┛"),
    "E": ("┏━╸", "┣╸ ", "┗━╸"),
    "F": ("┏━╸", "┣╸ ", "╹  "),
    "G": ("┏━╸", "┃╺┓", "┗━┛"),
    "H": ("╻ ╻", "┣━┫", "╹ ╹"),
    "I": ("╺┳╸", " ┃ ", "╺┻╸"),
    "J": ("  ╻", "  ┃", "┗━┛"),
    "K": ("╻ ╻", "┣┳┛", "╹┗╸"),
    "L": ("╻  ", "┃  ", "┗━╸"),
    "M": ("┏┳┓", "┃┃┃", "╹ ╹"),
    "N": ("┏┓╻", "┃┃┃", "╹┗┛"),
    "O": ("┏━┓", "┃ ┃", "┗━┛"),
    "P": ("┏━┓", "┣━┛", "╹  "),
    "Q": ("┏━┓", "┃ ┃", "┗━╋"),
    "R": ("┏━┓", "┣┳┛", "╹┗╸"),
    "S": ("┏━╸", "┗━┓", "╺━┛"),
    "T": ("╺┳╸", " ┃ ", " ╹ "),
    "U": ("╻ ╻", "┃ ┃", "┗━┛"),
    "V": ("╻ ╻", "┃ ┃", "┗┳┛"),
    "W": ("╻ ╻", "┃┃┃", "┗┻┛"),
    "X": ("╻ ╻", "╺╋╸", "╹ ╹"),
    "Y": ("╻ ╻", "┗┳┛", " ╹ "),
    "Z": ("╺━┓", "┏━┛", "┗━╸"),
}
_DIGIT_ROWS: list[str] = DIGITS3X3_BOLD


def glyph(character: str) -> tuple[str, str, str]:
    """The three rows of one character in the big font (unknown characters as-is)."""
    ch = character.upper()
    if ch in LETTERS:
        return LETTERS[ch]
    if ch in DIGITS:
        at = DIGITS.index(ch) * 3
        # Textual's table drops trailing spaces on some rows: pad so columns line up.
        width = max(len(_DIGIT_ROWS[at + row]) for row in range(3))
        return (
            _DIGIT_ROWS[at].ljust(width),
            _DIGIT_ROWS[at + 1].ljust(width),
            _DIGIT_ROWS[at + 2].ljust(width),
        )
    return " ", ch, " "


def big_text(value: str) -> str:
    """`value` drawn three rows high, e.g. a ticket number on the call screen."""
    glyphs = [glyph(ch) for ch in value]
    return "\n".join("".join(g[row] for g in glyphs) for row in range(3))


class BigTicket(Static):
    """A ticket number in the 3x3 font (like Textual's Digits, but with every letter)."""

    DEFAULT_CSS = """
    BigTicket {
        width: auto;
        height: 3;
    }
    """

    def __init__(self, value: str = "", *, id: str | None = None) -> None:
        super().__init__(Text(big_text(value)), id=id)
        self.value = value

    def show(self, value: str) -> None:
        self.value = value
        self.update(Text(big_text(value)))
