"""Update a Static only when what it shows has changed: a repaint costs more than a compare."""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import Static

_SHOWN = "_yichuang_shown"


def set_text(static: Static, content: str | Text) -> None:
    """Set `static` to `content` unless it already shows exactly that.

    Strings are shown as plain text, never parsed as markup: pause reasons, transfer reasons
    and server messages may contain brackets.
    """
    if getattr(static, _SHOWN, None) == content:
        return
    setattr(static, _SHOWN, content)
    static.update(Text(content) if isinstance(content, str) else content)


def pad(text: str, width: int, *, right: bool = False) -> str:
    """`text` padded (or cut) to `width` terminal cells; Chinese characters take two."""
    while cell_len(text) > width:
        text = text[:-1]
    fill = " " * (width - cell_len(text))
    return fill + text if right else text + fill
