"""The announcement queue and the isolated speech worker (SPEC §6).

Calls are spoken one at a time, in the order they arrive, each to the end. Speech runs in
a separate process (multiprocessing, spawn) so that a crashed or hung espeak-ng can never
freeze the call screen: a driver thread in the screen's process hands the worker one job
at a time and times it; a worker that overruns is killed and a fresh one started. If no
engine can be started at all (no espeak-ng), the announcer says so (`VoiceState.OFF`) and
the screen carries on without voice.

Each job renders `chime + (sentence + pause) * repeat` into one WAV file: written to the
`audio_dir` as `<seq>.wav` when one is given, and played with `aplay` when playback is on.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Protocol

from display.chime import chime, read_wav, silence, write_wav
from display.espeak import MANDARIN_CANDIDATES, mandarin_voice
from display.voice import ENGLISH_VOICE, VoiceSettings

log = logging.getLogger(__name__)

PAUSE_BETWEEN_REPEATS = 0.6  # seconds of silence between two readings of the sentence
PLAYBACK_MARGIN = 5.0  # seconds allowed beyond the audio's length for the player to finish
STARTUP_TIMEOUT = 30.0  # seconds for a new worker to load the engine
SYNTH_ATTEMPTS = 3
RETRY_OFF_AFTER = 60.0  # seconds before trying again to start an engine that was missing
PLAYER = "aplay"  # ALSA's player (Debian: alsa-utils)
NO_PLAYER = f"{PLAYER} is not installed (apt-get install alsa-utils)"
SILENCE_RATE = 22050  # samples per second of the start-up playback check


class VoiceState(StrEnum):
    STARTING = "starting"
    ON = "on"  # speaking (and playing, when playback is on: the last playback worked)
    RESTARTING = "restarting"  # the watchdog killed a hung engine; a new one is starting
    OFF = "off"  # no engine could be started (e.g. espeak-ng is not installed)
    PLAYBACK_FAILED = "playback_failed"  # rendered, but not heard: no player, or it failed
    STOPPED = "stopped"


@dataclass(frozen=True)
class Announcement:
    """One call or recall to be spoken; `seq` is the event's hall-wide sequence number."""

    seq: int
    number: str
    window: int
    window_name: str = ""
    recall: bool = False


@dataclass
class AnnouncementRecord:
    """What happened to one announcement; times are `time.monotonic()` (system-wide)."""

    seq: int
    text: str
    queued_at: float
    number: str = ""
    window: int = 0
    started_at: float | None = None
    waiting_behind: int = 0  # announcements still queued when this one started
    short: bool = False  # said once without the chime, to catch up with a backlog
    replaced_by: int | None = None  # not said: a later call of the ticket took its place
    audio_at: float | None = None  # the WAV with the first sample was written
    audio_seconds: float = 0.0
    ended_at: float | None = None
    wav: Path | None = None
    error: str | None = None

    @property
    def finished(self) -> bool:
        return self.ended_at is not None


class SpeechEngine(Protocol):
    def synthesize(self, text: str, path: Path) -> None:
        """Render `text` as a 16-bit mono WAV file at `path`."""


EngineFactory = Callable[[VoiceSettings], SpeechEngine]


def default_engine(settings: VoiceSettings) -> SpeechEngine:
    """The settings' voice pack if they name one, else espeak-ng."""
    if settings.voice_pack is not None:
        from display.voicepack import VoicePackEngine

        return VoicePackEngine(settings)
    return Pyttsx3Engine(settings)


def _voice_matches(voice: Any, wanted: str) -> bool:
    names = {voice.id, voice.id.rsplit("/", 1)[-1], voice.name, *(voice.languages or [])}
    return wanted.lower() in {str(n).lower() for n in names}


class Pyttsx3Engine:
    """pyttsx3 over espeak-ng; raises if espeak-ng or the voice is missing. Without a voice
    given, Chinese is spoken in the installed voice that reads Mandarin (display/espeak.py)."""

    def __init__(self, settings: VoiceSettings) -> None:
        import pyttsx3

        self.engine = pyttsx3.init("espeak")
        voices = self.engine.getProperty("voices")
        wanted = settings.voice or self._default_voice(settings, voices)
        # espeak-ng silently keeps its default voice for an unknown name: check first.
        if not any(_voice_matches(v, wanted) for v in voices):
            raise ValueError(f"espeak-ng has no voice {wanted!r}")
        self.voice = wanted
        self.engine.setProperty("voice", wanted)
        self.engine.setProperty("rate", settings.rate)
        self.engine.setProperty("volume", settings.volume)

    @staticmethod
    def _default_voice(settings: VoiceSettings, voices: list[Any]) -> str:
        if settings.lang != "zh":
            return ENGLISH_VOICE
        names = [n for v in voices for n in (v.id.rsplit("/", 1)[-1], *(v.languages or []))]
        found = mandarin_voice(settings.probes(), [str(n) for n in names])
        if found is None:
            raise ValueError(
                "espeak-ng has no voice that reads Mandarin (tried "
                f"{', '.join(MANDARIN_CANDIDATES)}); install espeak-ng 1.51 or later"
            )
        return found

    def synthesize(self, text: str, path: Path) -> None:
        # pyttsx3's espeak loop now and then returns without having written the file (seen
        # with 2.99, about one job in fifty); rendering takes ~20 ms, so simply try again.
        for _attempt in range(SYNTH_ATTEMPTS):
            self.engine.save_to_file(text, str(path))
            self.engine.runAndWait()
            if path.exists() and path.stat().st_size > 44:  # more than a WAV header
                return
        raise RuntimeError("the speech engine wrote no audio")


# ---------------------------------------------------------------------------------------
# The worker process


@dataclass(frozen=True)
class _Job:
    seq: int
    text: str
    repeat: int
    chime: bool
    out: str | None  # where to keep the WAV; None = a temporary file
    play: bool


def _render(engine: SpeechEngine, job: _Job, out: Path) -> float:
    """Write chime + sentence * repeat to `out`; returns the audio's length in seconds."""
    with tempfile.TemporaryDirectory(prefix="yichuang-voice-") as tmp:
        speech_path = Path(tmp) / "speech.wav"
        engine.synthesize(job.text, speech_path)
        speech, rate = read_wav(speech_path)
    ring = getattr(engine, "chime", None)  # a voice pack may bring its own
    bell = (ring(rate) if callable(ring) else None) or chime(rate)
    audio = bell + silence(0.2, rate) if job.chime else silence(0.05, rate)
    for i in range(max(1, job.repeat)):
        if i:
            audio += silence(PAUSE_BETWEEN_REPEATS, rate)
        audio += speech
    write_wav(out, audio, rate)
    return len(audio) / rate


def _worker_main(
    conn: Connection, settings: VoiceSettings, factory: EngineFactory, play: bool
) -> None:
    """Speech worker: load the engine, then render (and play) jobs one by one. With
    playback on it first plays a moment of silence: a missing player or a failing sound
    device shows before the first call, not at it."""
    # The engine and the player print to stdout/stderr, which is the call screen's terminal.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    try:
        engine = factory(settings)
    except Exception as exc:
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))
        return
    player = shutil.which(PLAYER)
    unheard: str | None = None
    if play:
        with tempfile.TemporaryDirectory(prefix="yichuang-play-") as tmp:
            quiet = Path(tmp) / "silence.wav"
            write_wav(quiet, silence(0.05, SILENCE_RATE), SILENCE_RATE)
            unheard = _play(player, quiet)
    conn.send(("ready", getattr(engine, "voice", settings.voice or ""), unheard))
    while True:
        try:
            job: _Job | None = conn.recv()
        except EOFError:  # the screen went away
            return
        if job is None:
            return
        error: str | None = None
        playback: str | None = None  # why it was not heard
        try:
            with tempfile.TemporaryDirectory(prefix="yichuang-play-") as tmp:
                out = Path(job.out) if job.out else Path(tmp) / f"{job.seq:06d}.wav"
                seconds = _render(engine, job, out)
                conn.send(("rendered", job.seq, time.monotonic(), seconds))
                if job.play:
                    playback = _play(player, out)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
        conn.send(("done", job.seq, error, playback))


def _play(player: str | None, wav: Path) -> str | None:
    """Play a WAV to the end; the reason it was not heard, or None."""
    if player is None:
        return NO_PLAYER
    done = subprocess.run([player, "-q", str(wav)], check=False, capture_output=True, text=True)
    if done.returncode:
        said = done.stderr.strip().splitlines()
        return f"{PLAYER} exited with {done.returncode}" + (f": {said[-1]}" if said else "")
    return None


# ---------------------------------------------------------------------------------------
# The announcer (in the screen's process)


def _start_resource_tracker() -> None:
    """Start multiprocessing's resource tracker with the real stderr.

    Spawning a process starts the tracker on first use and hands it `sys.stderr.fileno()`;
    inside a Textual app sys.stderr is a capture object whose fileno() is -1, which makes
    every spawn fail ("bad value(s) in fds_to_keep"). So start it here, briefly showing it
    the process's real stderr.
    """
    from multiprocessing import resource_tracker

    captured = sys.stderr
    try:
        if sys.__stderr__ is not None:
            sys.stderr = sys.__stderr__
        resource_tracker.ensure_running()
    except Exception as exc:  # without a tracker, spawning fails later and voice goes off
        log.warning("could not start the multiprocessing resource tracker: %s", exc)
    finally:
        sys.stderr = captured


@dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    conn: Connection


@dataclass
class Announcer:
    """Speaks announcements in order, once per `seq`, never overlapping, none dropped.

    `announce` may be called from any thread and never blocks; `on_state` is called from
    the announcer's own thread whenever the voice state changes.
    """

    settings: VoiceSettings = field(default_factory=VoiceSettings)
    audio_dir: Path | None = None
    playback: bool = True
    engine: EngineFactory = default_engine
    render_timeout: float = 15.0  # watchdog: seconds a job may take before its audio exists
    on_state: Callable[[VoiceState, str], None] | None = None

    state: VoiceState = field(default=VoiceState.STARTING, init=False)
    reason: str = field(default="", init=False)
    restarts: int = field(default=0, init=False)
    voice: str = field(default="", init=False)  # the espeak-ng voice the engine speaks in
    records: list[AnnouncementRecord] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self._pending: deque[AnnouncementRecord] = deque()  # guarded by _changed
        self._seen: set[int] = set()
        self._changed = threading.Condition()
        self._worker: _Worker | None = None
        self._thread: threading.Thread | None = None
        self._off_since = 0.0
        self._stopping = False
        if self.audio_dir is not None:
            self.audio_dir.mkdir(parents=True, exist_ok=True)

    # -- public -------------------------------------------------------------------------

    def start(self) -> None:
        """Start the driver thread (call it from the main thread)."""
        _start_resource_tracker()
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="announcer", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop after the announcement being spoken; later ones are not spoken."""
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
        self._kill_worker()
        self._set_state(VoiceState.STOPPED, "")

    def announce(self, announcement: Announcement) -> bool:
        """Queue a call for speaking; False if this `seq` was already announced. A call
        (a recall) of a ticket to a window whose earlier call is still waiting to be said
        takes that one's place in the queue: the ticket is said once, at its first turn."""
        a = announcement
        with self._changed:
            if a.seq in self._seen:
                return False
            self._seen.add(a.seq)
            text = self.settings.sentence(a.number, a.window, a.window_name)
            now = time.monotonic()
            record = AnnouncementRecord(a.seq, text, now, number=a.number, window=a.window)
            self.records.append(record)
            for i, queued in enumerate(self._pending):
                if (queued.number, queued.window) == (a.number, a.window):
                    self._pending[i] = record
                    queued.replaced_by, queued.ended_at = a.seq, now
                    break
            else:
                self._pending.append(record)
            self._changed.notify_all()
        return True

    def wait_for(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Block until `predicate()` holds (checked on every change) or `timeout` passes."""
        with self._changed:
            return self._changed.wait_for(predicate, timeout)

    def idle(self) -> bool:
        with self._changed:
            return all(r.finished for r in self.records)

    def spoken(self) -> list[AnnouncementRecord]:
        """Announcements finished without error, in the order they were spoken."""
        with self._changed:
            said = [
                r for r in self.records if r.finished and r.error is None and r.replaced_by is None
            ]
        return sorted(said, key=lambda r: r.started_at or 0.0)

    def _next(self) -> AnnouncementRecord | None:
        """The next announcement to say (None: stopping), with the backlog behind it."""
        with self._changed:
            self._changed.wait_for(lambda: bool(self._pending) or self._stopping)
            if self._stopping:
                return None
            record = self._pending.popleft()
            record.waiting_behind = len(self._pending)
            return record

    # -- the driver thread --------------------------------------------------------------

    def _run(self) -> None:
        self._ensure_worker()
        while True:
            record = self._next()
            if record is None:
                return
            if self._worker is None and (
                self.state is not VoiceState.OFF
                or time.monotonic() - self._off_since > RETRY_OFF_AFTER
            ):
                self._ensure_worker()
            if self._worker is None:
                self._finish(record, error=f"voice off: {self.reason}")
                continue
            self._speak(self._worker, record)

    def _speak(self, worker: _Worker, record: AnnouncementRecord) -> None:
        out = self.audio_dir / f"{record.seq:06d}.wav" if self.audio_dir else None
        s = self.settings
        # Behind by more than the bound: said once, without the chime, until caught up.
        short = record.waiting_behind > s.shorten_after
        repeat, with_chime = (1, False) if short else (s.repeat, s.chime)
        job = _Job(
            record.seq, record.text, repeat, with_chime, str(out) if out else None, self.playback
        )
        with self._changed:
            record.started_at = time.monotonic()
            record.short = short
        try:
            worker.conn.send(job)
            deadline = time.monotonic() + self.render_timeout
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not worker.conn.poll(remaining):
                    self._finish(record, error="speech engine hung; restarted")
                    self._restart(f"no audio after {self.render_timeout:.0f} s")
                    return
                message = worker.conn.recv()
                if message[0] == "rendered":
                    _, _, audio_at, seconds = message
                    with self._changed:
                        record.audio_at, record.audio_seconds, record.wav = audio_at, seconds, out
                    if self.playback:
                        deadline = time.monotonic() + seconds + PLAYBACK_MARGIN
                elif message[0] == "done":
                    _, _, error, unheard = message
                    if error:
                        log.warning("announcement %d: %s", record.seq, error)
                    if self.playback:
                        self._heard(unheard, f"announcement {record.seq} was not heard")
                    self._finish(record, error=error if record.audio_at is None else None)
                    return
        except (EOFError, OSError) as exc:
            self._finish(record, error="speech worker died; restarted")
            self._restart(f"speech worker died ({type(exc).__name__})")

    def _heard(self, unheard: str | None, what: str) -> None:
        """The voice state after a playback: on, or failing with the player's reason
        (logged once per new reason as `what: reason`)."""
        if unheard is None:
            self._set_state(VoiceState.ON, "")
            return
        if (self.state, self.reason) != (VoiceState.PLAYBACK_FAILED, unheard):
            log.error("%s: %s", what, unheard)
        self._set_state(VoiceState.PLAYBACK_FAILED, unheard)

    def _finish(self, record: AnnouncementRecord, error: str | None) -> None:
        with self._changed:
            record.ended_at = time.monotonic()
            record.error = error
            self._changed.notify_all()

    def _restart(self, why: str) -> None:
        if self._stopping:
            self._kill_worker()
            return
        log.error("speech engine: %s; restarting it", why)
        self._kill_worker()
        with self._changed:
            self.restarts += 1
        self._set_state(VoiceState.RESTARTING, why)
        self._ensure_worker()

    def _ensure_worker(self) -> None:
        if self._worker is not None:
            return
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        process = ctx.Process(
            target=_worker_main,
            args=(child, self.settings, self.engine, self.playback),
            name="yichuang-speech",
            daemon=True,
        )
        worker = _Worker(process, parent)
        reason = ""
        try:
            process.start()
            child.close()
            if parent.poll(STARTUP_TIMEOUT):
                message = parent.recv()
                if message[0] == "ready":
                    self._worker = worker
                    _, voice, unheard = message
                    with self._changed:
                        self.voice = str(voice)
                    self._heard(unheard, "voice: nothing can be heard")
                    return
                reason = str(message[1])
            else:
                reason = "the speech engine did not start"
        except (EOFError, OSError) as exc:
            reason = f"the speech engine exited ({type(exc).__name__})"
        except Exception as exc:  # e.g. spawn refused: never let voice take the screen down
            reason = f"{type(exc).__name__}: {exc}"
        self._worker = worker
        self._kill_worker()
        self._off_since = time.monotonic()
        log.error("voice off: %s (on Debian/Ubuntu: apt-get install espeak-ng)", reason)
        self._set_state(VoiceState.OFF, reason)

    def _kill_worker(self) -> None:
        worker, self._worker = self._worker, None
        if worker is None:
            return
        with contextlib.suppress(OSError):
            worker.conn.close()
        if worker.process.pid is None:  # never started
            return
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join(5)

    def _set_state(self, state: VoiceState, reason: str) -> None:
        with self._changed:
            if (state, reason) == (self.state, self.reason):
                return
            self.state, self.reason = state, reason
            self._changed.notify_all()
        if self.on_state is not None:
            self.on_state(state, reason)
