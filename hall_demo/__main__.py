"""`queue-demo`: a live demo hall a newcomer can watch at once.

Starts the queue server on a fresh embedded SQLite file with the demo hall, simulated
citizens and window staff acting through the real protocol on an accelerated clock, and
the call screen (with Mandarin voice where espeak-ng is installed). Windows 1 and 2 are
left free for a person to join with `queue-window`. Ctrl-C stops everything cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import shutil
import signal
import sys
import threading
from pathlib import Path

from hall_demo.bots import Hall, Say
from queue_server.hallconfig import demo_hall_path, read_toml
from queue_server.server import Limits, QueueServer
from queue_server.service import HallService
from queue_server.store.engine import data_dir, make_engine

HUMAN_WINDOWS = (1, 2)
BOT_WINDOWS = list(range(3, 16))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="queue-demo", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--port", type=int, default=8765, help="server port (0 = any free port)")
    p.add_argument(
        "--speed",
        type=float,
        default=5.0,
        help="how much faster than real time the simulated people act (default 5)",
    )
    p.add_argument(
        "--arrivals",
        type=float,
        default=55.0,
        help="citizens arriving per simulated hour (default 55)",
    )
    p.add_argument("--seed", type=int, default=1, help="random seed of the simulated people")
    p.add_argument(
        "--no-screen",
        action="store_true",
        help="no call screen: print the hall's activity instead (also without a TTY)",
    )
    p.add_argument("--no-voice", action="store_true", help="call screen without announcements")
    p.add_argument(
        "--data-dir",
        type=Path,
        help="where the demo database goes "
        "(default: a demo/ folder in the Yichuang data directory)",
    )
    args = p.parse_args(argv)
    if args.speed <= 0 or args.arrivals <= 0:
        p.error("--speed and --arrivals must be positive")
    return args


def prepare_database(folder: Path) -> str:
    """A fresh demo hall, open around the clock so the demo works at any hour."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("demo.db*"):
        old.unlink()
    url = f"sqlite:///{folder / 'demo.db'}"
    config = read_toml(demo_hall_path())
    config["hall"].pop("hours", None)
    config["hall"]["notice"] = "演示大厅 · 模拟群众与窗口人员 · 1、2号窗口可用 queue-window 加入"
    HallService(make_engine(url)).import_config(config)
    return url


def join_instructions(port: int) -> str:
    server = f"ws://127.0.0.1:{port}"
    return (
        f"演示大厅已开门 — demo hall running at {server}\n"
        f"  Join as a real window:  queue-window --server {server} --window 1 --user ck01"
        "   (password: yichuang)\n"
        f"  Watch another screen:   queue-display --server {server} --token demo-display-token\n"
        f"  Kiosk device token:     demo-kiosk-token\n"
        f"  Health:                 curl http://127.0.0.1:{port}/healthz\n"
        "  Stop:                   Ctrl-C\n"
    )


async def run_backend(
    url: str,
    args: argparse.Namespace,
    stop: asyncio.Event,
    say: Say,
    started: threading.Event | None = None,
    port_box: list[int] | None = None,
) -> Hall:
    service = HallService(make_engine(url))
    server = QueueServer(
        service, host="127.0.0.1", port=args.port, limits=Limits(rate=200, burst=400)
    )
    port = await server.start()
    if port_box is not None:
        port_box.append(port)
    if started is not None:
        started.set()
    print(join_instructions(port), flush=True)
    hall = Hall(
        f"ws://127.0.0.1:{port}",
        windows=BOT_WINDOWS,
        speed=args.speed,
        arrivals_per_hour=args.arrivals,
        seed=args.seed,
        say=say,
    )
    try:
        await hall.run(stop)
    finally:
        await server.stop()
    return hall


def report(hall: Hall | None) -> str:
    if hall is None:
        return "demo stopped"
    t = hall.tally
    return (
        f"demo stopped: {t.issued} tickets issued, {t.called} called, {t.finished} served, "
        f"{t.no_shows} no-shows, {t.transfers} transfers"
    )


def run_headless(url: str, args: argparse.Namespace) -> int:
    async def main() -> Hall:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        return await run_backend(url, args, stop, say=lambda line: print(line, flush=True))

    hall = asyncio.run(main())
    print(report(hall), flush=True)
    return 0


def run_with_screen(url: str, args: argparse.Namespace) -> int:
    """The server and the simulated people run on a thread; the call screen owns the
    terminal until Ctrl-C, then everything stops."""
    from display.app import DisplayOptions, make_app
    from display.voice import VoiceSettings

    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    started = threading.Event()
    port_box: list[int] = []
    result: list[Hall] = []
    errors: list[BaseException] = []

    def backend() -> None:
        async def main() -> None:
            result.append(
                await run_backend(url, args, stop, say=log.info, started=started, port_box=port_box)
            )

        try:
            loop.run_until_complete(main())
        except BaseException as exc:  # reported on the main thread
            errors.append(exc)
            started.set()

    thread = threading.Thread(target=backend, name="demo backend", daemon=True)
    thread.start()
    started.wait(30)
    if errors or not port_box:
        print(
            f"queue-demo: the server did not start: {errors[0] if errors else 'timeout'}",
            file=sys.stderr,
        )
        return 1
    voice = VoiceSettings(repeat=1)
    options = DisplayOptions(
        server=f"ws://127.0.0.1:{port_box[0]}",
        token="demo-display-token",
        voice=voice,
        voice_enabled=not args.no_voice,
    )
    try:
        make_app(options).run()
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)
    print(join_instructions(port_box[0]).splitlines()[0])
    print(report(result[0] if result else None))
    return 0


log = logging.getLogger("hall_demo")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    folder = args.data_dir or data_dir() / "demo"
    url = prepare_database(folder)
    headless = args.no_screen or not sys.stdout.isatty()
    if headless:
        logging.basicConfig(level=logging.WARNING)
        return run_headless(url, args)
    logging.basicConfig(
        filename=folder / "demo.log",
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if shutil.which("espeak-ng") is None and not args.no_voice:
        print(
            "espeak-ng is not installed: the call screen runs without voice "
            "(apt-get install espeak-ng)"
        )
    with contextlib.suppress(KeyboardInterrupt):
        return run_with_screen(url, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
