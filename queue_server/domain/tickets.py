"""The ticket state machine (SPEC §3). Each transition returns a new Ticket or raises.

waiting ─call─▶ called ─start─▶ serving ─finish─▶ done      (end_chain: done at this step)
   ▲  │    ▲      │  ▲ recall      │  └─finish (chain step left)─▶ waiting (re-timed)
   │  cancel└requeue┘└─────────────┤
   │  ▼           no_show          transfer ─▶ waiting (other category / named window)
   │ cancelled    ▼
   └─reinstate── no_show   (within the grace period)

and at the day's close-out, waiting / called / serving ─expire─▶ expired.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from queue_protocol.errors import ErrorCode, ProtocolError
from queue_protocol.messages import Priority, TicketState, Transfer
from queue_server.domain.model import Ticket


class InvalidTransition(ProtocolError):
    def __init__(self, message: str, **details: object) -> None:
        super().__init__(ErrorCode.INVALID_STATE, message, **details)


_STATE_ZH = {
    TicketState.WAITING: "等候中",
    TicketState.CALLED: "已叫号",
    TicketState.SERVING: "办理中",
    TicketState.DONE: "已办结",
    TicketState.NO_SHOW: "过号",
    TicketState.CANCELLED: "已取消",
    TicketState.EXPIRED: "已过期",
}
OPEN_STATES = frozenset({TicketState.WAITING, TicketState.CALLED, TicketState.SERVING})


def _require(ticket: Ticket, *states: TicketState, doing: str) -> None:
    if ticket.state not in states:
        wanted = " or ".join(s.value for s in states)
        raise InvalidTransition(
            f"cannot {doing} ticket {ticket.number}: it is {ticket.state.value}"
            f" ({_STATE_ZH[ticket.state]}), must be {wanted}",
            state=ticket.state.value,
            ticket=ticket.number,
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
    chain: tuple[str, ...] = (),
) -> Ticket:
    return Ticket(
        id=ticket_id,
        number=number,
        category=category,
        issued_at=now,
        queued_at=now,
        priority=priority,
        item=item,
        appointment_at=appointment_at,
        chain=chain,
    )


def call(ticket: Ticket, *, window: int, staff: str | None, now: datetime) -> Ticket:
    _require(ticket, TicketState.WAITING, doing="call")
    taken_back = ticket.transfers and ticket.transfers[-1].from_window == window
    if ticket.target_window is not None and ticket.target_window != window and not taken_back:
        raise InvalidTransition(
            f"ticket {ticket.number} was transferred to window {ticket.target_window}"
        )
    return ticket.but(
        state=TicketState.CALLED,
        window=window,
        # Taken back by the window that sent it: no longer waiting for the named one.
        target_window=ticket.target_window if ticket.target_window == window else None,
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


def finish(ticket: Ticket, *, now: datetime) -> Ticket:
    """Done; or, for a one-chain item with steps left, waiting for the next step. The next
    step queues from now (its re-entry), not from the issue: a ticket that has been served
    does not go ahead of people who have waited longer."""
    _require(ticket, TicketState.SERVING, doing="finish")
    if ticket.chain_step + 1 < ticket.steps:
        return ticket.but(
            state=TicketState.WAITING,
            chain_step=ticket.chain_step + 1,
            queued_at=now,
            window=None,
            staff=None,
            target_window=None,
            recall_count=0,
            started_at=None,
        )
    return ticket.but(state=TicketState.DONE, finished_at=now)


def end_chain(ticket: Ticket, *, now: datetime) -> Ticket:
    """Done at this step: the citizen's one-chain visit ends here (the reason is recorded
    by the caller)."""
    _require(ticket, TicketState.SERVING, doing="end the chain of")
    if ticket.steps <= 1:
        raise InvalidTransition(f"ticket {ticket.number} is not on a one-chain visit")
    return ticket.but(state=TicketState.DONE, finished_at=now)


def requeue(ticket: Ticket) -> Ticket:
    """A called (or, by a supervisor, a serving) ticket back to waiting at its old place:
    its window went away."""
    _require(ticket, TicketState.CALLED, TicketState.SERVING, doing="put back in the queue")
    return ticket.but(
        state=TicketState.WAITING, window=None, staff=None, recall_count=0, started_at=None
    )


def expire(ticket: Ticket, *, at: datetime) -> Ticket:
    """Still open at its day's close-out: ended for good."""
    _require(ticket, *OPEN_STATES, doing="expire")
    return ticket.but(state=TicketState.EXPIRED, finished_at=at)


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
    """Back to waiting in another category and/or for a named window; its place (queue
    time) is kept. Into another category it starts that category's service afresh."""
    _require(ticket, TicketState.SERVING, doing="transfer")
    if to_category is None and to_window is None:
        raise ProtocolError(ErrorCode.BAD_REQUEST, "transfer needs to_category or to_window")
    if to_window is not None and to_window == ticket.window:
        raise ProtocolError(ErrorCode.BAD_REQUEST, "cannot transfer a ticket to its own window")
    return _elsewhere(ticket, now, to_category, to_window, reason).but(
        state=TicketState.WAITING, window=None, staff=None, started_at=None, recall_count=0
    )


def move(
    ticket: Ticket,
    *,
    now: datetime,
    to_category: str | None,
    to_window: int | None,
    reason: str,
) -> Ticket:
    """A supervisor moves a waiting ticket to another category and/or reserves it for a
    named window; its place (queue time) is kept. Into another category it starts that
    category's service afresh (and leaves a reservation behind unless one is given)."""
    _require(ticket, TicketState.WAITING, doing="move")
    category = to_category or ticket.category
    if category == ticket.category and (to_window is None or to_window == ticket.target_window):
        raise ProtocolError(
            ErrorCode.BAD_REQUEST,
            "move needs another category or another window",
            reason="moves_nowhere",
        )
    return _elsewhere(ticket, now, to_category, to_window, reason)


def _elsewhere(
    ticket: Ticket, now: datetime, to_category: str | None, to_window: int | None, reason: str
) -> Ticket:
    """The ticket in its new category (its service there afresh) and/or for a named window,
    with the move recorded (from the window that had it, if one did)."""
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
        category=category,
        chain_step=0 if category != ticket.category else ticket.chain_step,
        chain=() if category != ticket.category else ticket.chain,
        target_window=to_window,
        transfers=(*ticket.transfers, record),
    )


def cancel(ticket: Ticket, *, now: datetime) -> Ticket:
    _require(ticket, TicketState.WAITING, doing="cancel")
    return ticket.but(state=TicketState.CANCELLED, finished_at=now)
