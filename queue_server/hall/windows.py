"""Windows: log in, pause, resume, close; and windows whose client went away (SPEC §3).

A window without a connected client counts as no capacity (estimates) once it has been gone
a short while, and is closed after `window_offline_minutes`; a called ticket then goes back
to the queue at its old place. One staff account works at one window unless the hall
allows more (`staff_multiple_windows`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from queue_protocol.errors import ErrorCode, ProtocolError
from queue_protocol.messages import (
    CloseWindow,
    Hello,
    HelloReply,
    LoginRefused,
    PauseWindow,
    ResumeWindow,
    Role,
    SessionOpened,
    TicketRequeued,
    TicketState,
    WindowReply,
    WindowState,
    WindowView,
)
from queue_server.domain import tickets as rules
from queue_server.hall import views
from queue_server.hall.calling import acting_window
from queue_server.hall.state import WindowLive
from queue_server.hall.tickets import save
from queue_server.hall.work import Work, ticket_view
from queue_server.roles import Principal

log = logging.getLogger(__name__)


def log_in(
    w: Work,
    p: Principal,
    hello: Hello,
    *,
    takeover: bool,
    live_windows: frozenset[int],
    address: str = "",
) -> Callable[[], HelloReply]:
    """A hello: a window's staff member takes the window (unless someone else is working
    there); every role gets the snapshot, built once this login is part of the state.

    `takeover` is true when no live connection holds the window, so the window may pass to
    another staff member; the same member reconnecting keeps the ticket in hand.
    `live_windows` are the windows with a connected client now; `address` the client's.
    The login is in the audit (`session_opened`)."""
    if p.role is Role.WINDOW:
        assert p.window is not None
        window = w.window(p.window)
        if window.staff not in (None, p.staff):
            holder = w.staff_name(window.staff)
            if not takeover and window.state is not WindowState.CLOSED:
                raise ProtocolError(
                    ErrorCode.WINDOW_TAKEN,
                    f"window {window.number} is in use by {holder}",
                    reason="in_use",
                    window=window.number,
                    staff_name=holder,
                )
            if window.ticket is not None:
                raise ProtocolError(
                    ErrorCode.WINDOW_TAKEN,
                    f"window {window.number} still holds a ticket of {holder}; "
                    "a supervisor must close it",
                    reason="holds_ticket",
                    window=window.number,
                    staff_name=holder,
                )
        if not w.rules.staff_multiple_windows:
            _leave_other_windows(w, p, live_windows)
        if window.staff != p.staff or window.state is WindowState.CLOSED or not window.connected:
            window.staff = p.staff
            window.connected = True
            if window.state is WindowState.CLOSED:
                window.state, window.pause_reason = WindowState.IDLE, None
            w.emit_window(window)
            w.touched.update(w.config.categories)  # capacity changed

    w.emit(
        SessionOpened,
        route=(p.window, None),
        role=p.role,
        window=p.window,
        address=address,
        client=hello.client,
    )

    def reply() -> HelloReply:
        return HelloReply(
            re=hello.id,
            role=p.role,
            window=p.window,
            staff_name=p.staff_name,
            device=p.device,
            snapshot=views.snapshot(w, p),
        )

    return reply


def _leave_other_windows(w: Work, p: Principal, live_windows: frozenset[int]) -> None:
    """The member's other windows: refuse while one is connected or holds a ticket, else
    close it (the member moved)."""
    for other in w.windows_now():
        if other.staff != p.staff or other.number == p.window:
            continue
        if other.state is WindowState.CLOSED:
            continue
        if other.number in live_windows or other.ticket is not None:
            raise ProtocolError(
                ErrorCode.STAFF_ELSEWHERE,
                f"{p.staff} is logged in at window {other.number}; close it there first",
                reason="holds_ticket" if other.ticket is not None else "connected",
                window=other.number,
            )
        moved = w.window(other.number)
        moved.state, moved.staff, moved.pause_reason, moved.connected = (
            WindowState.CLOSED,
            None,
            None,
            False,
        )
        w.emit_window(moved, reason="moved")


def pause_window(w: Work, p: Principal, r: PauseWindow) -> WindowReply:
    window = acting_window(w, p, r.window, need=WindowState.IDLE, doing="pause")
    window.state, window.pause_reason = WindowState.PAUSED, r.reason
    w.emit_window(window)
    return WindowReply(re=r.id, window=w.window_view(window))


def resume_window(w: Work, p: Principal, r: ResumeWindow) -> WindowReply:
    window = acting_window(w, p, r.window, need=WindowState.PAUSED, doing="resume")
    window.state, window.pause_reason = WindowState.IDLE, None
    w.emit_window(window)
    return WindowReply(re=r.id, window=w.window_view(window))


def close_window(w: Work, p: Principal, r: CloseWindow) -> WindowReply:
    if p.role is Role.ADMIN:  # for the hall: a ghost, or a member who left
        if r.window is None:
            raise ProtocolError(ErrorCode.BAD_REQUEST, "say which window: field 'window'")
        view = close_now(w, r.window, requeue=r.requeue)
        return WindowReply(re=r.id, window=view)
    window = acting_window(w, p, r.window, need=None, doing="close")
    if window.state not in (WindowState.IDLE, WindowState.PAUSED):
        raise ProtocolError(
            ErrorCode.INVALID_STATE,
            f"window {window.number} is {window.state.value}; finish or hand over its ticket first",
            state=window.state.value,
            window=window.number,
        )
    window.state, window.staff, window.pause_reason = WindowState.CLOSED, None, None
    window.connected = False
    w.emit_window(window)
    w.touched.update(w.config.categories)  # capacity changed
    return WindowReply(re=r.id, window=w.window_view(window))


def refused_login(w: Work, hello: Hello, address: str, error: ProtocolError) -> None:
    """A hello refused for its credentials, in the audit (`by`: the account it tried)."""
    w.by = f"staff:{hello.user[:64]}" if hello.user else None
    w.emit(  # each event takes the `by` of the moment it is made
        LoginRefused,
        route=(None, None),
        role=hello.role,
        window=hello.window,
        address=address,
        code=error.code,
        reason=error.details.get("reason"),
    )


# -- windows without their client (ghosts) ------------------------------------------------


def disconnected(w: Work, number: int) -> None:
    """The window's last client connection has been gone a short while: it no longer
    counts as capacity, and displays and supervisors see it offline."""
    window = w.state.windows.get(number)
    if window is not None and window.connected:
        changed = w.window(number)
        changed.connected = False
        w.emit_window(changed, reason="offline")
        w.touched.update(w.config.categories)


def all_disconnected(w: Work) -> None:
    """At server start no window has a client yet."""
    for number, window in sorted(w.state.windows.items()):
        if window.connected:
            disconnected(w, number)


def close_offline(w: Work, number: int) -> None:
    """A window whose client has been gone `window_offline_minutes`: closed, its called
    ticket back in the queue at its old place. A window in the middle of a service stays
    (offline) until its staff member returns or a supervisor closes it."""
    window = w.state.windows.get(number)
    if window is None or window.state in (WindowState.CLOSED, WindowState.SERVING):
        return
    close(w, w.window(number), reason="offline")
    w.note(f"window {number} closed: its client has been gone too long")


def close_now(w: Work, number: int, *, requeue: bool) -> WindowView:
    """`queue-server window close N`: a supervisor closes a window (its client gone, or the
    member left). A called ticket goes back to the queue; a ticket being served only with
    `requeue`."""
    window = w.window(number)
    if window.state is WindowState.SERVING and not requeue:
        raise ProtocolError(
            ErrorCode.INVALID_STATE,
            f"window {number} is serving {window.ticket}; let its staff finish, or close it"
            " with --requeue to put the ticket back in the queue",
            state=window.state.value,
            window=number,
        )
    if window.state is not WindowState.CLOSED or window.staff is not None:
        close(w, window, reason="closed_by_supervisor")
    return w.window_view(window)


def close(w: Work, window: WindowLive, *, reason: str) -> None:
    """Close a window without its staff; the ticket it held goes back to the queue."""
    if window.ticket is not None:
        live = w.ticket(window.ticket)
        if live.ticket.state in (TicketState.CALLED, TicketState.SERVING):
            back = rules.requeue(live.ticket)
            save(w, live, back)
            w.emit(TicketRequeued, ticket=ticket_view(back), window=window.number, reason=reason)
    window.state, window.staff, window.ticket, window.pause_reason = (
        WindowState.CLOSED,
        None,
        None,
        None,
    )
    window.connected = False
    w.emit_window(window, reason=reason)
    w.touched.update(w.config.categories)


def open_windows(w: Work) -> list[int]:
    """Windows that are not closed (the server watches their connections)."""
    return [
        n for n, window in sorted(w.state.windows.items()) if window.state is not WindowState.CLOSED
    ]
