"""Estimated wait for a ticket: the work queued ahead of it over the window capacity it gets.

    wait = (people ahead + 0.5) × minutes per ticket / windows

*Minutes per ticket* is the window time one ticket of the category costs, measured from its
call to the end of its service (the call, the walk to the window, recalls, the service), not
from start to finish. The server passes the mean over the category's recent done tickets.

*Windows* is the capacity that goes to the category (`effective_windows`): each staffed window
that serves it gives it the category's share of that window's queued work, each category's
work (waiting × minutes per ticket) weighted by how strongly weighted_wait favours it there —
1 / (target wait × (1 + rank_penalty × the category's rank in the window's profile)), the
factor the policy divides a ticket's wait by. Under weighted_wait the waits of categories that
share windows settle roughly in proportion to those factors' inverses, so each category's
share of a window is its work rate λ × minutes ≈ waiting / wait × minutes ∝ waiting × minutes
× factor (Little's law). A category with a short target (综合出件, 10 min) therefore gets
more of a shared window than its count alone says, and one with a longer target less.

Paused windows (breaks) are assumed back PAUSE_RETURN_MINUTES after the estimate: a wait
longer than that also counts their share from then on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping

from queue_protocol.messages import WindowState
from queue_server.domain.model import Window

_STAFFED = frozenset({WindowState.IDLE, WindowState.CALLING, WindowState.SERVING})
_PAUSED = frozenset({WindowState.PAUSED})

PAUSE_RETURN_MINUTES = 30.0  # when a paused window is assumed to serve again (half a lunch)
DEFAULT_TARGET_MINUTES = 15.0  # as scheduling.weighted_wait for a category it does not know
DEFAULT_RANK_PENALTY = 0.5  # as HallRules.rank_penalty


class Staffing:
    """The windows as the estimate sees them: how many of each profile are in each state.
    Counted once, it serves every estimate until a window changes (a hall of 100 全科
    windows is one entry), where walking the windows per estimate cost most of an issue."""

    __slots__ = ("_counts", "_profiles")

    def __init__(self, windows: Iterable[Window]) -> None:
        self._counts: Counter[tuple[WindowState, tuple[str, ...]]] = Counter(
            (window.state, window.profile) for window in windows
        )
        self._profiles: dict[tuple[str, frozenset[WindowState]], list[tuple[Window, int]]] = {}

    def profiles(
        self, category: str, states: frozenset[WindowState]
    ) -> Iterable[tuple[Window, int]]:
        """Each profile serving `category` among the windows in `states`, with its count."""
        known = self._profiles.get((category, states))
        if known is None:
            alike: Counter[tuple[str, ...]] = Counter()
            for (state, profile), count in self._counts.items():
                if state in states and (not profile or category in profile):
                    alike[profile] += count
            known = [(Window(number=0, name="", profile=p), n) for p, n in alike.items()]
            self._profiles[category, states] = known
        return known


def effective_windows(
    category: str,
    windows: Iterable[Window] | Staffing,
    waiting_by_category: Mapping[str, int],
    *,
    minutes_by_category: Mapping[str, float] | None = None,
    targets: Mapping[str, float] | None = None,
    rank_penalty: float = DEFAULT_RANK_PENALTY,
    states: frozenset[WindowState] = _STAFFED,
) -> float:
    """Window capacity that goes to `category` from the windows in `states` that serve it.

    At each such window the category gets
        pull(category) / sum of pull(c) over the categories the window serves, where
        pull(c) = waiting(c) × minutes(c) / (target(c) × (1 + rank_penalty × rank(c)))
    and the category itself counts at least one waiting (the ticket being estimated). A
    window with nobody waiting for it counts fully. A category missing from
    `minutes_by_category` costs what `category` costs (with none given: a share by counts),
    a missing target is DEFAULT_TARGET_MINUTES."""
    minutes = minutes_by_category or {}
    goals = targets or {}
    own = minutes.get(category, 1.0)

    def pull(window: Window, code: str) -> float:
        waiting = waiting_by_category.get(code, 0)
        if code == category:
            waiting = max(waiting, 1)
        target = max(1.0, float(goals.get(code, DEFAULT_TARGET_MINUTES)))
        weight = 1.0 / (target * (1.0 + rank_penalty * window.rank(code)))
        return waiting * minutes.get(code, own) * weight

    # Windows with the same profile get the same share: count them, work each out once.
    staffing = windows if isinstance(windows, Staffing) else Staffing(windows)
    share = 0.0
    for window, count in staffing.profiles(category, states):
        served = set(waiting_by_category if window.all_subjects else window.profile)
        served.add(category)
        total = sum(pull(window, c) for c in served if window.serves(c))
        share += count * (pull(window, category) / total if total > 0 else 1.0)
    return share


def estimate_wait_minutes(
    *,
    category: str,
    people_ahead: int,
    windows: Iterable[Window] | Staffing,
    waiting_by_category: Mapping[str, int],
    mean_service_minutes: float,
    minutes_by_category: Mapping[str, float] | None = None,
    targets: Mapping[str, float] | None = None,
    rank_penalty: float = DEFAULT_RANK_PENALTY,
) -> float:
    """Minutes until a new ticket is called (the module docstring explains the model).

    `mean_service_minutes` is the category's window time per ticket (call to finish);
    `minutes_by_category` the same for the other categories waiting (a category missing there
    is taken to cost as much as this one), `targets` their target waits. With capacity C from the
    staffed windows, P from the paused ones, work = (people_ahead + 0.5) × minutes and
    R = PAUSE_RETURN_MINUTES:

        wait = work / max(C, 1)                      (no staffed window: as if one opens)
        if it exceeds R and P > 0: the paused windows help from R on,
        wait = min(that, (work + P × R) / max(C + P, 1))
    """
    return wait_curve(
        category=category,
        windows=windows,
        waiting_by_category=waiting_by_category,
        mean_service_minutes=mean_service_minutes,
        minutes_by_category=minutes_by_category,
        targets=targets,
        rank_penalty=rank_penalty,
    )(people_ahead)


def wait_curve(
    *,
    category: str,
    windows: Iterable[Window] | Staffing,
    waiting_by_category: Mapping[str, int],
    mean_service_minutes: float,
    minutes_by_category: Mapping[str, float] | None = None,
    targets: Mapping[str, float] | None = None,
    rank_penalty: float = DEFAULT_RANK_PENALTY,
) -> Callable[[int], float]:
    """`estimate_wait_minutes` of one category as a function of the people ahead: the
    capacities, which do not depend on them, worked out once (the status pages estimate
    many tickets of a category at a time, queue_server/citizen.py)."""
    staffing = windows if isinstance(windows, Staffing) else Staffing(windows)
    minutes = dict(minutes_by_category or {})
    minutes[category] = mean_service_minutes

    def capacity(states: frozenset[WindowState]) -> float:
        return effective_windows(
            category,
            staffing,
            waiting_by_category,
            minutes_by_category=minutes,
            targets=targets,
            rank_penalty=rank_penalty,
            states=states,
        )

    staffed = capacity(_STAFFED)
    paused: list[float] = []  # worked out when a wait first needs it

    def wait_for(people_ahead: int) -> float:
        work = (people_ahead + 0.5) * mean_service_minutes
        wait = work / max(staffed, 1.0)
        if wait > PAUSE_RETURN_MINUTES:
            if not paused:
                paused.append(capacity(_PAUSED))
            if paused[0] > 0:
                back = (work + paused[0] * PAUSE_RETURN_MINUTES) / max(staffed + paused[0], 1.0)
                wait = min(wait, back)
        return round(wait, 1)

    return wait_for
