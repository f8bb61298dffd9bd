"""Ratings (好差评, SPEC §3): one per service, bound to the ticket it rates."""

from __future__ import annotations

from queue_protocol.errors import ErrorCode, ProtocolError
from queue_protocol.messages import Rate, Role, TicketReply, TicketState
from queue_server import security
from queue_server.hall import alerts
from queue_server.hall.state import TicketLive
from queue_server.hall.work import Work, ticket_view
from queue_server.roles import Principal


def rate(w: Work, p: Principal, r: Rate) -> TicketReply:
    """A rating is given with the slip's secret (its QR code), by the window that served the
    ticket (a paper form entered there), or by a supervisor. A kiosk without the secret cannot
    rate anyone's ticket by its number."""
    live = w.ticket(r.ticket)
    ticket = live.ticket
    if r.secret is not None:
        if live.secret_hash is None or not security.token_matches(live.secret_hash, r.secret):
            raise ProtocolError(
                ErrorCode.FORBIDDEN, "this is not the slip of that ticket", reason="bad_secret"
            )
        channel = "qr"
    elif p.role is Role.WINDOW:
        if ticket.window != p.window:
            raise ProtocolError(
                ErrorCode.FORBIDDEN,
                f"ticket {ticket.number} was not served at window {p.window}",
                reason="not_served_here",
            )
        channel = "window"
    elif p.role is Role.ADMIN:
        channel = "supervisor"
    else:
        raise ProtocolError(
            ErrorCode.FORBIDDEN,
            "rating needs the ticket's secret from its slip",
            reason="secret_required",
        )
    if ticket.state is not TicketState.DONE:
        raise ProtocolError(
            ErrorCode.INVALID_STATE,
            f"ticket {ticket.number} can be rated once its service is done",
            state=ticket.state.value,
            ticket=ticket.number,
        )
    if live.rating is not None:
        raise ProtocolError(
            ErrorCode.INVALID_STATE, f"ticket {ticket.number} is already rated", reason="rated"
        )
    w.save(
        TicketLive(
            ticket,
            day=live.day,
            secret_hash=live.secret_hash,
            rating=r.level,
            rating_comment=r.comment,
            rating_channel=channel,
        )
    )
    alerts.bad_rating(w, ticket.id, ticket.number, ticket.window, r.level)
    return TicketReply(re=r.id, ticket=ticket_view(ticket))
