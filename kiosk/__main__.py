"""`queue-kiosk` / `python -m kiosk`: run the ticket kiosk.

    queue-kiosk --token TOKEN [--server ws://HOST:8765] [--printer none|network:HOST:PORT|
                usb:VID:PID|file:PATH] [--lang en] [--status-page URL|auto|none]

The token is the kiosk's device token (`queue-server device add NAME --kind kiosk`); it may
also come from $YICHUANG_KIOSK_TOKEN so it does not show in the process list. The screen is
locked: Ctrl+Q / Ctrl+C ask for the administrator's PIN from $YICHUANG_KIOSK_ADMIN_PIN and
do nothing without one (stop it then with a signal, e.g. from its service manager).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import platformdirs

from kiosk.app import make_app
from kiosk.i18n import LANGUAGES
from kiosk.printing import PrinterSpecError, printer_from_spec, status_page_base

ENV_TOKEN = "YICHUANG_KIOSK_TOKEN"
ENV_ADMIN_PIN = "YICHUANG_KIOSK_ADMIN_PIN"  # the only way out of the kiosk screen


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="queue-kiosk",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--server", default="ws://127.0.0.1:8765", help="queue server URL")
    parser.add_argument("--token", default=os.environ.get(ENV_TOKEN), help="kiosk device token")
    parser.add_argument(
        "--printer",
        default="none",
        help="none (screen only, default), network:HOST:PORT, usb:VID:PID or file:PATH",
    )
    parser.add_argument("--lang", choices=LANGUAGES, default="zh", help="zh (default) or en")
    parser.add_argument(
        "--reset-after",
        type=float,
        default=10.0,
        help="seconds before the ticket screen, or a booking screen left untouched, returns "
        "to the start (default 10)",
    )
    parser.add_argument(
        "--log",
        type=Path,
        default=Path(platformdirs.user_log_dir("yichuang")) / "kiosk.log",
        help="log file; the terminal belongs to the kiosk screen (default: %(default)s)",
    )
    parser.add_argument(
        "--status-page",
        default="auto",
        metavar="URL|auto|none",
        help="where citizens' phones reach the server's ticket status pages, e.g. "
        "http://10.0.0.5:8765 (the slip's QR code is the ticket's page there); auto: the "
        "--server address over http(s) (default); none: the QR holds the ticket id only",
    )
    args = parser.parse_args(argv)
    if not args.token:
        parser.error(f"--token (or ${ENV_TOKEN}) is required")
    try:
        printer = printer_from_spec(args.printer)
    except PrinterSpecError as exc:
        parser.error(str(exc))
    given: str = args.status_page
    status_page: str | None = given
    if given == "none":
        status_page = None
    elif given == "auto":
        try:
            status_page = status_page_base(args.server)
        except ValueError as exc:
            parser.error(f"--server: {exc}")
    elif not given.startswith(("http://", "https://")):
        parser.error("--status-page: an http:// or https:// address, auto or none")
    args.log.parent.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        filename=args.log,
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    app = make_app(
        args.server,
        args.token,
        printer=printer,
        lang=args.lang,
        reset_after=args.reset_after,
        admin_pin=os.environ.get(ENV_ADMIN_PIN),
        status_page=status_page,
    )
    app.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
