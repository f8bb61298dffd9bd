"""The supervisors' acts for the hall (SPEC §6): move a waiting ticket, pause and resume
issuing for a category. Acknowledging an alert is in hall/alerts.py, the audit trail in
hall/audit.py."""

from __future__ import annotations

from queue_protocol.errors import ErrorCode, ProtocolError
from queue_protocol.messages import (
    ConfigReply,
    MoveTicket,
    PauseIssuing,
    ResumeIssuing,
    TicketReply,
    TicketTransferred,
)
from queue_server.domain import tickets as rules
from queue_server.hall.config import config_changed
from queue_server.hall.tickets import save
from queue_server.hall.work import Work, ticket_view
from queue_server.roles import Principal


def move_ticket(w: Work, p: Principal, r: MoveTicket) -> TicketReply:
    live = w.ticket(r.ticket)
    if r.to_category is not None:
        w.category(r.to_category)
    if r.to_window is not None:
        w.window(r.to_window)
    ticket = rules.move(
        live.ticket, now=w.now, to_category=r.to_category, to_window=r.to_window, reason=r.reason
    )
    save(w, live, ticket)
    w.emit(
        TicketTransferred,
        route=(r.to_window, None),
        ticket=ticket_view(ticket),
        transfer=ticket.transfers[-1],
    )
    return TicketReply(re=r.id, ticket=ticket_view(ticket))


def pause_issuing(w: Work, p: Principal, r: PauseIssuing) -> ConfigReply:
    category = w.category(r.category)
    if category.issuing_paused_reason is not None:
        raise ProtocolError(
            ErrorCode.INVALID_STATE,
            f"issuing {category.name} is paused already",
            reason="issuing_paused",
            state="paused",
        )
    w.paused[category.code] = r.reason
    w.reload = True  # the category's configuration changed
    config_changed(w, f"issuing {category.code} paused")
    return ConfigReply(re=r.id, config_version=w.config_version)


def resume_issuing(w: Work, p: Principal, r: ResumeIssuing) -> ConfigReply:
    category = w.category(r.category)
    if category.issuing_paused_reason is None:
        raise ProtocolError(
            ErrorCode.INVALID_STATE,
            f"issuing {category.name} is not paused",
            reason="issuing_not_paused",
            state="issuing",
        )
    w.paused[category.code] = None
    w.reload = True
    config_changed(w, f"issuing {category.code} resumed")
    return ConfigReply(re=r.id, config_version=w.config_version)
