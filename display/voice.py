"""What the call screen says: the announcement sentence and the voice settings (SPEC §6).

Ticket numbers are read one character at a time, so "A001" is never heard as "a thousand
and one" or "A one": letters are spelled and each digit is its own word. Window numbers are
said as numbers (三号窗口, 一百零一号窗口), written out in Chinese by this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CHINESE_DIGITS = dict(zip("0123456789", "零一二三四五六七八九", strict=True))

TEMPLATES: dict[str, str] = {
    "zh": "请 {ticket}号 到 {window}号窗口 办理",
    "en": "Number {ticket}, please go to window {window}",
}
# The English voice; Mandarin's is found out at start (display/espeak.py: which of the
# installed voices reads Mandarin rather than English-spelled pinyin).
ENGLISH_VOICE = "en"
# Sample calls whose phonemes decide the Mandarin voice: letters, a 1-, 2- and 3-digit window.
PROBE_CALLS = (("A001", 3), ("Q099", 12), ("W120", 101))


def chinese_number(n: int) -> str:
    """A number as it is said in Mandarin: 12 -> 十二, 101 -> 一百零一, 110 -> 一百一十.

    espeak-ng reads the digits "101" as 一百一 (which a listener takes for 110) and "110"
    as 一百十, so window numbers are written out before they are spoken."""
    if not 0 <= n <= 9999:
        raise ValueError(f"{n} is not a window number")
    if n < 10:
        return CHINESE_DIGITS[str(n)]
    out = ""
    gap = False  # a zero place since the last digit said: one 零 before the next
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = n // value % 10
        if digit == 0:
            gap = bool(out)
            continue
        if gap:
            out += "零"
            gap = False
        leading_ten = unit == "十" and digit == 1 and not out  # 十二, not 一十二
        out += ("" if leading_ten else CHINESE_DIGITS[str(digit)]) + unit
    return out


def spell_ticket(number: str, lang: str = "zh") -> str:
    """How a ticket number is read: 'A001' -> 'A零零一' (zh) or 'A 0 0 1' (en)."""
    if lang == "zh":
        return "".join(CHINESE_DIGITS.get(ch, ch) for ch in number.upper())
    return " ".join(number.upper())


@dataclass(frozen=True)
class VoiceSettings:
    """How announcements sound; every field is a command-line option of `queue-display`."""

    lang: str = "zh"
    voice: str | None = None  # espeak-ng voice; None = found out at start (zh) / en
    rate: int = 150  # words per minute; slower than espeak's 175 so a hall can follow
    volume: float = 1.0  # 0.0 - 1.0
    repeat: int = 2  # how many times the sentence is said per announcement
    chime: bool = True  # a two-tone chime before the sentence
    # With more than this many calls waiting to be said, the next is said once without the
    # chime (~4 s instead of ~13), so the voice catches up instead of falling minutes behind.
    shorten_after: int = 3
    template: str | None = None  # None = the language's default template
    voice_pack: Path | None = None  # recorded clips instead of espeak-ng (voicepack.py)

    def probes(self) -> list[str]:
        """Sentences as this screen would say them, to choose the voice by."""
        return [self.sentence(number, window) for number, window in PROBE_CALLS]

    @property
    def sentence_template(self) -> str:
        return self.template or TEMPLATES.get(self.lang, TEMPLATES["zh"])

    def sentence(self, number: str, window: int, window_name: str = "") -> str:
        """The sentence for one call, e.g. '请 A零零一号 到 三号窗口 办理'."""
        return self.sentence_template.format(
            ticket=spell_ticket(number, self.lang),
            number=number,
            window=chinese_number(window) if self.lang == "zh" else window,
            window_name=window_name,
        )
