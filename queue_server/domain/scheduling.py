"""Who a window calls next (SPEC §4). Policies are pure functions over a snapshot.

Both policies first reduce the waiting tickets to the head (longest queued) of each
(category, priority class, named window) group. Choosing only among heads is what makes
"within one category and class, first come, first called" hold whatever the scoring does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from queue_protocol.messages import Policy, Priority, TicketState
from queue_server.domain.model import Category, HallRules, Ticket, Window

_PRIORITY_CLASSES = frozenset({Priority.GREEN, Priority.ASSISTED})


def may_call(window: Window, ticket: Ticket, *, by_number: bool = False) -> bool:
    """A window may call a waiting ticket of its profile, or one transferred to it by name.
    Called `by_number`, it may also take back a ticket it sent to another window by name
    (that window closed, say) — never by call_next."""
    if ticket.state is not TicketState.WAITING:
        return False
    if ticket.target_window is not None:
        return ticket.target_window == window.number or (
            by_number and sent_from(ticket) == window.number
        )
    return window.serves(ticket.category)


def sent_from(ticket: Ticket) -> int | None:
    """The window that last transferred the ticket, if any."""
    return ticket.transfers[-1].from_window if ticket.transfers else None


def _order_key(ticket: Ticket) -> tuple[datetime, str]:
    return (ticket.queue_time, ticket.id)


def _slot_begun(ticket: Ticket, now: datetime) -> bool:
    return (
        ticket.priority is Priority.APPOINTMENT
        and ticket.appointment_at is not None
        and ticket.appointment_at <= now
    )


def heads(window: Window, waiting: Iterable[Ticket]) -> list[Ticket]:
    """The oldest ticket of each (category, class, named window) group this window may call."""
    best: dict[tuple[str, Priority, int | None], Ticket] = {}
    for ticket in waiting:
        if not may_call(window, ticket):
            continue
        group = (ticket.category, ticket.priority, ticket.target_window)
        held = best.get(group)
        if held is None or _order_key(ticket) < _order_key(held):
            best[group] = ticket
    return sorted(best.values(), key=_order_key)


def _first_priority(candidates: Sequence[Ticket], now: datetime) -> Ticket | None:
    """Appointments whose slot has begun, then green-channel and assisted tickets."""
    for tier in (
        [t for t in candidates if _slot_begun(t, now)],
        [t for t in candidates if t.priority in _PRIORITY_CLASSES],
    ):
        if tier:
            return min(tier, key=_order_key)
    return None


def weighted_wait(
    window: Window,
    waiting: Iterable[Ticket],
    categories: Mapping[str, Category],
    rules: HallRules,
    now: datetime,
) -> Ticket | None:
    """SPEC §4 default: cap, then appointments and priority classes, then relative wait.

    The hard cap comes first: a ticket that has waited `max_wait_minutes` is called by the
    next window that can serve it, oldest first, whatever else is waiting.
    """
    candidates = heads(window, waiting)
    if not candidates:
        return None
    cap = timedelta(minutes=rules.max_wait_minutes)
    overdue = [t for t in candidates if now - t.queue_time >= cap]
    if overdue:
        return min(overdue, key=_order_key)
    chosen = _first_priority(candidates, now)
    if chosen is not None:
        return chosen

    def score(ticket: Ticket) -> tuple[float, datetime, str]:
        category = categories.get(ticket.category)
        target = max(1.0, float(category.target_wait_minutes if category else 15))
        rank = 0 if ticket.target_window is not None else _rank(window, ticket.category)
        weight = 1.0 / (1.0 + rules.rank_penalty * rank)
        waited = max(0.0, (now - ticket.queue_time).total_seconds() / 60.0)
        # Highest score first; equal scores fall back to the older ticket.
        return (-(waited / target) * weight, ticket.queue_time, ticket.id)

    return min(candidates, key=score)


def profile_order(
    window: Window,
    waiting: Iterable[Ticket],
    categories: Mapping[str, Category],
    rules: HallRules,
    now: datetime,
) -> Ticket | None:
    """Qmatic-style work profile: tickets sent to this window by name, then the first
    profile category with anyone waiting (its appointments and priority classes first),
    first come first served within it. A 全科 window takes the hall's category order."""
    candidates = heads(window, waiting)
    if not candidates:
        return None
    named = [t for t in candidates if t.target_window is not None]
    if named:
        return min(named, key=_order_key)
    order = window.profile or tuple(categories)
    for code in order:
        in_category = [t for t in candidates if t.category == code]
        if in_category:
            return _first_priority(in_category, now) or min(in_category, key=_order_key)
    return min(candidates, key=_order_key)  # categories missing from the hall list


def _rank(window: Window, category: str) -> int:
    return window.rank(category) if window.serves(category) else 0


PolicyFunction = Callable[
    [Window, Iterable[Ticket], Mapping[str, Category], HallRules, datetime], Ticket | None
]

POLICIES: dict[Policy, PolicyFunction] = {
    Policy.WEIGHTED_WAIT: weighted_wait,
    Policy.PROFILE_ORDER: profile_order,
}


def choose_next(
    window: Window,
    waiting: Iterable[Ticket],
    categories: Mapping[str, Category],
    rules: HallRules,
    now: datetime,
) -> Ticket | None:
    return POLICIES[rules.policy](window, waiting, categories, rules, now)
