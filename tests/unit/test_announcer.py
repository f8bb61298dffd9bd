"""The announcement sentence, the chime, and the announcer with the real espeak-ng."""

from __future__ import annotations

import ctypes.util
import itertools
import os
import shutil
import time
from pathlib import Path

import pytest

from display.announcer import NO_PLAYER, Announcement, AnnouncementRecord, Announcer, VoiceState
from display.chime import chime, read_wav, rms
from display.voice import VoiceSettings, spell_ticket

# Speech is "not silence" when its RMS is well above what dither or a click would give.
RMS_FLOOR = 300.0


def espeak_missing() -> bool:
    found = shutil.which("espeak-ng") or ctypes.util.find_library("espeak-ng")
    return not found and os.environ.get("CI") != "true"  # in CI, never skip: fail instead


requires_espeak = pytest.mark.skipif(
    espeak_missing(), reason="espeak-ng is not installed (apt-get install espeak-ng)"
)


requires_aplay = pytest.mark.skipif(
    shutil.which("aplay") is None and os.environ.get("CI") != "true",  # CI: never skip
    reason="aplay is not installed (apt-get install alsa-utils)",
)


def sound_device(tmp_path: Path, pcm: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point ALSA's default device (through ~/.asoundrc) at `pcm` for the speech worker."""
    home = tmp_path / "home"
    home.mkdir()
    (home / ".asoundrc").write_text(f"pcm.!default {{ {pcm} }}\n")
    monkeypatch.setenv("HOME", str(home))


class NoEngine:
    """Stands in for a machine without espeak-ng: the engine cannot be loaded."""

    def __init__(self, settings: VoiceSettings) -> None:
        raise OSError("libespeak-ng.so.1: cannot open shared object file")


def start(made: list[Announcer], **options: object) -> Announcer:
    announcer = Announcer(**options)  # type: ignore[arg-type]
    made.append(announcer)
    announcer.start()
    return announcer


def assert_not_overlapping(records: list[AnnouncementRecord]) -> None:
    for before, after in itertools.pairwise(records):
        assert before.ended_at is not None and after.started_at is not None
        assert before.ended_at <= after.started_at, (before, after)


def test_ticket_digits_are_read_one_by_one_in_chinese() -> None:
    """'A001' is read as A 零 零 一, and the default sentence matches the hall's wording."""
    assert spell_ticket("A001") == "A零零一"
    assert spell_ticket("b120") == "B一二零"
    assert VoiceSettings().sentence("A001", 3) == "请 A零零一号 到 三号窗口 办理"


def test_english_template_spells_the_ticket() -> None:
    """The English template reads each character of the ticket separately."""
    settings = VoiceSettings(lang="en")
    assert settings.sentence("A001", 3) == "Number A 0 0 1, please go to window 3"


def test_custom_template_and_voice() -> None:
    """A hall's own template can use the spelled ticket, the raw number and the window name."""
    settings = VoiceSettings(template="{window_name}: {ticket} ({number})", voice="cmn")
    assert settings.sentence("C015", 11, "社会事务11号") == "社会事务11号: C零一五 (C015)"


def test_chime_is_generated_and_audible() -> None:
    """The chime is made by the program: about a second of clearly audible tone."""
    samples = chime()
    assert 0.8 < len(samples) / 22050 < 1.2
    assert rms(samples) > RMS_FLOOR


@requires_espeak
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_announcement_renders_audible_wav(
    lang: str, tmp_path: Path, announcers: list[Announcer]
) -> None:
    """An announcement is a WAV longer than a second that is not silence (zh and en)."""
    announcer = start(
        announcers, settings=VoiceSettings(lang=lang), audio_dir=tmp_path, playback=False
    )
    assert announcer.announce(Announcement(seq=123, number="A001", window=3))
    assert announcer.wait_for(lambda: bool(announcer.spoken()), timeout=30)
    samples, rate = read_wav(tmp_path / "000123.wav")
    assert len(samples) / rate > 1.0
    assert rms(samples) > RMS_FLOOR
    # Without the chime, the speech itself is still well above silence.
    speech = samples[int(rate * 1.2) :]
    assert rms(speech) > RMS_FLOOR
    assert announcer.state is VoiceState.ON
    assert (announcer.voice == "en") == (lang == "en")


@requires_espeak
def test_five_quick_calls_are_spoken_in_order_without_overlap(
    tmp_path: Path, announcers: list[Announcer]
) -> None:
    """Five calls within 100 ms give five announcements, in order, none overlapping."""
    announcer = start(announcers, audio_dir=tmp_path, playback=False)
    began = time.monotonic()
    for i in range(5):
        announcer.announce(Announcement(seq=10 + i, number=f"A00{i + 1}", window=i + 1))
    assert time.monotonic() - began < 0.1
    assert announcer.wait_for(lambda: len(announcer.spoken()) == 5, timeout=60)
    spoken = announcer.spoken()
    assert [r.seq for r in spoken] == [10, 11, 12, 13, 14]
    assert_not_overlapping(spoken)
    assert sorted(p.name for p in tmp_path.glob("*.wav")) == [f"0000{n}.wav" for n in range(10, 15)]


@requires_espeak
def test_each_seq_is_announced_once(tmp_path: Path, announcers: list[Announcer]) -> None:
    """The same event seen twice is spoken once; a recall (new seq) is spoken again."""
    announcer = start(announcers, audio_dir=tmp_path, playback=False)
    call = Announcement(seq=7, number="C003", window=11)
    assert announcer.announce(call)
    assert not announcer.announce(call)
    assert announcer.wait_for(lambda: len(announcer.spoken()) == 1, timeout=30)
    assert announcer.announce(Announcement(seq=8, number="C003", window=11, recall=True))
    assert announcer.wait_for(lambda: len(announcer.spoken()) == 2, timeout=30)
    assert [r.seq for r in announcer.records] == [7, 8]


def test_missing_engine_turns_voice_off(announcers: list[Announcer]) -> None:
    """Without an engine the announcer reports 'off' with the reason and drops nothing silently."""
    states: list[VoiceState] = []
    announcer = start(
        announcers, engine=NoEngine, playback=False, on_state=lambda s, _why: states.append(s)
    )
    assert announcer.wait_for(lambda: announcer.state is VoiceState.OFF, timeout=30)
    assert "libespeak-ng" in announcer.reason
    announcer.announce(Announcement(seq=1, number="A001", window=1))
    assert announcer.wait_for(announcer.idle, timeout=10)
    assert announcer.records[0].error is not None and "voice off" in announcer.records[0].error
    assert states[-1] is VoiceState.OFF


@requires_espeak
@requires_aplay
def test_voice_is_on_when_the_sound_device_plays(
    tmp_path: Path, announcers: list[Announcer], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A device that takes the audio (ALSA's null device here): voice on, calls spoken."""
    sound_device(tmp_path, "type null", monkeypatch)
    announcer = start(announcers, audio_dir=tmp_path / "audio", playback=True)
    assert announcer.wait_for(lambda: announcer.state is not VoiceState.STARTING, timeout=30)
    assert announcer.state is VoiceState.ON, announcer.reason
    announcer.announce(Announcement(seq=1, number="A001", window=1))
    assert announcer.wait_for(lambda: bool(announcer.spoken()), timeout=30)
    assert announcer.state is VoiceState.ON


@requires_espeak
@requires_aplay
def test_failing_sound_device_is_shown_not_hidden(
    tmp_path: Path, announcers: list[Announcer], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sound card that is not there: the state says playback fails, with aplay's reason,
    from start-up on (before any call); calls are still rendered."""
    sound_device(tmp_path, "type hw card 99", monkeypatch)
    announcer = start(announcers, audio_dir=tmp_path / "audio", playback=True)
    assert announcer.wait_for(lambda: announcer.state is not VoiceState.STARTING, timeout=30)
    assert announcer.state is VoiceState.PLAYBACK_FAILED
    assert announcer.reason.startswith("aplay exited with 1")
    announcer.announce(Announcement(seq=2, number="B002", window=2))
    assert announcer.wait_for(announcer.idle, timeout=30)
    assert (tmp_path / "audio" / "000002.wav").exists()
    assert announcer.state is VoiceState.PLAYBACK_FAILED


@requires_espeak
def test_missing_player_is_shown_not_skipped(
    tmp_path: Path, announcers: list[Announcer], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No aplay on the machine: the state says so (and what to install)."""
    only_espeak = tmp_path / "bin"
    only_espeak.mkdir()
    espeak = shutil.which("espeak-ng")
    if espeak is not None:
        (only_espeak / "espeak-ng").symlink_to(espeak)
    monkeypatch.setenv("PATH", str(only_espeak))
    announcer = start(announcers, playback=True)
    assert announcer.wait_for(lambda: announcer.state is not VoiceState.STARTING, timeout=30)
    assert announcer.state is VoiceState.PLAYBACK_FAILED
    assert announcer.reason == NO_PLAYER


@requires_espeak
def test_recall_of_a_call_still_waiting_is_said_once_in_its_place(
    tmp_path: Path, announcers: list[Announcer]
) -> None:
    """While B002's call waits behind A001, its recall replaces it (at its place); a call
    already said is said again when recalled."""
    announcer = start(announcers, audio_dir=tmp_path, playback=False)
    announcer.announce(Announcement(seq=1, number="A001", window=1))
    announcer.announce(Announcement(seq=2, number="B002", window=2))
    announcer.announce(Announcement(seq=3, number="C003", window=3))
    announcer.announce(Announcement(seq=4, number="B002", window=2, recall=True))
    assert announcer.wait_for(announcer.idle, timeout=60)
    said = [r.seq for r in announcer.spoken()]
    if said[:1] == [1] and 2 in said:  # B002's call started before its recall came
        assert said == [1, 2, 3, 4]
    else:
        assert said == [1, 4, 3]
        assert announcer.records[1].replaced_by == 4
    announcer.announce(Announcement(seq=5, number="A001", window=1, recall=True))
    assert announcer.wait_for(lambda: len(announcer.spoken()) == len(said) + 1, timeout=30)


@requires_espeak
def test_a_backlog_is_said_short_until_caught_up(
    tmp_path: Path, announcers: list[Announcer]
) -> None:
    """A burst: each call started with more than `shorten_after` still waiting is said once
    without the chime; the last ones, with the backlog gone, in full again."""
    settings = VoiceSettings(shorten_after=2)
    announcer = start(announcers, settings=settings, audio_dir=tmp_path, playback=False)
    assert announcer.wait_for(lambda: announcer.state is VoiceState.ON, timeout=30)
    for i in range(8):
        announcer.announce(Announcement(seq=100 + i, number=f"A{i + 1:03d}", window=i + 1))
    assert announcer.wait_for(lambda: len(announcer.spoken()) == 8, timeout=60)
    spoken = announcer.spoken()
    assert [r.seq for r in spoken] == list(range(100, 108))
    for record in spoken:
        assert record.short == (record.waiting_behind > 2), record
    assert any(r.short for r in spoken) and not spoken[-1].short
    full = max(r.audio_seconds for r in spoken if not r.short)
    shortest = max(r.audio_seconds for r in spoken if r.short)
    assert shortest < full / 2  # one reading and no chime: well under half
