"""The login form's memory: server address and window number, never the password."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import platformdirs

from staff_tui.settings import DEFAULT_SERVER, read_settings, text_field, write_settings


def default_path() -> Path:
    return platformdirs.user_config_path("yichuang") / "window-client.json"


@dataclass
class Remembered:
    server: str = DEFAULT_SERVER
    window: int | None = None
    hall: str | None = None  # the hall's code, on a server of several halls (--hall)

    @classmethod
    def load(cls, path: Path) -> Remembered:
        data = read_settings(path)
        window = data.get("window")
        return cls(
            server=text_field(data, "server") or DEFAULT_SERVER,
            window=window if isinstance(window, int) else None,
            hall=text_field(data, "hall"),
        )

    def save(self, path: Path) -> None:
        write_settings(path, asdict(self))
