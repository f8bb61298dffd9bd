"""Recorded voice (真人语音): a pack of clips, joined gaplessly into each announcement."""

from __future__ import annotations

import math
import os
import shutil
from array import array
from pathlib import Path

import pytest

from display.announcer import PAUSE_BETWEEN_REPEATS, Announcement, Announcer, VoiceState
from display.chime import read_wav, rms, silence, write_wav
from display.voice import VoiceSettings
from display.voicepack import (
    CHIME,
    VoicePack,
    VoicePackError,
    clip_names,
    make_voice_pack,
    template_words,
)

RATE = 22050
requires_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None and os.environ.get("CI") != "true",  # CI: never skip
    reason="espeak-ng is not installed (apt-get install espeak-ng)",
)


def tone(hz: float, seconds: float = 0.05, rate: int = RATE) -> array[int]:
    return array(
        "h", (int(8000 * math.sin(2 * math.pi * hz * i / rate)) for i in range(int(rate * seconds)))
    )


def recorded_pack(directory: Path, rate: int = RATE) -> dict[str, array[int]]:
    """A pack as a hall would record it, each clip a tone of its own."""
    directory.mkdir()
    clips = {}
    for i, name in enumerate([*clip_names(VoiceSettings()), CHIME]):
        clips[name] = tone(300 + 20 * i, rate=rate)
        write_wav(directory / f"{name}.wav", clips[name], rate)
    return clips


def started(made: list[Announcer], pack: Path, audio: Path) -> Announcer:
    announcer = Announcer(VoiceSettings(voice_pack=pack), audio_dir=audio, playback=False)
    made.append(announcer)
    announcer.start()
    assert announcer.wait_for(lambda: announcer.state is not VoiceState.STARTING, timeout=30)
    return announcer


def test_the_template_names_the_clips_a_pack_needs() -> None:
    assert template_words("请 {ticket}号 到 {window}号窗口 办理") == [
        "请",
        "号",
        "到",
        "号窗口",
        "办理",
    ]
    names = clip_names(VoiceSettings())
    assert {"请", "号窗口", "办理", "零", "九", "十", "百", "A", "Z"} <= set(names)


def test_an_announcement_is_its_clips_joined_without_gaps(
    tmp_path: Path, announcers: list[Announcer]
) -> None:
    """请 A零零一号 到 一百零一号窗口 办理, twice, after the pack's own chime: sample for
    sample the clips in order (号窗口 as one clip, not 号 + 窗口)."""
    clips = recorded_pack(tmp_path / "pack")
    announcer = started(announcers, tmp_path / "pack", tmp_path / "audio")
    assert announcer.state is VoiceState.ON, announcer.reason
    announcer.announce(Announcement(seq=5, number="A001", window=101))
    assert announcer.wait_for(lambda: bool(announcer.spoken()), timeout=30)
    words = ["请", "A", "零", "零", "一", "号", "到", "一", "百", "零", "一", "号窗口", "办理"]
    sentence: array[int] = array("h")
    for word in words:
        sentence.extend(clips[word])
    expected = clips[CHIME] + silence(0.2, RATE) + sentence
    expected += silence(PAUSE_BETWEEN_REPEATS, RATE) + sentence
    samples, rate = read_wav(tmp_path / "audio" / "000005.wav")
    assert rate == RATE
    assert samples == expected


def test_a_pack_missing_a_clip_is_refused_at_start_with_its_name(
    tmp_path: Path, announcers: list[Announcer]
) -> None:
    recorded_pack(tmp_path / "pack")
    (tmp_path / "pack" / "七.wav").unlink()
    announcer = started(announcers, tmp_path / "pack", tmp_path / "audio")
    assert announcer.state is VoiceState.OFF
    assert "七.wav" in announcer.reason


def test_a_pack_mixing_sample_rates_is_refused(tmp_path: Path, announcers: list[Announcer]) -> None:
    recorded_pack(tmp_path / "pack")
    write_wav(tmp_path / "pack" / "请.wav", tone(440, rate=44100), 44100)
    announcer = started(announcers, tmp_path / "pack", tmp_path / "audio")
    assert announcer.state is VoiceState.OFF
    assert "one sample rate" in announcer.reason and "请.wav at 44100 Hz" in announcer.reason


@requires_espeak
def test_made_pack_has_every_clip_trimmed_and_keeps_recordings(tmp_path: Path) -> None:
    """`--make-voice-pack` renders each clip with espeak-ng, without the engine's silent
    lead-in and tail; run again it keeps what is there (a hall's recordings)."""
    pack = tmp_path / "pack"
    made = make_voice_pack(pack)
    assert sorted(p.stem for p in made) == sorted([*clip_names(VoiceSettings()), CHIME])
    for name in clip_names(VoiceSettings()):
        samples, rate = read_wav(pack / f"{name}.wav")
        assert rms(samples) > 300, name
        lead = next(i for i, s in enumerate(samples) if abs(s) > 200)
        assert lead <= 0.011 * rate, (name, lead / rate)  # no lead-in beyond the kept edge
    recording = tone(523.0, 0.4)
    write_wav(pack / "请.wav", recording, RATE)
    assert make_voice_pack(pack) == []
    assert read_wav(pack / "请.wav")[0] == recording
    assert VoicePack(pack).words("请 C零九九号 到 十二号窗口 办理")[:3] == ["请", "C", "零"]


def test_a_word_without_a_clip_is_named(tmp_path: Path) -> None:
    recorded_pack(tmp_path / "pack")
    pack = VoicePack(tmp_path / "pack")
    assert pack.words("请 B零一号 到 三号窗口") == [
        "请",
        "B",
        "零",
        "一",
        "号",
        "到",
        "三",
        "号窗口",
    ]
    with pytest.raises(VoicePackError, match=r"no clip for '甲'.*add 甲\.wav"):
        pack.words("请 甲号")
