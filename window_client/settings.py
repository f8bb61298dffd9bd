"""The login form's memory: server address and window number, never the password."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import platformdirs

log = logging.getLogger(__name__)

DEFAULT_SERVER = "ws://127.0.0.1:8765"


def default_path() -> Path:
    return platformdirs.user_config_path("yichuang") / "window-client.json"


@dataclass
class Remembered:
    server: str = DEFAULT_SERVER
    window: int | None = None
    hall: str | None = None  # the hall's code, on a server of several halls (--hall)

    @classmethod
    def load(cls, path: Path) -> Remembered:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable settings %s: %s", path, exc)
            return cls()
        window, hall = data.get("window"), data.get("hall")
        return cls(
            server=str(data.get("server") or DEFAULT_SERVER),
            window=window if isinstance(window, int) else None,
            hall=hall if isinstance(hall, str) and hall else None,
        )

    def save(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(asdict(self), ensure_ascii=False), encoding="utf-8")
        except OSError as exc:  # a read-only home must not stop anyone from working
            log.warning("cannot save settings to %s: %s", path, exc)
