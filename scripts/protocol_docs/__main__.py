"""`python -m scripts.protocol_docs`: run the captures, then render docs/protocol.md.

See the package docstring (scripts/protocol_docs/__init__.py) for what each part does.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .render import SOURCES, Captures, render

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
TEMPLATE = HERE / "protocol.tmpl.md"
DEFAULT_OUT = ROOT / "docs" / "protocol.md"


def capture(name: str, directory: Path, slow: bool) -> None:
    """Run the capture script `name` in a process of its own, into `directory/name.json`."""
    started = time.monotonic()
    print(f"capturing {name} ...", end=" ", flush=True)
    command = [sys.executable, "-m", f"{__package__}.{name}", str(directory / f"{name}.json")]
    if slow and name == "edges":
        command.append("--slow")
    # From the repository root, so that `scripts.protocol_docs` can be imported.
    done = subprocess.run(command, cwd=ROOT, check=False)
    if done.returncode != 0:
        log = directory / f"{name}.log"
        tail = log.read_text("utf-8").splitlines()[-30:] if log.exists() else []
        print("failed", *tail, sep="\n", file=sys.stderr)
        sys.exit(f"capture {name} failed (exit {done.returncode}); its log: {log}")
    print(f"{time.monotonic() - started:.0f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.protocol_docs",
        description="Capture examples from a real server and render docs/protocol.md "
        "from scripts/protocol_docs/protocol.tmpl.md.",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help="where to write the rendered doc (default: docs/protocol.md)",
    )
    parser.add_argument(
        "--captures",
        type=Path,
        metavar="DIR",
        help="keep the captures (JSON and server logs) in DIR instead of a temporary directory",
    )
    parser.add_argument(
        "--render-only",
        action="store_true",
        help="do not capture; render from the captures already in --captures DIR",
    )
    parser.add_argument(
        "--slow",
        action="store_true",
        help="let edges.py also wait out the hello and ping timeouts (about 70 s more)",
    )
    args = parser.parse_args()
    if args.render_only and args.captures is None:
        parser.error("--render-only needs --captures DIR")

    with tempfile.TemporaryDirectory(prefix="yc-protocol-docs-") as scratch:
        directory: Path = args.captures or Path(scratch)
        if not args.render_only:
            directory.mkdir(parents=True, exist_ok=True)
            for name in SOURCES.values():
                capture(name, directory, args.slow)
        text = render(TEMPLATE.read_text("utf-8"), Captures(directory))
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
