"""Estimated wait for a ticket: the queue ahead over the service capacity that reaches it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from queue_protocol.messages import WindowState
from queue_server.domain.model import Window

_STAFFED = frozenset({WindowState.IDLE, WindowState.CALLING, WindowState.SERVING})


def effective_windows(
    category: str, windows: Iterable[Window], waiting_by_category: Mapping[str, int]
) -> float:
    """Window capacity that goes to `category`: each staffed window that serves it gives it a
    share proportional to its waiting count among the categories that window serves."""
    staffed = [w for w in windows if w.serves(category) and w.state in _STAFFED]
    share = 0.0
    for window in staffed:
        served = list(waiting_by_category) if window.all_subjects else list(window.profile)
        total = sum(waiting_by_category.get(c, 0) for c in served)
        mine = waiting_by_category.get(category, 0)
        share += 1.0 if total == 0 else max(mine / total, 1.0 / max(1, len(served)))
    return share


def estimate_wait_minutes(
    *,
    category: str,
    people_ahead: int,
    windows: Iterable[Window],
    waiting_by_category: Mapping[str, int],
    mean_service_minutes: float,
) -> float:
    """Minutes until a new ticket is called. With no staffed window serving the category,
    it is estimated as if one window will open for it."""
    capacity = max(effective_windows(category, windows, waiting_by_category), 1.0)
    return round((people_ahead + 0.5) * mean_service_minutes / capacity, 1)
