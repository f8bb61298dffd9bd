"""Read models from the live state: snapshots, queue figures, window figures, estimates.

Nothing here queries the database: the state holds the queues in order, the recent
service times, today's window figures and the last calls, kept up to date by each
command's changes (work.py, core.py).
"""

from __future__ import annotations

from collections.abc import Iterable

from queue_protocol.messages import (
    CallView,
    CategoryView,
    HallView,
    Priority,
    QueueStat,
    Role,
    ServiceItemView,
    Snapshot,
    TicketState,
    WindowStat,
)
from queue_server.domain.estimate import Staffing, estimate_wait_minutes
from queue_server.domain.model import Ticket
from queue_server.hall import ratings
from queue_server.hall.state import HallState
from queue_server.hall.work import Work, ticket_view
from queue_server.roles import Principal

# Who is told how the hall rates (its reasons, a pad's wait): whoever may send `rate`.
RATING_ROLES = frozenset({Role.RATER, Role.KIOSK, Role.WINDOW, Role.ADMIN})

RECENT_CALLS = 8


def estimate(state: HallState, category: str, ahead: int, windows: Staffing) -> float:
    """The estimated wait (domain.estimate) of a ticket with `ahead` people before it."""
    waiting = state.waiting_counts()
    config = state.config
    return estimate_wait_minutes(
        category=category,
        people_ahead=ahead,
        windows=windows,
        waiting_by_category=waiting,
        mean_service_minutes=state.service_minutes(category),
        minutes_by_category={
            c: state.service_minutes(c) for c in waiting if c in config.categories
        },
        targets={c: float(cat.target_wait_minutes) for c, cat in config.categories.items()},
        rank_penalty=config.rules.rank_penalty,
    )


def position(work: Work, ticket: Ticket) -> tuple[int, float]:
    """People ahead of a waiting ticket and its estimated wait. An appointment ticket is
    behind only the earlier appointments of its category and is not called before its slot
    begins, so its wait is at least the time until then."""
    if ticket.state is not TicketState.WAITING:
        return 0, 0.0
    state = work.state
    ahead = state.queue(ticket.category).ahead(ticket)
    windows = work.capacity()
    if ticket.priority is Priority.APPOINTMENT and ticket.appointment_at is not None:
        wait = estimate_wait_minutes(
            category=ticket.category,
            people_ahead=ahead,
            windows=windows,
            waiting_by_category=state.waiting_counts(),
            mean_service_minutes=state.service_minutes(ticket.category),
        )
        until_slot = max(0.0, (ticket.appointment_at - work.now).total_seconds() / 60)
        return ahead, round(max(wait, until_slot), 1)
    return ahead, estimate(state, ticket.category, ahead, windows)


def queue_stats(state: HallState, categories: Iterable[str]) -> list[QueueStat]:
    wanted = set(categories)
    windows = state.capacity()
    stats = []
    for code in state.config.categories:
        if code not in wanted:
            continue
        queue = state.queue(code)
        stats.append(
            QueueStat(
                category=code,
                waiting=queue.count,
                oldest_queued_at=queue.oldest(),
                estimated_wait_minutes=estimate(state, code, queue.count, windows),
            )
        )
    return stats


def window_stats(state: HallState, p: Principal) -> list[WindowStat]:
    """Today's figures per window: services given (each one-chain step where it was
    served), no-shows, mean service minutes."""
    if p.role is Role.WINDOW:
        numbers = [p.window] if p.window is not None else []
    elif p.role is Role.ADMIN:
        numbers = sorted(state.windows)
    else:
        return []
    out = []
    for number in numbers:
        figures = state.figures.get(number)
        served = figures.served if figures else 0
        mean = round(figures.service_minutes / served, 1) if figures and served else None
        out.append(
            WindowStat(
                window=number,
                served=served,
                no_shows=figures.no_shows if figures else 0,
                mean_service_minutes=mean,
            )
        )
    return out


def recent_calls(state: HallState, p: Principal) -> list[CallView]:
    """The day's last calls this principal may see, newest first."""
    calls: list[CallView] = []
    for call in reversed(state.recent_calls):
        name = "ticket_recalled" if call.view.recall else "ticket_called"
        if p.may_see(name, call.window, call.zone):
            calls.append(call.view)
            if len(calls) == RECENT_CALLS:
                break
    return calls


def snapshot(work: Work, p: Principal) -> Snapshot:
    state = work.state
    config = state.config
    windows = [
        work.window_view(w)
        for _, w in sorted(state.windows.items())
        if p.role is not Role.DISPLAY or p.may_see("window_changed", w.number, w.zone)
    ]
    today = config.rules.local_day(work.now).isoformat()
    if p.role is Role.WINDOW:
        tickets = [
            live.ticket
            for live in state.tickets.values()
            if live.ticket.window == p.window
            and (
                live.ticket.state in (TicketState.CALLED, TicketState.SERVING)
                or (live.ticket.state is TicketState.NO_SHOW and live.day == today)
            )
        ]
    elif p.role is Role.ADMIN:
        tickets = sorted(
            (
                live.ticket
                for live in state.tickets.values()
                if live.ticket.state
                in (TicketState.WAITING, TicketState.CALLED, TicketState.SERVING)
            ),
            key=lambda t: (t.issued_at, t.id),
        )
    else:
        tickets = []
    return Snapshot(
        seq=state.last_seq,
        now=work.now,
        hall=HallView(
            code=config.rules.code,
            name=config.rules.name,
            timezone=config.rules.timezone,
            notice=state.notice,
            policy=config.rules.policy,
            open_now=config.rules.is_open(work.now),
            no_show_after_recalls=config.rules.no_show_after_recalls,
        ),
        categories=[
            CategoryView(
                code=c.code,
                name=c.name,
                prefix=c.prefix,
                target_wait_minutes=c.target_wait_minutes,
                daily_capacity=c.daily_capacity,
                issuing_paused=c.issuing_paused_reason is not None,
                issuing_paused_reason=c.issuing_paused_reason,
            )
            for c in config.categories.values()
        ],
        items=[
            ServiceItemView(
                name=i.name,
                category=i.category,
                time_limit_days=i.time_limit_days,
                materials=list(i.materials),
                appointment=i.appointment,
                chain=list(i.chain),
            )
            for i in config.items.values()
        ],
        windows=windows,
        queues=queue_stats(state, config.categories),
        recent_calls=recent_calls(state, p),
        tickets=[ticket_view(t) for t in tickets],
        window_stats=window_stats(state, p),
        alerts=[a.view() for _, a in sorted(state.alerts.items())] if p.role is Role.ADMIN else [],
        rating=ratings.settings(work) if p.role in RATING_ROLES else None,
        last_service=ratings.last_service(work, p.window) if p.role is Role.RATER else None,
    )
