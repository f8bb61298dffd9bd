"""Fixtures shared by the unit tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from display.announcer import Announcer


@pytest.fixture
def announcers() -> Iterator[list[Announcer]]:
    """Announcers a test starts; each is stopped (its speech worker ended) afterwards."""
    made: list[Announcer] = []
    yield made
    for announcer in made:
        announcer.stop()
