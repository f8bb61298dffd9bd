"""A staff member's words for an error reply, built from its code and structured fields.

Shared by the staff programs (queue-window, queue-admin): each passes its own `Words`.

An ErrorReply's `message` is for the server's log and is never shown or parsed here: the
text comes from `code`, `reason` and the fields the protocol documents per code (`at`,
`window`, `staff_name`, `ticket`, `state`, `retry_after_seconds`, …). Where the server gives
no field, `Asked` supplies what the program itself asked for (the window it logged in at
or acted on, the ticket number it called), so a refusal can still name it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from queue_protocol.errors import ErrorCode
from queue_protocol.messages import (
    CallTicket,
    CancelTicket,
    ErrorReply,
    Reinstate,
    TicketState,
    TransferTicket,
    WindowState,
    _Request,
)
from staff_tui.i18n import Translate


@dataclass(frozen=True)
class Asked:
    """What the refused request was about, as the program knows it."""

    window: int | None = None
    ticket: str | None = None
    category: str | None = None
    cancelling: bool = False  # a cancel_ticket: its refusals say what can be cancelled

    @classmethod
    def of(cls, request: _Request) -> Asked:
        if isinstance(request, CancelTicket):
            return cls(ticket=request.ticket, cancelling=True)
        if isinstance(request, CallTicket | Reinstate):
            return cls(ticket=request.ticket)
        if isinstance(request, TransferTicket):
            return cls(window=request.to_window, category=request.to_category)
        return cls()


_TICKET_STATES = frozenset(s.value for s in TicketState)
_WINDOW_STATES = frozenset(s.value for s in WindowState)


def state_label(state: str, t: Translate) -> str:
    """A ticket or window state in words (the machine value if it is neither)."""
    if state in _TICKET_STATES:
        return t(f"ticket.state.{state}")
    if state in _WINDOW_STATES:
        return t(f"state.{state}")
    return state


def local_time(moment: datetime, timezone: str) -> str:
    """HH:MM in the hall's timezone."""
    return moment.astimezone(ZoneInfo(timezone)).strftime("%H:%M")


def _seconds(value: float) -> str:
    return str(max(1, math.ceil(value)))


def describe(error: ErrorReply, t: Translate, *, asked: Asked | None = None, timezone: str) -> str:
    """One sentence in the chosen language for `error`, in the words of `t`."""
    asked = asked or Asked()
    code, reason = error.code, error.reason
    if code is ErrorCode.AUTH_FAILED:
        if reason == "account_disabled":
            return t("error.account_disabled")
        return t("error.auth_failed")
    if code is ErrorCode.ACCOUNT_LOCKED:
        if error.at is None:
            return t("error.account_locked_plain")
        return t("error.account_locked", time=local_time(error.at, timezone))
    if code is ErrorCode.RATE_LIMITED:
        if reason == "login_busy":
            return t("error.login_busy")
        if error.retry_after_seconds is None:
            return t("error.rate_limited_plain")
        key = "error.login_backoff" if reason == "login_backoff" else "error.rate_limited"
        return t(key, s=_seconds(error.retry_after_seconds))
    if code is ErrorCode.STAFF_ELSEWHERE:
        if error.window is None:
            return t("error.staff_elsewhere_plain")
        ticket_held = reason == "holds_ticket"
        key = "error.staff_elsewhere_ticket" if ticket_held else "error.staff_elsewhere"
        return t(key, window=error.window)
    if code is ErrorCode.WINDOW_TAKEN:
        window = error.window or asked.window
        if reason not in ("in_use", "holds_ticket") or window is None:
            return t("error.window_taken_plain")
        key = "error.window_taken_ticket" if reason == "holds_ticket" else "error.window_taken"
        return t(key, window=window, staff=error.staff_name or t("error.someone"))
    if code is ErrorCode.NOT_FOUND:
        if reason == "hall" and error.hall:
            return t("error.no_hall", hall=error.hall)
        if error.ticket or asked.ticket:
            return t("error.no_ticket", ticket=error.ticket or asked.ticket)
        if error.window or asked.window:
            return t("error.no_window", window=error.window or asked.window)
        if asked.category:
            return t("error.no_category", category=asked.category)
        return t("error.not_found")
    if code is ErrorCode.VERSION_MISMATCH:
        return t("error.version_mismatch")
    if code is ErrorCode.INVALID_STATE:
        if reason == "day_closed" and (error.ticket or asked.ticket):
            return t("error.day_closed", ticket=error.ticket or asked.ticket)
        if reason == "rated":
            return t("error.rated")
        if asked.cancelling and error.state and (error.ticket or asked.ticket):
            state = state_label(error.state, t)
            return t("error.cancel_not_waiting", ticket=error.ticket or asked.ticket, state=state)
        if error.state:
            return t("error.invalid_state", state=state_label(error.state, t))
        return t("error.invalid_state_plain")
    if code is ErrorCode.FORBIDDEN:
        if reason == "not_served_here":
            return t("error.not_served_here")
        if asked.ticket and not asked.cancelling:  # a ticket outside this window's profile
            return t("error.not_for_window", ticket=asked.ticket)
        return t("error.forbidden")
    if code is ErrorCode.QUEUE_EMPTY:
        return t("error.queue_empty")
    if code is ErrorCode.HALL_CLOSED:
        if reason == "past_closing" and error.at is not None:
            return t("error.past_closing", time=local_time(error.at, timezone))
        return t("error.hall_closed")
    if code is ErrorCode.CAPACITY_REACHED:
        return t("error.capacity_reached")
    if code is ErrorCode.BAD_REQUEST and reason == "hall_needed":
        return t("error.hall_needed", halls="、".join(error.halls or []))
    if code is ErrorCode.INTERNAL:
        return t("error.internal")
    return t("error.other", code=code.value)
