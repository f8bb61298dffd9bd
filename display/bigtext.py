"""Large block letters from Pillow's built-in scalable font, as terminal half-blocks.

Readable across a hall on the call screen and from a step back on the kiosk. Textual's
Digits widget knows only 0-9 and A-F in a fixed 3x3 box, but ticket prefixes run to G and
beyond and a hall's TV wants the number as large as its panel: `fit` picks the font size
that fills a given box, `big` draws at one size. Two pixel rows per terminal row (█ ▀ ▄).
"""

from __future__ import annotations

from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

MIN_SIZE = 8  # pixels; below this the glyphs are no longer letters
MAX_SIZE = 400


@lru_cache(maxsize=256)
def big(text: str, size: int = 16, arrow: bool = False) -> str:
    """`text` as rows of █ ▀ ▄ (two pixel rows per terminal row); with `arrow`, a
    right-pointing arrow before it (the font has no →), as tall as the digits."""
    font = ImageFont.load_default(size=size)
    _left, top, right, bottom = (int(v) for v in font.getbbox(text))
    if right <= 0 or bottom <= 0:
        return text
    cap = bottom - top  # the glyphs' height, where the arrow goes
    shift = int(cap * 1.4) if arrow else 0  # arrow width + a gap
    image = Image.new("1", (right + shift, bottom + 1), 0)
    draw = ImageDraw.Draw(image)
    draw.fontmode = "1"  # no anti-aliasing: a pixel is on or off
    if arrow:
        mid, shaft, head = top + cap / 2, cap / 9, int(cap * 0.6)
        tip = int(cap * 1.1)
        draw.rectangle((0, mid - shaft, tip - head, mid + shaft), fill=1)
        draw.polygon(((tip - head, top), (tip, mid), (tip - head, bottom)), fill=1)
    draw.text((shift, 0), text, font=font, fill=1)
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


def extent(drawn: str) -> tuple[int, int]:
    """Columns and rows `drawn` (from `big`) takes."""
    lines = drawn.split("\n")
    return max((len(line) for line in lines), default=0), len(lines)


@lru_cache(maxsize=256)
def fit(text: str, width: int, height: int, arrow: bool = False) -> str:
    """`text` (after an arrow) as large as fits in `width` x `height` cells (plain text
    if even the smallest size does not fit)."""
    if not text or width <= 0 or height <= 0:
        return ""
    low, high, best = MIN_SIZE, MAX_SIZE, ""
    while low <= high:  # the drawn size grows with the font size: bisect
        size = (low + high) // 2
        drawn = big(text, size, arrow)
        columns, rows = extent(drawn)
        if columns <= width and rows <= height:
            best, low = drawn, size + 1
        else:
            high = size - 1
    return best or (f"→ {text}" if arrow else text)
