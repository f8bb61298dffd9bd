"""Tickets: issue, cancel, status (SPEC §3). Numbers are handed out here too, for issues and
for appointment check-ins alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from queue_protocol.errors import ErrorCode, ProtocolError
from queue_protocol.messages import (
    CancelTicket,
    IssueTicket,
    Priority,
    TicketCancelled,
    TicketIssued,
    TicketReply,
    TicketState,
    TicketStatus,
)
from queue_server import security
from queue_server.domain import tickets as rules
from queue_server.domain.model import Category, ServiceItem, Ticket
from queue_server.domain.numbering import ticket_id, ticket_number
from queue_server.hall import views
from queue_server.hall.state import TicketLive
from queue_server.hall.work import Work, day_of, ticket_view
from queue_server.roles import Principal


def issue_ticket(w: Work, p: Principal, r: IssueTicket) -> TicketReply:
    category = w.category(r.category)
    item(w, category, r.item)
    if r.priority is Priority.APPOINTMENT:
        raise ProtocolError(
            ErrorCode.BAD_REQUEST, "appointment tickets come from check_in with a booking code"
        )
    hall = w.rules
    if not hall.is_open(w.now):
        raise ProtocolError(
            ErrorCode.HALL_CLOSED, f"{hall.name} is closed now", reason="closed_now"
        )
    if category.issuing_paused_reason is not None:
        raise ProtocolError(
            ErrorCode.HALL_CLOSED,
            f"issuing {category.name} tickets is paused: {category.issuing_paused_reason}",
            reason="issuing_paused",
        )
    ticket = number_ticket(w, category, priority=r.priority, item_name=r.item)
    ahead, estimate = views.position(w, ticket)
    closing = hall.closing_time(w.now)
    if closing is not None and w.now + timedelta(minutes=estimate) > closing:
        raise ProtocolError(
            ErrorCode.HALL_CLOSED,
            f"the expected wait ({estimate:.0f} min) runs past closing time "
            f"{closing:%H:%M}; please come back tomorrow",
            reason="past_closing",
            at=closing.astimezone(UTC),
            estimated_wait_minutes=estimate,
        )
    secret = save_new(w, ticket)
    w.emit(TicketIssued, ticket=ticket_view(ticket))
    return TicketReply(
        re=r.id,
        ticket=ticket_view(ticket),
        people_ahead=ahead,
        estimated_wait_minutes=estimate,
        secret=secret,
    )


def cancel_ticket(w: Work, p: Principal, r: CancelTicket) -> TicketReply:
    live = w.ticket(r.ticket)
    ticket = rules.cancel(live.ticket, now=w.now)
    save(w, live, ticket)
    w.emit(TicketCancelled, ticket=ticket_view(ticket), reason=r.reason)
    return TicketReply(re=r.id, ticket=ticket_view(ticket))


def ticket_status(w: Work, p: Principal, r: TicketStatus) -> TicketReply:
    ticket = w.ticket(r.ticket).ticket
    ahead, estimate = views.position(w, ticket)
    return TicketReply(
        re=r.id, ticket=ticket_view(ticket), people_ahead=ahead, estimated_wait_minutes=estimate
    )


# -- shared with calling, appointments, windows ---------------------------------------------


def item(w: Work, category: Category, name: str | None) -> ServiceItem | None:
    if name is None:
        return None
    found = w.config.items.get(name)
    if found is None or found.category != category.code:
        raise ProtocolError(
            ErrorCode.NOT_FOUND,
            f"no service item {name!r} in category {category.code}",
            reason="item",
        )
    return found


def number_ticket(
    w: Work,
    category: Category,
    *,
    priority: Priority,
    item_name: str | None,
    appointment_at: datetime | None = None,
    enforce_capacity: bool = True,
) -> Ticket:
    """A new ticket with the next number of its category for the hall's local day; numbers
    are never handed out twice (the counter is written with the ticket)."""
    day = w.rules.local_day(w.now)
    last = w.counter(day.isoformat(), category.code)
    capacity = category.daily_capacity
    if enforce_capacity and capacity is not None and last >= capacity:
        raise ProtocolError(
            ErrorCode.CAPACITY_REACHED,
            f"{category.name} has issued its {capacity} tickets for today",
            reason="daily_capacity",
        )
    w.set_counter(day.isoformat(), category.code, last + 1)
    number = ticket_number(category.prefix, last + 1)
    service_item = w.config.items.get(item_name) if item_name else None
    return rules.issue(
        ticket_id=ticket_id(day, number),
        number=number,
        category=category.code,
        now=w.now,
        priority=priority,
        item=item_name,
        appointment_at=appointment_at,
        chain=service_item.chain if service_item else (),
    )


def save_new(w: Work, ticket: Ticket) -> str:
    """Keep a new ticket with a fresh secret for its slip; returns the secret, which the
    store keeps only as a hash (it is the citizen's proof of holding the slip)."""
    secret = security.new_ticket_secret()
    w.save(TicketLive(ticket, day=day_of(ticket.id), secret_hash=security.hash_token(secret)))
    return secret


def save(w: Work, live: TicketLive, ticket: Ticket) -> TicketLive:
    """Keep `ticket` as the new state of `live` (its slip secret kept)."""
    new = TicketLive(ticket, day=live.day, secret_hash=live.secret_hash)
    w.save(new, previous=live.ticket)
    return new


def claim(w: Work, live: TicketLive) -> None:
    """A call takes a waiting ticket: refuse if another command has taken it meanwhile (the
    single writer makes this impossible; kept as a second guard)."""
    if live.ticket.state is not TicketState.WAITING:
        raise ProtocolError(
            ErrorCode.INVALID_STATE,
            f"ticket {live.ticket.number} was taken by another window",
            state=live.ticket.state.value,
            ticket=live.ticket.number,
        )
