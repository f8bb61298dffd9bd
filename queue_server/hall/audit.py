"""The audit trail: who did what when, read back from the events each request made (their
`by`: staff:ACCOUNT, device:NAME, cli:USER), newest first, filtered by account, window,
ticket and time (the `audit` verb, `queue-server audit`)."""

from __future__ import annotations

import json
from datetime import datetime

from queue_protocol.errors import ErrorCode, ProtocolError
from queue_protocol.messages import Audit, AuditEntry, AuditReply
from queue_server.hall.work import Work
from queue_server.roles import Principal

# What each audited event's detail line is made of (its payload's fields).
_DETAIL = {
    "ticket_cancelled": ("reason",),
    "ticket_requeued": ("reason",),
    "window_changed": ("reason",),
    "config_changed": ("what",),
    "service_finished": ("next_step", "chain_ended"),
    "session_opened": ("client", "address"),
    "login_refused": ("code", "reason", "address"),
}


def audit_entry(seq: int, at: datetime, name: str, by: str | None, payload: str) -> AuditEntry:
    event = json.loads(payload)
    ticket = event.get("ticket") if isinstance(event.get("ticket"), dict) else None
    window = event.get("window")
    if isinstance(window, dict):
        window = window.get("number")
    parts = [str(event[k]) for k in _DETAIL.get(name, ()) if event.get(k)]
    if "transfer" in event:
        t = event["transfer"]
        moved = f"{t['from_category']}→{t['to_category']}"
        if t.get("to_window"):
            moved += f" @{t['to_window']}"
        parts.append(f"{moved}: {t['reason']}")
    if name == "window_changed" and isinstance(event.get("window"), dict):
        view = event["window"]
        parts.insert(
            0, view["state"] + (f" ({view['pause_reason']})" if view.get("pause_reason") else "")
        )
    if "alert" in event:
        parts.append(event["alert"]["kind"])
    return AuditEntry(
        seq=seq,
        at=at,
        by=by,
        action=name,
        window=window if isinstance(window, int) else None,
        ticket=ticket["number"] if ticket else event.get("alert", {}).get("ticket"),
        detail="; ".join(parts),
    )


def audit(w: Work, p: Principal, r: Audit) -> AuditReply:
    return AuditReply(re=r.id, entries=entries(w, r))


def entries(w: Work, r: Audit) -> list[AuditEntry]:
    """The audit entries `r` asks for (the verb, and `queue-server audit`)."""
    if w.fetch_audit is None:
        raise ProtocolError(ErrorCode.NOT_SUPPORTED, "no audit trail here")
    account = r.account
    if account is not None and ":" not in account:
        account = f"staff:{account}"
    ticket = None
    if r.ticket is not None:
        found = w.find_ticket(r.ticket)
        ticket = found.ticket.id if found is not None else r.ticket
    return w.fetch_audit(r.since, r.until, account, r.window, ticket, r.limit)
