"""`queue-rate` / `python -m rating_pad`: run the rating pad (评价器) of one window.

    queue-rate --token TOKEN [--server ws://HOST:8765] [--lang en] [--thanks-seconds 5]

The token is the pad's device token (`queue-server device add NAME --kind rater --window N`),
which binds it to its window; it may also come from $YICHUANG_RATER_TOKEN so it does not
show in the process list. How long the pad waits for a rating is the hall's
`[ratings] pad_seconds`. No key quits the pad (citizens touch it): stop it with a signal,
e.g. from its service manager.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from platformdirs import user_log_path

from rating_pad.app import DEFAULT_SERVER, PadOptions, make_app
from rating_pad.i18n import LANGUAGES

ENV_TOKEN = "YICHUANG_RATER_TOKEN"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="queue-rate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--server", default=os.environ.get("YICHUANG_SERVER", DEFAULT_SERVER), help="server URL"
    )
    parser.add_argument(
        "--token", default=os.environ.get(ENV_TOKEN), help=f"rating pad token (or ${ENV_TOKEN})"
    )
    parser.add_argument("--lang", choices=LANGUAGES, default="zh", help="zh (default) or en")
    parser.add_argument(
        "--thanks-seconds",
        type=float,
        default=5.0,
        help="how long the thank-you stays before the welcome is back (default 5)",
    )
    parser.add_argument(
        "--log",
        type=Path,
        default=user_log_path("yichuang") / "rate.log",
        help="log file; the terminal belongs to the pad's screen (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    if not args.token:
        parser.error(f"--token (or ${ENV_TOKEN}) is required")
    if not 0 < args.thanks_seconds <= 60:
        parser.error("--thanks-seconds must be more than 0 and at most 60")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    args.log.parent.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        filename=args.log,
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    options = PadOptions(
        server=args.server, token=args.token, lang=args.lang, thanks_seconds=args.thanks_seconds
    )
    make_app(options).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
