"""The call screen speaks Mandarin, checked in espeak-ng's own phonemes.

A WAV that is not silent proves nothing: Debian's espeak-ng 1.51 reads 请 A零零一号 in its
`cmn` voice as English letters with tone numbers. These tests take the voice the real
engine chooses at start and the exact sentences the announcer says, and ask espeak-ng how
it reads them: never switching to another language, window numbers as Mandarin numbers,
and audio as long as its syllables.
"""

from __future__ import annotations

import os
import re
import shutil
import string
from pathlib import Path

import pytest

from display.announcer import Pyttsx3Engine
from display.chime import read_wav
from display.espeak import MANDARIN_CANDIDATES, language_switches, phonemes
from display.voice import TEMPLATES, VoiceSettings, chinese_number

pytestmark = pytest.mark.skipif(
    shutil.which("espeak-ng") is None and os.environ.get("CI") != "true",  # CI: never skip
    reason="espeak-ng is not installed (apt-get install espeak-ng)",
)

LETTERS = string.ascii_uppercase  # every ticket prefix a hall may configure
# One-, two- and three-digit windows, with the readings espeak-ng gets wrong from digits.
WINDOWS = (1, 2, 3, 7, 10, 11, 12, 19, 20, 21, 35, 99, 100, 101, 105, 110, 111, 120, 305, 999)
TICKET_DIGITS = ("001", "010", "099", "120", "907")
CJK = re.compile(r"[\u4e00-\u9fff]")
# Seconds per syllable at the screen's default rate (150 words per minute); measured
# 0.31-0.36 with espeak-ng 1.51, so a reading in English letters or a cut-off shows.
SECONDS_PER_SYLLABLE = (0.2, 0.55)


@pytest.fixture(scope="module")
def voice() -> str:
    """The voice the real engine picks for Chinese, as the call screen starts it."""
    return Pyttsx3Engine(VoiceSettings(lang="zh")).voice


def sentences(settings: VoiceSettings) -> list[str]:
    return [
        settings.sentence(f"{letter}{TICKET_DIGITS[i % len(TICKET_DIGITS)]}", window)
        for i, letter in enumerate(LETTERS)
        for window in WINDOWS
    ]


def test_window_numbers_are_written_out_as_said() -> None:
    expected = {
        1: "一",
        10: "十",
        12: "十二",
        20: "二十",
        99: "九十九",
        100: "一百",
        101: "一百零一",
        110: "一百一十",
        111: "一百一十一",
        305: "三百零五",
        1001: "一千零一",
        1010: "一千零一十",
        2300: "二千三百",
    }
    assert {n: chinese_number(n) for n in expected} == expected
    assert VoiceSettings().sentence("A001", 101) == "请 A零零一号 到 一百零一号窗口 办理"


def test_the_engine_picks_a_mandarin_voice(voice: str) -> None:
    assert voice in MANDARIN_CANDIDATES
    for probe in VoiceSettings().probes():
        assert language_switches(phonemes(probe, voice)) == [], probe


def test_every_call_is_read_in_mandarin_without_a_language_switch(voice: str) -> None:
    """Each letter prefix with 1-3 digit windows, in the demo hall's template (zh)."""
    settings = VoiceSettings(lang="zh")
    assert settings.sentence_template == TEMPLATES["zh"]
    switched = {}
    for text in sentences(settings):
        found = language_switches(phonemes(text, voice))
        if found:
            switched[text] = found
    assert switched == {}


def test_english_calls_stay_english() -> None:
    settings = VoiceSettings(lang="en")
    for text in sentences(settings)[:: len(WINDOWS) // 4]:
        assert language_switches(phonemes(text, "en")) == [], text


def test_window_101_is_heard_with_its_zero(voice: str) -> None:
    """一百零一, not 一百一 (which is 110): the 零 is in what espeak-ng says."""
    ling = phonemes("零", voice).strip("_| ")
    said = phonemes(VoiceSettings().sentence("A001", 101), voice)
    window_part = said.split(phonemes("到", voice).strip("_| "), 1)[1]
    assert ling in window_part


@pytest.mark.parametrize("window", [3, 12, 101])
def test_rendered_speech_lasts_as_long_as_its_syllables(
    window: int, voice: str, tmp_path: Path
) -> None:
    """Each letter prefix, a 1-, 2- and 3-digit window: the WAV the engine renders is as
    long as its syllables (a letter names 1-3 of them: W is 'da bu liu')."""
    settings = VoiceSettings(lang="zh")
    engine = Pyttsx3Engine(settings)
    wrong = {}
    for letter in LETTERS:
        text = settings.sentence(f"{letter}001", window)
        wav = tmp_path / f"{letter}.wav"
        engine.synthesize(text, wav)
        samples, rate = read_wav(wav)
        seconds = len(samples) / rate
        syllables = len(CJK.findall(text))
        low, high = (
            (syllables + 1) * SECONDS_PER_SYLLABLE[0],
            (syllables + 3) * (SECONDS_PER_SYLLABLE[1]),
        )
        if not low <= seconds <= high:
            wrong[text] = (round(seconds, 2), round(low, 2), round(high, 2))
    assert wrong == {}
