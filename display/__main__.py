"""`queue-display`: the call screen, connected with a display device token."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from platformdirs import user_log_path

from display.app import LAYOUTS, DisplayOptions, make_app
from display.voice import VoiceSettings


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="queue-display",
        description="Call screen with voice announcements for a Yichuang service hall.",
    )
    p.add_argument("--server", default=os.environ.get("YICHUANG_SERVER", "ws://127.0.0.1:8765"))
    p.add_argument(
        "--token",
        default=os.environ.get("YICHUANG_DISPLAY_TOKEN", ""),
        help="display device token (or $YICHUANG_DISPLAY_TOKEN)",
    )
    p.add_argument("--lang", choices=["zh", "en"], default="zh", help="screen and voice language")
    p.add_argument(
        "--voice", help="espeak-ng voice (default: the installed voice that reads Mandarin; en)"
    )
    p.add_argument("--rate", type=int, default=VoiceSettings.rate, help="words per minute")
    p.add_argument("--volume", type=float, default=VoiceSettings.volume, help="0.0 - 1.0")
    p.add_argument("--repeat", type=int, default=VoiceSettings.repeat, help="readings per call")
    p.add_argument("--no-chime", action="store_true", help="no chime before announcements")
    p.add_argument(
        "--shorten-after",
        type=int,
        default=VoiceSettings.shorten_after,
        help="with more calls than this waiting to be said, say each once without the chime",
    )
    p.add_argument(
        "--template",
        help="sentence with {ticket} (spelled), {number}, {window}, {window_name}; "
        "default: '请 {ticket}号 到 {window}号窗口 办理'",
    )
    p.add_argument(
        "--voice-pack",
        type=Path,
        help="directory of recorded clips (请.wav, 号窗口.wav, 七.wav, A.wav, chime.wav, …) "
        "to announce with instead of espeak-ng",
    )
    p.add_argument(
        "--make-voice-pack",
        type=Path,
        metavar="DIR",
        help="render every clip a pack needs with espeak-ng into DIR (keeping clips already "
        "there), then exit",
    )
    p.add_argument("--audio-dir", type=Path, help="also write each announcement as <seq>.wav")
    p.add_argument(
        "--no-playback",
        action="store_true",
        help="do not play through the sound card (only --audio-dir)",
    )
    p.add_argument("--no-voice", action="store_true", help="no announcements at all (无声叫号)")
    p.add_argument(
        "--layout",
        choices=LAYOUTS,
        default="hall",
        help="hall: the newest call large and the last calls (综合屏, default); windows: a "
        "row per window with its number now; window: the screen above one window (--window)",
    )
    p.add_argument("--window", type=int, help="the window a --layout window screen is above")
    p.add_argument(
        "--watchdog", type=float, default=15.0, help="seconds before a silent engine is restarted"
    )
    p.add_argument(
        "--log-file",
        type=Path,
        default=user_log_path("yichuang") / "display.log",
        help="where logs go, since the screen hides stderr (default: %(default)s)",
    )
    args = p.parse_args(argv)
    if args.layout == "window" and args.window is None:
        p.error("--layout window needs --window N (the window the screen is above)")
    if not 0.0 <= args.volume <= 1.0:
        p.error("--volume must be between 0.0 and 1.0")
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    if args.template is not None:
        try:
            args.template.format(ticket="A零零一", number="A001", window=3, window_name="1号")
        except (KeyError, IndexError, ValueError) as exc:
            p.error(f"--template: {exc!r}; use {{ticket}}, {{number}}, {{window}}, {{window_name}}")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    args.log_file.parent.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        filename=args.log_file,
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    voice = VoiceSettings(
        lang=args.lang,
        voice=args.voice,
        rate=args.rate,
        volume=args.volume,
        repeat=args.repeat,
        chime=not args.no_chime,
        shorten_after=args.shorten_after,
        template=args.template,
        voice_pack=args.voice_pack,
    )
    if args.make_voice_pack is not None:
        raise SystemExit(_make_pack(args.make_voice_pack, voice))
    options = DisplayOptions(
        server=args.server,
        token=args.token,
        lang=args.lang,
        voice=voice,
        voice_enabled=not args.no_voice,
        playback=not args.no_playback,
        audio_dir=args.audio_dir,
        watchdog_seconds=args.watchdog,
        layout=args.layout,
        window=args.window,
    )
    make_app(options).run()


def _make_pack(directory: Path, settings: VoiceSettings) -> int:
    from display.voicepack import VoicePackError, make_voice_pack

    try:
        made = make_voice_pack(directory, settings)
    except (VoicePackError, ValueError, OSError) as exc:
        print(f"queue-display: could not make the voice pack: {exc}", file=sys.stderr)
        return 1
    print(f"{len(made)} clips written to {directory} (clips already there were kept)")
    return 0


if __name__ == "__main__":
    main()
