"""The ticket state machine (SPEC §3). Each transition returns a new Ticket or raises.

waiting ─call─▶ called ─start─▶ serving ─finish─▶ done
   ▲  │           │  ▲ recall      │  └─finish (chain step left)─▶ waiting
   │  cancel      │  └─────────────┤
   │  ▼           no_show          transfer ─▶ waiting (other category / named window)
   │ cancelled    ▼
   └─reinstate── no_show   (within the grace period)
"""

from __future__ import annotations

from datetime import datetime, timedelta

from queue_protocol.errors import ErrorCode, ProtocolError
from queue_protocol.messages import Priority, TicketState, Transfer
from queue_server.domain.model import Category, Ticket


class InvalidTransition(ProtocolError):
    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.INVALID_STATE, message)


_STATE_ZH = {
    TicketState.WAITING: "等候中",
    TicketState.CALLED: "已叫号",
    TicketState.SERVING: "办理中",
    TicketState.DONE: "已办结",
    TicketState.NO_SHOW: "过号",
    TicketState.CANCELLED: "已取消",
}


def _require(ticket: Ticket, *states: TicketState, doing: str) -> None:
    if ticket.state not in states:
        wanted = " or ".join(s.value for s in states)
        raise InvalidTransition(
            f"cannot {doing} ticket {ticket.number}: it is {ticket.state.value}"
            f" ({_STATE_ZH[ticket.state]}), must be {wanted}"
        )


def issue(
    *,
    ticket_id: str,
    number: str,
    category: str,
    now: datetime,
    priority: Priority = Priority.NORMAL,
    item: str | None = None,
    appointment_at: datetime | None = None,
) -> Ticket:
    return Ticket(
        id=ticket_id,
        number=number,
        category=category,
        issued_at=now,
        priority=priority,
        item=item,
        appointment_at=appointment_at,
    )


def call(ticket: Ticket, *, window: int, staff: str | None, now: datetime) -> Ticket:
    _require(ticket, TicketState.WAITING, doing="call")
    if ticket.target_window is not None and ticket.target_window != window:
        raise InvalidTransition(
            f"ticket {ticket.number} was transferred to window {ticket.target_window}"
        )
    return ticket.but(
        state=TicketState.CALLED,
        window=window,
        staff=staff,
        call_times=(*ticket.call_times, now),
        recall_count=0,
    )


def recall(ticket: Ticket, *, now: datetime, no_show_after: int) -> Ticket:
    """Call again; once the recalls are used up, the next recall marks the ticket a no-show."""
    _require(ticket, TicketState.CALLED, doing="recall")
    if ticket.recall_count >= no_show_after:
        return no_show(ticket, now=now)
    return ticket.but(recall_count=ticket.recall_count + 1, call_times=(*ticket.call_times, now))


def start(ticket: Ticket, *, now: datetime) -> Ticket:
    _require(ticket, TicketState.CALLED, doing="start service for")
    return ticket.but(state=TicketState.SERVING, started_at=now)


def finish(ticket: Ticket, *, now: datetime, category: Category) -> Ticket:
    """Done; or, in a one-chain category with steps left, waiting for the next step."""
    _require(ticket, TicketState.SERVING, doing="finish")
    if ticket.chain_step + 1 < category.steps:
        return ticket.but(
            state=TicketState.WAITING,
            chain_step=ticket.chain_step + 1,
            window=None,
            staff=None,
            target_window=None,
            recall_count=0,
            started_at=None,
        )
    return ticket.but(state=TicketState.DONE, finished_at=now)


def no_show(ticket: Ticket, *, now: datetime) -> Ticket:
    _require(ticket, TicketState.CALLED, doing="mark as no-show")
    return ticket.but(state=TicketState.NO_SHOW, no_show_at=now)


def reinstate(ticket: Ticket, *, now: datetime, grace: timedelta) -> Ticket:
    """Back to waiting, keeping its issue time, if the citizen returns within the grace period."""
    _require(ticket, TicketState.NO_SHOW, doing="reinstate")
    assert ticket.no_show_at is not None
    if now - ticket.no_show_at > grace:
        minutes = int(grace.total_seconds() // 60)
        raise InvalidTransition(
            f"ticket {ticket.number} missed its turn more than {minutes} minutes ago;"
            " please take a new ticket"
        )
    return ticket.but(
        state=TicketState.WAITING,
        window=None,
        staff=None,
        no_show_at=None,
        recall_count=0,
    )


def transfer(
    ticket: Ticket,
    *,
    now: datetime,
    to_category: str | None,
    to_window: int | None,
    reason: str,
) -> Ticket:
    """Back to waiting in another category and/or for a named window; issue time is kept."""
    _require(ticket, TicketState.SERVING, doing="transfer")
    if to_category is None and to_window is None:
        raise ProtocolError(ErrorCode.BAD_REQUEST, "transfer needs to_category or to_window")
    if to_window is not None and to_window == ticket.window:
        raise ProtocolError(ErrorCode.BAD_REQUEST, "cannot transfer a ticket to its own window")
    category = to_category or ticket.category
    record = Transfer(
        at=now,
        from_category=ticket.category,
        to_category=category,
        from_window=ticket.window,
        to_window=to_window,
        reason=reason,
    )
    return ticket.but(
        state=TicketState.WAITING,
        category=category,
        chain_step=0 if category != ticket.category else ticket.chain_step,
        target_window=to_window,
        window=None,
        staff=None,
        started_at=None,
        recall_count=0,
        transfers=(*ticket.transfers, record),
    )


def cancel(ticket: Ticket, *, now: datetime) -> Ticket:
    _require(ticket, TicketState.WAITING, doing="cancel")
    return ticket.but(state=TicketState.CANCELLED, finished_at=now)
