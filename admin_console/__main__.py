"""`queue-admin` / `python -m admin_console`: the supervisor console (值班管理台)."""

from __future__ import annotations

import argparse
from pathlib import Path

from admin_console.app import make_app


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="queue-admin",
        description="一窗 supervisor console: watch the hall live and act for it",
    )
    parser.add_argument("--lang", choices=["zh", "en"], default="zh", help="UI language")
    parser.add_argument("--server", help="server address, e.g. ws://127.0.0.1:8765")
    parser.add_argument("--user", help="account to fill in (default: the last one used)")
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
        account=args.user,
        hall=args.hall,
        settings_path=args.settings,
    )
    app.run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
