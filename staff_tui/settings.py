"""A login form's memory, as a small JSON file in the user's config directory: never a
password. Each program keeps its own file and fields (window_client.settings,
admin_console.settings) and reads and writes it here."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)

DEFAULT_SERVER = "ws://127.0.0.1:8765"


class RememberedLogin(Protocol):
    """What every program's login memory holds (staff_tui.app reads it; each program's own
    is a dataclass with more)."""

    server: str
    hall: str | None  # the hall's code, on a server of several halls (--hall)


def read_settings(path: Path) -> dict[str, Any]:
    """The file's fields; {} when it is missing or unreadable (said in the log)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable settings %s: %s", path, exc)
        return {}
    if not isinstance(data, dict):
        log.warning("ignoring settings %s: not a JSON object", path)
        return {}
    return data


def write_settings(path: Path, data: dict[str, Any]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    except OSError as exc:  # a read-only home must not stop anyone from working
        log.warning("cannot save settings to %s: %s", path, exc)


def text_field(data: dict[str, Any], name: str) -> str | None:
    """A non-empty string field, or None."""
    value = data.get(name)
    return value if isinstance(value, str) and value else None
