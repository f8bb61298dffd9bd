"""The hall's clock: real time, or a shifted one for rehearsals and tests.

`YICHUANG_CLOCK=2026-11-24T23:58:00+08:00` (optionally `…@60` for sixty times faster) starts
every `queue-server` command's clock at that instant and lets it run from there: a hall can
rehearse an evening and its midnight close-out, and tests can run the real processes across
a midnight without waiting for one. Unset, the clock is the system's (UTC).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

ENV_CLOCK = "YICHUANG_CLOCK"

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class ShiftedClock:
    """Starts at `start` and runs `speed` times as fast as real time."""

    def __init__(self, start: datetime, speed: float = 1.0) -> None:
        if start.tzinfo is None:
            raise ValueError("the clock's start needs a UTC offset, e.g. +08:00")
        if speed <= 0:
            raise ValueError("the clock's speed must be positive")
        self.start, self.speed = start, speed
        self._origin = time.monotonic()

    def __call__(self) -> datetime:
        elapsed = (time.monotonic() - self._origin) * self.speed
        return (self.start + timedelta(seconds=elapsed)).astimezone(UTC)


def hall_clock(setting: str | None = None) -> Clock:
    """The clock `YICHUANG_CLOCK` asks for (START[@SPEED]), else real time."""
    value = os.environ.get(ENV_CLOCK) if setting is None else setting
    if not value:
        return utc_now
    start, _, speed = value.partition("@")
    try:
        return ShiftedClock(datetime.fromisoformat(start), float(speed) if speed else 1.0)
    except ValueError as exc:
        raise ValueError(f"{ENV_CLOCK}={value!r}: {exc}") from exc
