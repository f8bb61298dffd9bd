"""The day's close-out (SPEC §3; when: domain.day): every ticket of the day still open
expires, booked appointments never checked in are marked missed, every window is closed,
and `day_closed` reports each day closed with its figures."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime

from queue_protocol.messages import DayClosed, DaySummary, TicketExpired, TicketState, WindowState
from queue_server.domain import day
from queue_server.domain import tickets as rules
from queue_server.hall.state import OPEN
from queue_server.hall.tickets import save
from queue_server.hall.work import Work, ticket_view

BOOKED, MISSED = "booked", "missed"


def owed(w: Work) -> datetime | None:
    """The close-out moment owed now, if any (idempotent: each moment is done once)."""
    moment = day.due(w.rules, w.now)
    closed = w.closed_out_at
    return moment if closed is None or moment > closed else None


def close_out(w: Work, moment: datetime) -> int:
    """Close out everything issued before `moment`; returns how many tickets expired."""
    rules_ = w.rules
    previous = w.closed_out_at
    expiring = sorted(
        (live for live in w.state.tickets.values() if live.ticket.state in OPEN),
        key=lambda live: (live.ticket.queue_time, live.ticket.id),
    )
    expiring = [live for live in expiring if live.ticket.issued_at < moment]
    # The day this moment closes, unless an earlier close-out closed it already (19:00,
    # then midnight): then only days with tickets expiring now are reported.
    closing = day.day_closed_by(moment, rules_).isoformat()
    already = previous is not None and day.day_closed_by(previous, rules_).isoformat()
    days = set() if closing == already else {closing}
    for live in expiring:
        expired = rules.expire(live.ticket, at=moment)
        save(w, live, expired)
        w.touched.add(expired.category)
        w.emit(TicketExpired, ticket=ticket_view(expired))
        days.add(live.day)
    missed = 0
    for _, appointment in sorted(w.state.appointments.items()):
        if appointment.state == BOOKED and appointment.slot_at < moment:
            changed = appointment.copy()
            changed.state = MISSED
            w.save_appointment(changed)
            days.add(appointment.day)
            missed += 1
    for number in sorted(w.state.windows):
        window = w.state.windows[number]
        if window.state is not WindowState.CLOSED or window.staff is not None:
            closed = w.window(number)
            closed.state, closed.staff, closed.ticket = WindowState.CLOSED, None, None
            closed.pause_reason, closed.connected = None, False
            w.emit_window(closed, reason="day_closed")
    w.hall["closed_out_at"] = moment
    if previous is None and not expiring and not missed:
        return 0  # a new hall: nothing of an earlier day to close
    for closed_day in sorted(days):
        w.emit(
            DayClosed,
            day=date.fromisoformat(closed_day),
            closed_at=moment,
            summary=summary(w, closed_day),
        )
    return len(expiring)


def summary(w: Work, closed_day: str) -> DaySummary:
    """The day's figures, as its tickets stand with this close-out's changes."""
    states: Counter[TicketState] = Counter()
    for ticket_id, live in w.state.tickets.items():
        if live.day == closed_day:
            states[
                w.tickets[ticket_id].ticket.state if ticket_id in w.tickets else live.ticket.state
            ] += 1
    missed = sum(
        1
        for code, a in w.state.appointments.items()
        if a.day == closed_day and (w.appointments.get(code) or a).state == MISSED
    )
    return DaySummary(
        issued=sum(states.values()),
        done=states[TicketState.DONE],
        no_show=states[TicketState.NO_SHOW],
        cancelled=states[TicketState.CANCELLED],
        expired=states[TicketState.EXPIRED],
        appointments_missed=missed,
    )
