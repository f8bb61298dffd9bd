"""Recorded voice (真人语音): announcements made of clips, one per word, joined gaplessly.

What Chinese hall systems ship: a person records 请, 号, 到, 号窗口, 办理, each digit and
each letter once, and every announcement is those clips in a row. A pack is a directory of
16-bit mono WAV files named by what they say (`请.wav`, `号窗口.wav`, `七.wav`, `A.wav`) and
an optional `chime.wav`, all at one sample rate. A sentence is cut into clips by longest
match (号窗口 before 号); spaces are where nothing is said.

    queue-display --make-voice-pack DIR     renders a complete pack once with espeak-ng
    queue-display --voice-pack DIR          announces with it

so a hall can start from the synthetic pack and replace clips with recordings one by one.
"""

from __future__ import annotations

import contextlib
import io
import string
from array import array
from pathlib import Path

from display.chime import SAMPLE_RATE, chime, read_wav, write_wav
from display.voice import CHINESE_DIGITS, TEMPLATES, VoiceSettings

CHIME = "chime"
NUMBER_WORDS = ("十", "百", "千")
# Samples at or under this amplitude at a clip's ends are the engine's lead-in and tail.
TRIM_LEVEL = 200
KEEP_EDGE_SECONDS = 0.01  # what is kept of the quiet edge, so a clip never starts mid-wave


class VoicePackError(ValueError):
    """A pack that cannot say a sentence, or whose clips do not fit together."""


def template_words(template: str) -> list[str]:
    """The fixed words of a template: '请 {ticket}号 到 {window}号窗口 办理' ->
    ['请', '号', '到', '号窗口', '办理']."""
    words: list[str] = []
    for literal, _field, _spec, _conversion in string.Formatter().parse(template):
        words.extend(literal.split())
    return words


def clip_names(settings: VoiceSettings) -> list[str]:
    """Every clip a pack needs to say any call in `settings`' template: the template's
    words, each digit, 十百千 (window numbers), each letter."""
    names = template_words(settings.sentence_template)
    names += list(CHINESE_DIGITS.values()) + list(NUMBER_WORDS) + list(string.ascii_uppercase)
    return list(dict.fromkeys(names))


def trimmed(samples: array[int], rate: int) -> array[int]:
    """`samples` without the quiet lead-in and tail a speech engine puts around a word."""
    loud = [i for i, s in enumerate(samples) if abs(s) > TRIM_LEVEL]
    if not loud:
        return samples
    edge = int(rate * KEEP_EDGE_SECONDS)
    return samples[max(0, loud[0] - edge) : loud[-1] + edge + 1]


class VoicePack:
    """The clips of a pack directory, loaded once; `say` joins them for a sentence."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.clips: dict[str, array[int]] = {}
        rates: dict[int, str] = {}
        if not directory.is_dir():
            raise VoicePackError(f"voice pack {directory} is not a directory")
        for wav in sorted(directory.glob("*.wav")):
            try:
                samples, rate = read_wav(wav)
            except (ValueError, EOFError, OSError) as exc:
                raise VoicePackError(f"voice pack clip {wav.name}: {exc}") from exc
            rates.setdefault(rate, wav.name)
            self.clips[wav.stem] = samples
        if not self.clips:
            raise VoicePackError(f"voice pack {directory} has no .wav clips")
        if len(rates) > 1:
            found = ", ".join(f"{name} at {rate} Hz" for rate, name in sorted(rates.items()))
            raise VoicePackError(f"voice pack clips must share one sample rate: {found}")
        self.rate = next(iter(rates))
        self._longest = max(len(name) for name in self.clips)

    def words(self, text: str) -> list[str]:
        """`text` cut into clip names by longest match; raises naming what has no clip."""
        out: list[str] = []
        for chunk in text.split():
            i = 0
            while i < len(chunk):
                for size in range(min(self._longest, len(chunk) - i), 0, -1):
                    if chunk[i : i + size] in self.clips:
                        out.append(chunk[i : i + size])
                        i += size
                        break
                else:
                    raise VoicePackError(
                        f"voice pack {self.directory} has no clip for {chunk[i]!r} "
                        f"(in {text!r}): add {chunk[i]}.wav"
                    )
        return out

    def say(self, text: str) -> array[int]:
        audio: array[int] = array("h")
        for word in self.words(text):
            audio.extend(self.clips[word])
        return audio

    def chime(self) -> array[int] | None:
        return self.clips.get(CHIME)


class VoicePackEngine:
    """A SpeechEngine (announcer.py) saying sentences with a pack's clips."""

    def __init__(self, settings: VoiceSettings) -> None:
        if settings.voice_pack is None:
            raise VoicePackError("no voice pack given")
        self.pack = VoicePack(settings.voice_pack)
        self.voice = f"voice pack {settings.voice_pack}"
        # Fail at start, not at the first call, if a call could not be said.
        for name in clip_names(settings):
            if name not in self.pack.clips:
                raise VoicePackError(f"voice pack {settings.voice_pack} lacks {name}.wav")

    def synthesize(self, text: str, path: Path) -> None:
        write_wav(path, self.pack.say(text), self.pack.rate)

    def chime(self, rate: int) -> array[int] | None:
        return self.pack.chime() if rate == self.pack.rate else None


def make_voice_pack(directory: Path, settings: VoiceSettings | None = None) -> list[Path]:
    """Render every clip of a pack with espeak-ng (the Mandarin voice the call screen would
    use) into `directory`, trimmed for gapless joining, plus the chime; returns the files.
    Clips already there are kept: a hall's recordings are never overwritten."""
    from display.announcer import Pyttsx3Engine  # the real engine, only when rendering

    settings = settings or VoiceSettings(template=TEMPLATES["zh"])
    directory.mkdir(parents=True, exist_ok=True)
    engine = Pyttsx3Engine(settings)
    made: list[Path] = []
    for name in clip_names(settings):
        target = directory / f"{name}.wav"
        if target.exists():
            continue
        raw = directory / f".{name}.raw.wav"
        with contextlib.redirect_stdout(io.StringIO()):  # pyttsx3 prints "Audio saved to"
            engine.synthesize(name, raw)
        samples, rate = read_wav(raw)
        raw.unlink()
        write_wav(target, trimmed(samples, rate), rate)
        made.append(target)
    target = directory / f"{CHIME}.wav"
    if not target.exists():
        write_wav(target, chime(SAMPLE_RATE), SAMPLE_RATE)
        made.append(target)
    return made
