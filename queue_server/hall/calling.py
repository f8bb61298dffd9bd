"""Calling a citizen and serving them: call, recall, start, finish, end a one-chain visit,
no-show, reinstate, transfer (SPEC §3, §4). Who is called comes from the pure policy
(domain.scheduling) over the heads of the waiting queues."""

from __future__ import annotations

from datetime import timedelta

from queue_protocol.errors import ErrorCode, ProtocolError
from queue_protocol.messages import (
    CallNext,
    CallTicket,
    EndChain,
    FinishService,
    MarkNoShow,
    Recall,
    Reinstate,
    Role,
    ServiceFinished,
    ServiceStarted,
    StartService,
    TicketCalled,
    TicketNoShow,
    TicketRecalled,
    TicketReinstated,
    TicketReply,
    TicketState,
    TicketTransferred,
    TransferTicket,
    WindowReply,
    WindowState,
)
from queue_server.domain import scheduling
from queue_server.domain import tickets as rules
from queue_server.hall import views
from queue_server.hall.state import TicketLive, WindowLive
from queue_server.hall.tickets import claim, save
from queue_server.hall.work import Work, ticket_view
from queue_server.roles import Principal


def call_next(w: Work, p: Principal, r: CallNext) -> WindowReply:
    window = acting_window(w, p, r.window, need=WindowState.IDLE, doing="call")
    domain = window.domain()
    heads = [
        w.state.tickets[ticket_id].ticket
        for code, queue in w.state.queues.items()
        if queue.count
        for ticket_id in queue.heads(window.number, domain.serves(code))
    ]
    chosen = scheduling.choose_next(domain, heads, w.config.categories, w.rules, w.now)
    if chosen is None:
        raise ProtocolError(
            ErrorCode.QUEUE_EMPTY,
            f"no ticket waiting for window {window.number}",
            window=window.number,
        )
    return _call(w, r.id, window, w.ticket(chosen.id))


def call_ticket(w: Work, p: Principal, r: CallTicket) -> WindowReply:
    window = acting_window(w, p, r.window, need=WindowState.IDLE, doing="call")
    live = w.ticket(r.ticket)
    ticket = live.ticket
    allowed = scheduling.may_call(window.domain(), ticket, by_number=True)
    if ticket.state is TicketState.WAITING and not allowed:
        raise ProtocolError(
            ErrorCode.FORBIDDEN,
            f"ticket {ticket.number} ({ticket.category}) is not for window {window.number}",
            ticket=ticket.number,
            window=window.number,
        )
    return _call(w, r.id, window, live)


def _call(w: Work, rid: str, window: WindowLive, live: TicketLive) -> WindowReply:
    called = rules.call(live.ticket, window=window.number, staff=window.staff, now=w.now)
    claim(w, live)
    save(w, live, called)
    window.state, window.ticket = WindowState.CALLING, called.id
    w.emit(
        TicketCalled,
        ticket=ticket_view(called),
        window=window.number,
        window_name=window.name,
        zone=window.zone,
    )
    w.emit_window(window)
    return WindowReply(re=rid, window=w.window_view(window), ticket=ticket_view(called))


def recall(w: Work, p: Principal, r: Recall) -> WindowReply:
    window = acting_window(w, p, r.window, need=WindowState.CALLING, doing="recall")
    live = current(w, window)
    ticket = rules.recall(live.ticket, now=w.now, no_show_after=w.rules.no_show_after_recalls)
    save(w, live, ticket)
    if ticket.state is TicketState.NO_SHOW:
        window.state, window.ticket = WindowState.IDLE, None
        w.emit(TicketNoShow, ticket=ticket_view(ticket), window=window.number)
        w.emit_window(window)
    else:
        w.emit(
            TicketRecalled,
            ticket=ticket_view(ticket),
            window=window.number,
            window_name=window.name,
            zone=window.zone,
        )
    return WindowReply(re=r.id, window=w.window_view(window), ticket=ticket_view(ticket))


def start_service(w: Work, p: Principal, r: StartService) -> WindowReply:
    window = acting_window(w, p, r.window, need=WindowState.CALLING, doing="start")
    live = current(w, window)
    ticket = rules.start(live.ticket, now=w.now)
    save(w, live, ticket)
    window.state = WindowState.SERVING
    w.emit(ServiceStarted, ticket=ticket_view(ticket), window=window.number)
    w.emit_window(window)
    return WindowReply(re=r.id, window=w.window_view(window), ticket=ticket_view(ticket))


def finish_service(w: Work, p: Principal, r: FinishService) -> WindowReply:
    window = acting_window(w, p, r.window, need=WindowState.SERVING, doing="finish")
    live = current(w, window)
    ticket = rules.finish(live.ticket, now=w.now)
    save(w, live, ticket)
    next_step = ticket.step if ticket.state is TicketState.WAITING else None
    w.record_service(live.ticket, window, "next_step" if next_step else "done")
    window.state, window.ticket = WindowState.IDLE, None
    w.emit(ServiceFinished, ticket=ticket_view(ticket), window=window.number, next_step=next_step)
    w.emit_window(window)
    return WindowReply(re=r.id, window=w.window_view(window), ticket=ticket_view(ticket))


def end_chain(w: Work, p: Principal, r: EndChain) -> WindowReply:
    window = acting_window(w, p, r.window, need=WindowState.SERVING, doing="end a chain")
    live = current(w, window)
    ticket = rules.end_chain(live.ticket, now=w.now)
    save(w, live, ticket)
    w.record_service(live.ticket, window, "chain_ended")
    window.state, window.ticket = WindowState.IDLE, None
    w.emit(ServiceFinished, ticket=ticket_view(ticket), window=window.number, chain_ended=r.reason)
    w.emit_window(window)
    return WindowReply(re=r.id, window=w.window_view(window), ticket=ticket_view(ticket))


def mark_no_show(w: Work, p: Principal, r: MarkNoShow) -> WindowReply:
    window = acting_window(w, p, r.window, need=WindowState.CALLING, doing="mark a no-show")
    live = current(w, window)
    ticket = rules.no_show(live.ticket, now=w.now)
    save(w, live, ticket)
    window.state, window.ticket = WindowState.IDLE, None
    w.emit(TicketNoShow, ticket=ticket_view(ticket), window=window.number)
    w.emit_window(window)
    return WindowReply(re=r.id, window=w.window_view(window), ticket=ticket_view(ticket))


def reinstate(w: Work, p: Principal, r: Reinstate) -> TicketReply:
    acting_window(w, p, r.window, need=None, doing="reinstate")
    grace = timedelta(minutes=w.rules.reinstate_grace_minutes)
    live = w.ticket(r.ticket)
    closed = w.closed_out_at
    if closed is not None and live.ticket.issued_at < closed:
        raise ProtocolError(
            ErrorCode.INVALID_STATE,
            f"ticket {live.ticket.number} belongs to a day already closed; please take a new"
            " ticket",
            reason="day_closed",
            ticket=live.ticket.number,
        )
    ticket = rules.reinstate(live.ticket, now=w.now, grace=grace)
    save(w, live, ticket)
    w.emit(TicketReinstated, ticket=ticket_view(ticket))
    ahead, estimate = views.position(w, ticket)
    return TicketReply(
        re=r.id, ticket=ticket_view(ticket), people_ahead=ahead, estimated_wait_minutes=estimate
    )


def transfer(w: Work, p: Principal, r: TransferTicket) -> WindowReply:
    window = acting_window(w, p, r.window, need=WindowState.SERVING, doing="transfer")
    if r.to_category is not None:
        w.category(r.to_category)
    if r.to_window is not None and r.to_window not in w.state.windows:
        raise ProtocolError(
            ErrorCode.NOT_FOUND,
            f"window {r.to_window} does not exist",
            reason="window",
            window=r.to_window,
        )
    live = current(w, window)
    ticket = rules.transfer(
        live.ticket, now=w.now, to_category=r.to_category, to_window=r.to_window, reason=r.reason
    )
    save(w, live, ticket)
    w.record_service(live.ticket, window, "transferred")
    w.touched.add(live.ticket.category)
    window.state, window.ticket = WindowState.IDLE, None
    w.emit(
        TicketTransferred,
        route=(window.number, r.to_window),
        ticket=ticket_view(ticket),
        transfer=ticket.transfers[-1],
    )
    w.emit_window(window)
    return WindowReply(re=r.id, window=w.window_view(window), ticket=ticket_view(ticket))


# -- shared ---------------------------------------------------------------------------------


def acting_window(
    w: Work, p: Principal, number: int | None, need: WindowState | None, doing: str
) -> WindowLive:
    """The window a request acts for: the caller's own, or any for a supervisor."""
    if p.role is Role.WINDOW:
        if number is not None and number != p.window:
            raise ProtocolError(
                ErrorCode.FORBIDDEN,
                f"window {p.window} may act only for itself, not {number}",
                window=number,
            )
        assert p.window is not None
        number = p.window
    elif number is None:
        raise ProtocolError(ErrorCode.BAD_REQUEST, "say which window: field 'window'")
    window = w.window(number)
    if p.role is Role.WINDOW and window.staff != p.staff:
        raise ProtocolError(
            ErrorCode.WINDOW_TAKEN,
            f"window {number} is no longer logged in as {p.staff}",
            reason="not_logged_in",
            window=number,
        )
    if need is not None and window.state is not need:
        raise ProtocolError(
            ErrorCode.INVALID_STATE,
            _state_message(window, doing),
            state=window.state.value,
            window=window.number,
        )
    return window


def current(w: Work, window: WindowLive) -> TicketLive:
    if window.ticket is None:
        raise ProtocolError(
            ErrorCode.INVALID_STATE, f"window {window.number} has no ticket", window=window.number
        )
    return w.ticket(window.ticket)


def _state_message(window: WindowLive, doing: str) -> str:
    state = window.state
    if state is WindowState.PAUSED:
        return f"window {window.number} is paused ({window.pause_reason}); resume it to {doing}"
    if state is WindowState.CLOSED:
        return f"window {window.number} is closed; log in to {doing}"
    if state is WindowState.CALLING:
        return (
            f"window {window.number} has called {window.ticket}; start service or mark no-show"
            " first"
        )
    if state is WindowState.SERVING:
        return f"window {window.number} is serving {window.ticket}; finish or transfer it first"
    return f"window {window.number} has no ticket to {doing}"
