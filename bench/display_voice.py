"""Call screen voice: call event -> first audio sample, and draining a burst of calls.

    .venv/bin/python -m bench.display_voice [--calls 30] [--burst 20] [--voice-pack]

Runs the real server (demo hall, temporary SQLite file), a display client, and the real
announcer with espeak-ng writing WAVs to a temporary --audio-dir (no sound card needed).
With --voice-pack the announcer speaks with a recorded-voice pack instead (made once with
espeak-ng into the temporary directory, as `queue-display --make-voice-pack` does).

- latency: from the display receiving a `ticket_called` event to the announcement's WAV
  (chime + sentence x repeat, written whole) being on disk, with the announcer idle.
- burst: N announcements queued at once; the time until the last one is rendered. With
  playback on, a burst drains at the speed of speech instead: the audio length is printed,
  with the announcer catching up (calls said once without the chime while more than
  `shorten_after` wait) and, for comparison, without (every call in full).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from display.announcer import Announcement, Announcer
from display.voice import VoiceSettings
from display.voicepack import make_voice_pack
from queue_protocol.client import Credentials, EventReceived, QueueClient
from queue_protocol.messages import (
    CallNext,
    FinishService,
    IssueTicket,
    Role,
    StartService,
    TicketCalled,
)
from queue_server.hallconfig import demo_hall_path, read_toml
from queue_server.server import Limits, running
from queue_server.service import HallService
from queue_server.store.engine import make_engine


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def measure_latency(url: str, announcer: Announcer, calls: int) -> list[float]:
    kiosk = QueueClient(url, Credentials(role=Role.KIOSK, token="demo-kiosk-token"))
    window = QueueClient(
        url, Credentials(role=Role.WINDOW, user="ck11", password="yichuang", window=11)
    )
    display = QueueClient(url, Credentials(role=Role.DISPLAY, token="demo-display-token"))
    for client in (kiosk, window, display):
        await client.start()
    latencies: list[float] = []
    try:
        for _ in range(calls):
            await kiosk.request(IssueTicket, category="SW")
        for _ in range(calls):
            await window.request(CallNext)
            while True:  # the display's view of the call
                notice = await display.next_notice(timeout=10)
                if isinstance(notice, EventReceived) and isinstance(notice.event, TicketCalled):
                    received = time.monotonic()
                    event = notice.event
                    break
            announcer.announce(Announcement(event.seq, event.ticket.number, event.window))
            record = announcer.records[-1]
            await asyncio.to_thread(announcer.wait_for, lambda r=record: r.finished, 30.0)  # type: ignore[misc]
            if record.audio_at is None:
                raise RuntimeError(f"announcement {event.seq} failed: {record.error}")
            latencies.append(record.audio_at - received)
            await window.request(StartService)
            await window.request(FinishService)
    finally:
        for client in (kiosk, window, display):
            await client.close()
    return latencies


def measure_burst(announcer: Announcer, burst: int) -> tuple[float, float, int]:
    """Seconds to render a burst queued at once, the seconds of audio it makes, and how
    many of its calls were said short."""
    first_seq = 1_000_000
    began = time.monotonic()
    for i in range(burst):
        announcer.announce(Announcement(first_seq + i, f"B{i + 1:03d}", 1 + i % 15))
    records = [r for r in announcer.records if r.seq >= first_seq]
    if not announcer.wait_for(lambda: all(r.finished for r in records), 120):
        raise RuntimeError("the burst did not drain within 120 s")
    if any(r.error for r in records):
        raise RuntimeError(f"errors in the burst: {[r.error for r in records if r.error]}")
    last = max(r.ended_at or 0.0 for r in records)
    return last - began, sum(r.audio_seconds for r in records), sum(r.short for r in records)


def started(settings: VoiceSettings, audio_dir: Path) -> Announcer:
    announcer = Announcer(settings, audio_dir=audio_dir, playback=False)
    announcer.start()
    if not announcer.wait_for(lambda: announcer.state.value in ("on", "off"), 30):
        raise RuntimeError("the speech worker did not start")
    if announcer.state.value != "on":
        announcer.stop()
        raise SystemExit(f"voice off: {announcer.reason} (apt-get install espeak-ng)")
    return announcer


async def run(calls: int, burst: int, voice_pack: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="yichuang-bench-") as tmp:
        pack = Path(tmp) / "pack" if voice_pack else None
        if pack is not None:
            make_voice_pack(pack)
        voice = VoiceSettings(voice_pack=pack)
        config = read_toml(demo_hall_path())
        config["hall"].pop("hours", None)  # open around the clock
        engine = make_engine(f"sqlite:///{Path(tmp) / 'hall.db'}")
        service = HallService(engine)
        service.import_config(config)
        announcer = started(voice, Path(tmp) / "audio")
        try:
            async with running(
                service, port=0, limits=Limits(rate=10_000, burst=10_000), poll_interval=0.05
            ) as server:
                url = f"ws://127.0.0.1:{server.port}"
                latencies = await measure_latency(url, announcer, calls)
            drain, audio, short = await asyncio.to_thread(measure_burst, announcer, burst)
        finally:
            announcer.stop()
            engine.dispose()
        in_full = started(replace(voice, shorten_after=burst), Path(tmp) / "full")
        try:
            _, audio_in_full, _ = measure_burst(in_full, burst)
        finally:
            in_full.stop()
    ms = [x * 1000 for x in latencies]
    speaker = "voice pack" if voice_pack else "espeak-ng"
    print(f"call event -> first audio sample written ({speaker}, idle announcer, n={len(ms)}):")
    print(f"  p50 {percentile(ms, 50):.1f} ms   p99 {percentile(ms, 99):.1f} ms")
    print(f"  min {min(ms):.1f} ms   mean {statistics.mean(ms):.1f} ms   max {max(ms):.1f} ms")
    print(f"burst of {burst} calls queued at once:")
    print(f"  all rendered in {drain:.2f} s ({drain / burst * 1000:.0f} ms per announcement)")
    print(
        f"  audio made: {audio:.0f} s (the drain time when played aloud), {short} calls "
        f"said short; {audio_in_full:.0f} s with every call in full"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=30, help="calls for the latency figure")
    parser.add_argument("--burst", type=int, default=20, help="calls in the burst")
    parser.add_argument("--voice-pack", action="store_true", help="announce with a clip pack")
    args = parser.parse_args()
    asyncio.run(run(args.calls, args.burst, args.voice_pack))


if __name__ == "__main__":
    main()
