"""One command's unit of work over the hall state.

A handler reads the state through its `Work` and writes only into it: changed tickets,
windows, appointments, counters and hall fields wait here, events get their provisional
`seq`, service records and journal rows are collected. If the handler raises, the work is
dropped and the state is as it was. If it returns, `apply()` moves the changes into the
state (keeping the waiting queues, indices and figures in step) and hands the rows to the
batch's journal.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel
from sqlmodel import Session

from queue_protocol.codec import encode
from queue_protocol.errors import ErrorCode, ProtocolError
from queue_protocol.messages import (
    AuditEntry,
    CallView,
    TicketCalled,
    TicketRecalled,
    TicketState,
    TicketView,
    WindowChanged,
    WindowView,
)
from queue_server.domain.estimate import Staffing
from queue_server.domain.model import Category, Ticket
from queue_server.hall.state import (
    AlertLive,
    AppointmentLive,
    CaseLive,
    CaseStepLive,
    HallState,
    RatingLive,
    RecentCall,
    ServiceLive,
    TicketLive,
    WindowLive,
)

# A change the fast path cannot express (configuration imports, staff and devices): an ORM
# operation run inside the batch's transaction; the state is reloaded after the commit.
RawChange = Callable[[Session], None]

# The audit trail's reader (loading.audit): since, until, by, window, ticket id, limit.
AuditReader = Callable[
    [datetime | None, datetime | None, str | None, int | None, str | None, int],
    list[AuditEntry],
]

SERVED_OUTCOMES = frozenset({"done", "next_step", "chain_ended"})
TICKET_ID = re.compile(r"^\d{8}-[A-Z]{1,2}\d{3,}$")


@dataclass(frozen=True)
class Published:
    """An event as it goes on the wire, with what the hub routes it by."""

    seq: int
    name: str
    window: int | None  # the window it is about (display filters, windows' own events)
    zone: str | None
    text: str
    at: datetime | None = None
    also: int | None = None  # a second window it concerns (a transfer's named target)
    by: str | None = None  # the principal whose request made it (the audit trail)


@dataclass
class ServiceRecord:
    ticket: str
    day: str
    step: int
    step_name: str | None
    category: str
    window: int
    staff: str | None
    called_at: datetime
    started_at: datetime
    ended_at: datetime
    outcome: str

    def live(self) -> ServiceLive:
        """As the ratings area keeps it (what a rating is of)."""
        return ServiceLive(
            ticket=self.ticket,
            step=self.step,
            step_name=self.step_name,
            category=self.category,
            window=self.window,
            staff=self.staff,
            ended_at=self.ended_at,
            outcome=self.outcome,
        )


@dataclass
class Work:
    """What one command reads and changes."""

    state: HallState
    now: datetime
    tickets: dict[str, TicketLive] = field(default_factory=dict)
    windows: dict[int, WindowLive] = field(default_factory=dict)
    appointments: dict[str, AppointmentLive] = field(default_factory=dict)
    counters: dict[tuple[str, str], int] = field(default_factory=dict)
    hall: dict[str, Any] = field(default_factory=dict)  # notice, config_version, closed_out_at
    events: list[Published] = field(default_factory=list)
    calls: list[RecentCall] = field(default_factory=list)  # of those, the calls (for snapshots)
    services: list[ServiceRecord] = field(default_factory=list)
    raw: list[RawChange] = field(default_factory=list)
    touched: set[str] = field(default_factory=set)  # categories whose queue changed
    reload: bool = False  # the configuration changed: reload the state after the commit
    notes: list[str] = field(default_factory=list)  # logged once the work is committed
    request: tuple[tuple[str, str], str, str] | None = None  # (key, fingerprint, reply)
    alerts: dict[int, AlertLive] = field(default_factory=dict)  # raised, cleared, acknowledged
    paused: dict[str, str | None] = field(default_factory=dict)  # category -> issuing paused
    by: str | None = None  # the principal whose command this is (None: the server's own)
    ratings: dict[int, RatingLive] = field(default_factory=dict)  # given, or changed
    cases: dict[int, CaseLive] = field(default_factory=dict)  # opened, or moved on
    case_steps: list[CaseStepLive] = field(default_factory=list)
    # Reading what the live state does not hold: a ticket of an earlier day (by id), an
    # appointment of an earlier day (by code or by day). Set by the hall; None in tests.
    fetch_ticket: Callable[[str], TicketLive | None] | None = None
    fetch_appointment: Callable[[str], AppointmentLive | None] | None = None
    fetch_appointments: Callable[[date], list[AppointmentLive]] | None = None
    fetch_audit: AuditReader | None = None
    fetch_services: Callable[[str], list[ServiceLive]] | None = None  # an earlier ticket's
    fetch_cases: Callable[[list[int] | None], list[CaseLive]] | None = None
    fetch_ratings: Callable[[date, date, bool, int | None], list[RatingLive]] | None = None
    fetch_rating: Callable[[int], RatingLive | None] | None = None

    # -- reading (own changes first) ---------------------------------------------------

    @property
    def config(self) -> Any:
        return self.state.config

    @property
    def rules(self) -> Any:
        return self.state.config.rules

    def category(self, code: str) -> Category:
        category = self.state.config.categories.get(code)
        if category is None:
            known = ", ".join(self.state.config.categories)
            raise ProtocolError(
                ErrorCode.NOT_FOUND, f"no category {code!r} (known: {known})", reason="category"
            )
        return category

    def find_ticket(self, ref: str) -> TicketLive | None:
        """A ticket by id, or by today's number."""
        if ref in self.tickets:
            return self.tickets[ref]
        live = self.state.tickets.get(ref)
        if live is None:
            ticket_id = self.state.numbers.get(ref.upper())
            if ticket_id is not None:
                live = self.tickets.get(ticket_id) or self.state.tickets.get(ticket_id)
        if live is None and self.fetch_ticket is not None and TICKET_ID.match(ref):
            live = self.fetch_ticket(ref)
        return live

    def ticket(self, ref: str) -> TicketLive:
        live = self.find_ticket(ref)
        if live is None:
            raise ProtocolError(
                ErrorCode.NOT_FOUND, f"no ticket {ref!r}", reason="ticket", ticket=ref[:40]
            )
        return live

    def window(self, number: int) -> WindowLive:
        """The window, as this command may change it (a copy until applied)."""
        if number not in self.windows:
            live = self.state.windows.get(number)
            if live is None:
                raise ProtocolError(
                    ErrorCode.NOT_FOUND,
                    f"window {number} does not exist",
                    reason="window",
                    window=number,
                )
            self.windows[number] = live.copy()
        return self.windows[number]

    def capacity(self) -> Staffing:
        """The windows as the estimate counts them, with this command's changes."""
        if not self.windows:
            return self.state.capacity()
        return Staffing(w.capacity() for w in self.windows_now())

    def windows_now(self) -> list[WindowLive]:
        return [self.windows.get(n, w) for n, w in self.state.windows.items()]

    def appointment(self, code: str) -> AppointmentLive | None:
        if code in self.appointments:
            return self.appointments[code]
        live = self.state.appointments.get(code)
        return live.copy() if live is not None else None

    def alert(self, alert_id: int) -> AlertLive:
        """An open alert, as this command may change it (a copy until applied)."""
        if alert_id not in self.alerts:
            live = self.state.alerts.get(alert_id)
            if live is None:
                if 0 < alert_id <= self.state.last_alert:
                    raise ProtocolError(
                        ErrorCode.INVALID_STATE,
                        f"alert {alert_id} has cleared",
                        reason="cleared",
                        state="cleared",
                    )
                raise ProtocolError(ErrorCode.NOT_FOUND, f"no alert {alert_id}", reason="alert")
            self.alerts[alert_id] = live.copy()
        return self.alerts[alert_id]

    def next_alert_id(self) -> int:
        return max((self.state.last_alert, *self.alerts)) + 1

    def save_alert(self, alert: AlertLive) -> None:
        self.alerts[alert.id] = alert

    def next_rating_id(self) -> int:
        return max((self.state.ratings.last_rating, *self.ratings)) + 1

    def next_case_id(self) -> int:
        return max((self.state.ratings.last_case, *self.cases)) + 1

    def counter(self, day: str, category: str) -> int:
        key = (day, category)
        return self.counters.get(key, self.state.counters.get(key, 0))

    @property
    def last_seq(self) -> int:
        return self.state.last_seq + len(self.events)

    @property
    def closed_out_at(self) -> datetime | None:
        value: datetime | None = self.hall.get("closed_out_at", self.state.closed_out_at)
        return value

    @property
    def notice(self) -> str:
        value: str = self.hall.get("notice", self.state.notice)
        return value

    @property
    def config_version(self) -> int:
        value: int = self.hall.get("config_version", self.state.config_version)
        return value

    def staff_name(self, account: str | None) -> str:
        return self.state.config.staff_names.get(account or "", account or "?")

    # -- writing -----------------------------------------------------------------------

    def save(self, live: TicketLive, *, previous: Ticket | None = None) -> None:
        """Keep a ticket's new state; the queues it left or joined changed."""
        before = previous if previous is not None else self._stored(live.ticket.id)
        after = live.ticket
        if before is None or _place(before) != _place(after):
            for ticket in (before, after):
                if ticket is not None and ticket.state is TicketState.WAITING:
                    self.touched.add(ticket.category)
        self.tickets[after.id] = live

    def _stored(self, ticket_id: str) -> Ticket | None:
        live = self.state.tickets.get(ticket_id)
        return live.ticket if live is not None else None

    def note(self, line: str) -> None:
        """A line for the log, written once this work is committed."""
        self.notes.append(line)

    def save_window(self, window: WindowLive) -> None:
        before = self.state.windows.get(window.number)
        if before is None or (before.state, before.connected) != (window.state, window.connected):
            window.since = self.now
        self.windows[window.number] = window

    def save_appointment(self, appointment: AppointmentLive) -> None:
        self.appointments[appointment.code] = appointment

    def set_counter(self, day: str, category: str, value: int) -> None:
        self.counters[(day, category)] = value

    def record_service(self, served: Ticket, window: WindowLive, outcome: str) -> None:
        """One service of `served` (as it was while serving) at `window` ends now."""
        assert served.started_at is not None
        calls = len(served.call_times) - served.recall_count
        self.services.append(
            ServiceRecord(
                ticket=served.id,
                day=day_of(served.id),
                step=served.chain_step,
                step_name=served.step,
                category=served.category,
                window=window.number,
                staff=served.staff,
                called_at=served.call_times[calls - 1] if calls > 0 else served.started_at,
                started_at=served.started_at,
                ended_at=self.now,
                outcome=outcome,
            )
        )

    def emit(
        self,
        event_type: type[BaseModel],
        route: tuple[int | None, int | None] | None = None,
        **fields: Any,
    ) -> None:
        """An event with the next hall-wide seq; it is sent only after the commit. It is
        routed by the window it is about (its `window` field, or `route`) and that window's
        zone, for display filters and for the windows' own events (roles.py)."""
        seq = self.last_seq + 1
        event = event_type(seq=seq, at=self.now, by=self.by, **fields)
        name: str = getattr(event, "name")  # noqa: B009  (every event model has one)
        about = fields.get("window") if route is None else route[0]
        also = None if route is None else route[1]
        zone: str | None = fields.get("zone")
        window: int | None = None
        if isinstance(about, WindowView):
            window, zone = about.number, about.zone
        elif isinstance(about, int):
            window = about
            if zone is None:
                known = self.windows.get(about) or self.state.windows.get(about)
                zone = known.zone if known is not None else None
        self.events.append(
            Published(seq, name, window, zone, encode(event), self.now, also, self.by)
        )
        if isinstance(event, TicketCalled | TicketRecalled):
            self.calls.append(recent_call(event))

    def emit_window(self, window: WindowLive, reason: str | None = None) -> None:
        self.save_window(window)
        self.emit(WindowChanged, window=self.window_view(window), reason=reason)

    # -- views -----------------------------------------------------------------------------

    def window_view(self, window: WindowLive) -> WindowView:
        return WindowView(
            number=window.number,
            name=window.name,
            zone=window.zone,
            profile=list(window.profile),
            state=window.state,
            staff=window.staff,
            staff_name=self.staff_name(window.staff) if window.staff else None,
            pause_reason=window.pause_reason,
            ticket=window.ticket,
            ticket_number=self.ticket_number(window.ticket),
            connected=window.connected,
            since=window.since,
        )

    def ticket_number(self, ticket_id: str | None) -> str | None:
        if ticket_id is None:
            return None
        live = self.tickets.get(ticket_id) or self.state.tickets.get(ticket_id)
        return live.ticket.number if live is not None else None


def ticket_view(ticket: Ticket) -> TicketView:
    return TicketView(
        id=ticket.id,
        number=ticket.number,
        category=ticket.category,
        item=ticket.item,
        priority=ticket.priority,
        state=ticket.state,
        issued_at=ticket.issued_at,
        queued_at=ticket.queue_time,
        call_times=list(ticket.call_times),
        started_at=ticket.started_at,
        finished_at=ticket.finished_at,
        no_show_at=ticket.no_show_at,
        window=ticket.window,
        staff=ticket.staff,
        recall_count=ticket.recall_count,
        transfers=list(ticket.transfers),
        chain_step=ticket.chain_step,
        steps=ticket.steps,
        step=ticket.step,
        target_window=ticket.target_window,
        appointment_at=ticket.appointment_at,
    )


def recent_call(event: TicketCalled | TicketRecalled) -> RecentCall:
    """A call event as the displays' snapshot lists it."""
    ticket = event.ticket
    view = CallView(
        seq=event.seq,
        at=event.at,
        ticket=ticket.id,
        number=ticket.number,
        category=ticket.category,
        window=event.window,
        window_name=event.window_name,
        zone=event.zone,
        recall=isinstance(event, TicketRecalled),
        chain_step=ticket.chain_step,
        steps=ticket.steps,
        step=ticket.step,
    )
    return RecentCall(view, view.window, view.zone)


def _place(ticket: Ticket) -> tuple[object, ...] | None:
    """Where a ticket stands in the waiting queues (None: not waiting)."""
    if ticket.state is not TicketState.WAITING:
        return None
    return (ticket.category, ticket.priority, ticket.target_window, ticket.queue_time)


def day_of(ticket_id: str) -> str:
    """The hall-local date of a ticket, from its id (20261125-A001 -> 2026-11-25)."""
    raw = ticket_id.split("-", 1)[0]
    return f"{raw[:4]}-{raw[4:6]}-{raw[6:]}"
