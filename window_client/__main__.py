"""`queue-window` / `python -m window_client`: the window staff's terminal client."""

from __future__ import annotations

import argparse
from pathlib import Path

from window_client.app import make_app


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="queue-window", description="一窗 window client: call and serve tickets at a window"
    )
    parser.add_argument("--lang", choices=["zh", "en"], default="zh", help="UI language")
    parser.add_argument("--server", help="server address, e.g. ws://127.0.0.1:8765")
    parser.add_argument("--window", type=int, help="window number (default: the last one used)")
    parser.add_argument("--user", help="staff account to fill in on the login screen")
    parser.add_argument(
        "--hall",
        help="the hall's code, on a server of several halls (remembered; default: the last one)",
    )
    parser.add_argument("--settings", type=Path, help="settings file (default: user config dir)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    app = make_app(
        language=args.lang,
        server=args.server,
        window=args.window,
        account=args.user,
        hall=args.hall,
        settings_path=args.settings,
    )
    app.run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
