"""Ticket numbers in large block letters, readable from a step back on a kiosk screen.

Textual's Digits widget knows only 0-9 and A-F, but ticket prefixes run to G and beyond,
so the number is drawn with Pillow's built-in font and turned into half-block characters.
"""

from __future__ import annotations

from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont


@lru_cache(maxsize=64)
def big(text: str, size: int = 16) -> str:
    """`text` as rows of █ ▀ ▄ (two pixel rows per terminal row)."""
    font = ImageFont.load_default(size=size)
    _left, top, right, bottom = (int(v) for v in font.getbbox(text))
    if right <= 0 or bottom <= 0:
        return text
    image = Image.new("1", (right, bottom + 1), 0)
    draw = ImageDraw.Draw(image)
    draw.fontmode = "1"  # no anti-aliasing: a pixel is on or off
    draw.text((0, 0), text, font=font, fill=1)
    pixels = image.load()
    assert pixels is not None
    width, height = image.size
    rows = []
    for y in range(top - top % 2, height - 1, 2):
        row = ""
        for x in range(width):
            upper, lower = pixels[x, y], pixels[x, y + 1]
            row += "█" if upper and lower else "▀" if upper else "▄" if lower else " "
        rows.append(row.rstrip())
    while rows and not rows[-1]:
        rows.pop()
    indent = min((len(r) - len(r.lstrip()) for r in rows if r), default=0)
    return "\n".join(r[indent:] for r in rows)
