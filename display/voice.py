"""What the call screen says: the announcement sentence and the voice settings (SPEC §6).

Ticket numbers are read one character at a time, so "A001" is never heard as "a thousand
and one" or "A one": letters are spelled and each digit is its own word.
"""

from __future__ import annotations

from dataclasses import dataclass

CHINESE_DIGITS = dict(zip("0123456789", "零一二三四五六七八九", strict=True))

TEMPLATES: dict[str, str] = {
    "zh": "请 {ticket}号 到 {window}号窗口 办理",
    "en": "Number {ticket}, please go to window {window}",
}
DEFAULT_VOICES: dict[str, str] = {"zh": "cmn", "en": "en"}


def spell_ticket(number: str, lang: str = "zh") -> str:
    """How a ticket number is read: 'A001' -> 'A零零一' (zh) or 'A 0 0 1' (en)."""
    if lang == "zh":
        return "".join(CHINESE_DIGITS.get(ch, ch) for ch in number.upper())
    return " ".join(number.upper())


@dataclass(frozen=True)
class VoiceSettings:
    """How announcements sound; every field is a command-line option of `queue-display`."""

    lang: str = "zh"
    voice: str | None = None  # espeak-ng voice; None = the language's default (cmn / en)
    rate: int = 150  # words per minute; slower than espeak's 175 so a hall can follow
    volume: float = 1.0  # 0.0 - 1.0
    repeat: int = 2  # how many times the sentence is said per announcement
    chime: bool = True  # a two-tone chime before the sentence
    template: str | None = None  # None = the language's default template

    @property
    def voice_name(self) -> str:
        return self.voice or DEFAULT_VOICES.get(self.lang, "cmn")

    @property
    def sentence_template(self) -> str:
        return self.template or TEMPLATES.get(self.lang, TEMPLATES["zh"])

    def sentence(self, number: str, window: int, window_name: str = "") -> str:
        """The sentence for one call, e.g. '请 A零零一号 到 3号窗口 办理'."""
        return self.sentence_template.format(
            ticket=spell_ticket(number, self.lang),
            number=number,
            window=window,
            window_name=window_name,
        )
