"""Commands -> state change + events, in one transaction each (SPEC §3, §5, §7).

The service is synchronous and runs on one worker thread of the server; the reply and
the events of a command leave only after its transaction has committed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Engine, func, or_, update
from sqlmodel import Session, col, select

from queue_protocol.codec import encode
from queue_protocol.errors import ErrorCode, ProtocolError
from queue_protocol.messages import (
    AnyRequest,
    AppointmentListReply,
    AppointmentReply,
    AppointmentView,
    BookAppointment,
    CallNext,
    CallTicket,
    CallView,
    CancelAppointment,
    CancelTicket,
    CategoryView,
    CheckIn,
    CheckInReply,
    CloseWindow,
    ConfigChanged,
    ConfigReply,
    DayClosed,
    DaySummary,
    EndChain,
    ErrorReply,
    FinishService,
    GetSnapshot,
    HallView,
    Hello,
    HelloReply,
    IssueTicket,
    ListAppointments,
    MarkNoShow,
    PauseWindow,
    Priority,
    QueueChanged,
    QueueStat,
    Rate,
    Recall,
    Reinstate,
    ResumeWindow,
    Role,
    ServiceFinished,
    ServiceItemView,
    ServiceStarted,
    SetNotice,
    SetWindowProfile,
    Snapshot,
    SnapshotReply,
    StaffRole,
    StartService,
    TicketCalled,
    TicketCancelled,
    TicketExpired,
    TicketIssued,
    TicketNoShow,
    TicketRecalled,
    TicketReinstated,
    TicketReply,
    TicketRequeued,
    TicketState,
    TicketStatus,
    TicketTransferred,
    TicketView,
    TransferTicket,
    WindowChanged,
    WindowReply,
    WindowStat,
    WindowState,
    WindowView,
)
from queue_server import appointments, hallconfig, security
from queue_server.clock import Clock, utc_now
from queue_server.domain import day, scheduling
from queue_server.domain import tickets as rules
from queue_server.domain.estimate import estimate_wait_minutes
from queue_server.domain.model import Category, ServiceItem, Ticket, Window
from queue_server.domain.numbering import ticket_id, ticket_number
from queue_server.hallconfig import HallConfig, live_window_of, load_config, window_of
from queue_server.store.tables import (
    AppointmentRow,
    DeviceRow,
    EventRow,
    HallRow,
    NumberCounterRow,
    RequestRow,
    ServiceRow,
    StaffRow,
    TicketRow,
    WindowRow,
)

log = logging.getLogger(__name__)


CALL_EVENTS = frozenset({"ticket_called", "ticket_recalled"})
# What each role is sent; windows and supervisors see every event.
VISIBLE_EVENTS: dict[Role, frozenset[str] | None] = {
    Role.DISPLAY: frozenset(
        {
            *CALL_EVENTS,
            "ticket_requeued",  # a called ticket whose window went away: no longer called
            "window_changed",
            "queue_changed",
            "config_changed",
            "day_closed",
        }
    ),
    Role.KIOSK: frozenset({"queue_changed", "config_changed", "day_closed"}),
    Role.WINDOW: None,
    Role.ADMIN: None,
}
# Who may send each verb (hello is handled before a principal exists).
VERB_ROLES: dict[str, frozenset[Role]] = {
    "issue_ticket": frozenset({Role.KIOSK, Role.ADMIN}),
    # Not kiosks: a ticket number is no secret, so a kiosk could cancel anyone's ticket.
    "cancel_ticket": frozenset({Role.WINDOW, Role.ADMIN}),
    "ticket_status": frozenset(Role),
    "snapshot": frozenset(Role),
    "call_next": frozenset({Role.WINDOW, Role.ADMIN}),
    "call_ticket": frozenset({Role.WINDOW, Role.ADMIN}),
    "recall": frozenset({Role.WINDOW, Role.ADMIN}),
    "start_service": frozenset({Role.WINDOW, Role.ADMIN}),
    "finish_service": frozenset({Role.WINDOW, Role.ADMIN}),
    "end_chain": frozenset({Role.WINDOW, Role.ADMIN}),
    "mark_no_show": frozenset({Role.WINDOW, Role.ADMIN}),
    "reinstate": frozenset({Role.WINDOW, Role.ADMIN}),
    "transfer": frozenset({Role.WINDOW, Role.ADMIN}),
    "pause_window": frozenset({Role.WINDOW, Role.ADMIN}),
    "resume_window": frozenset({Role.WINDOW, Role.ADMIN}),
    "close_window": frozenset({Role.WINDOW, Role.ADMIN}),
    "book_appointment": frozenset({Role.KIOSK, Role.ADMIN}),
    "check_in": frozenset({Role.KIOSK, Role.ADMIN}),
    "cancel_appointment": frozenset({Role.KIOSK, Role.ADMIN}),
    "list_appointments": frozenset({Role.ADMIN}),
    "rate": frozenset({Role.KIOSK, Role.WINDOW, Role.ADMIN}),
    "set_window_profile": frozenset({Role.ADMIN}),
    "set_notice": frozenset({Role.ADMIN}),
}
READ_ONLY_VERBS = frozenset({"ticket_status", "snapshot", "list_appointments"})
TICKET_ID = re.compile(r"^\d{8}-[A-Z]{1,2}\d{3,}$")
# Service outcomes that count as served at the window (a transfer passes the citizen on).
SERVED_OUTCOMES = ("done", "next_step", "chain_ended")
RECENT_CALLS = 8
SERVICE_TIME_SAMPLE = 20


@dataclass(frozen=True)
class Principal:
    """Who is on the other end of a connection, as established by `hello`."""

    role: Role
    key: str  # namespace of request ids, e.g. "staff:zhangwei" or "device:大厅主屏"
    staff: str | None = None
    staff_name: str | None = None
    staff_role: StaffRole | None = None
    window: int | None = None
    device: str | None = None
    zone: str | None = None  # display filter
    windows: frozenset[int] = frozenset()  # display filter; empty = every window

    def may_see(self, name: str, window: int | None, zone: str | None) -> bool:
        visible = VISIBLE_EVENTS[self.role]
        if visible is not None and name not in visible:
            return False
        if self.role is Role.DISPLAY and name in CALL_EVENTS | {
            "window_changed",
            "ticket_requeued",
        }:
            if self.zone is not None and zone != self.zone:
                return False
            if self.windows and window not in self.windows:
                return False
        return True


@dataclass(frozen=True)
class Published:
    """A committed event as it goes on the wire."""

    seq: int
    name: str
    window: int | None
    zone: str | None
    text: str


@dataclass
class Outcome:
    reply: str  # the reply frame (ok or error)
    events: list[Published] = field(default_factory=list)
    error: ErrorCode | None = None  # the code of an error reply

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class _Tx:
    """One command's transaction: the session, its clock reading and the events it emits."""

    session: Session
    now: datetime
    config: HallConfig
    hall: HallRow
    events: list[Published] = field(default_factory=list)
    touched: set[str] = field(default_factory=set)  # categories whose queue changed
    # Read once per command: the estimate needs them for every category it reports.
    service_minutes: dict[str, float] = field(default_factory=dict)
    closed_out: tuple[datetime, int] | None = None  # a close-out done here: moment, expired

    def emit(self, event_type: type[BaseModel], **fields: Any) -> None:
        """Append an event with the next hall-wide seq; it is sent only after the commit."""
        self.hall.last_seq += 1
        event = event_type(seq=self.hall.last_seq, at=self.now, **fields)
        text = encode(event)
        name: str = getattr(event, "name")  # noqa: B009  (every event model has one)
        # Routing for display filters: the window an event is about and that window's zone.
        about = fields.get("window")
        zone: str | None = fields.get("zone")
        window: int | None = None
        if isinstance(about, WindowView):
            window, zone = about.number, about.zone
        elif isinstance(about, int):
            window = about
            if zone is None:
                row = self.session.get(WindowRow, about)
                zone = row.zone if row is not None else None
        self.session.add(
            EventRow(
                seq=self.hall.last_seq,
                at=self.now,
                name=name,
                payload=text,
                window=window,
                zone=zone,
            )
        )
        self.events.append(Published(self.hall.last_seq, name, window, zone, text))


class HallService:
    def __init__(self, engine: Engine, clock: Clock = utc_now) -> None:
        self.engine = engine
        self.clock = clock
        self._config: HallConfig | None = None
        self._closed_out_at: datetime | None = None  # as of the last transaction

    # -- transactions -----------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[_Tx]:
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            hall = session.get(HallRow, 1)
            if hall is None:
                raise ProtocolError(ErrorCode.INTERNAL, "the hall is not configured")
            if self._config is None or self._config.version != hall.config_version:
                self._config = load_config(session)
            tx = _Tx(session=session, now=self.clock(), config=self._config, hall=hall)
            # Before anything else: a command never sees another day's open tickets.
            owed = self._close_out_owed(tx.config, hall.closed_out_at, tx.now)
            if owed is not None:
                self._close_out(tx, owed)
            yield tx
            if tx.touched:
                tx.emit(QueueChanged, queues=self._queue_stats(tx, tx.touched))
            session.add(hall)
        self._closed_out_at = hall.closed_out_at
        if tx.closed_out is not None:  # logged once committed
            moment, expired = tx.closed_out
            log.info("day close-out at %s: %d tickets expired", moment.isoformat(), expired)

    def config(self) -> HallConfig:
        with self._transaction() as tx:
            return tx.config

    @property
    def cached_config(self) -> HallConfig | None:
        """The configuration as of the last transaction (no database work)."""
        return self._config

    # -- the day's close-out (domain.day) ---------------------------------------------

    @staticmethod
    def _close_out_owed(
        config: HallConfig, closed_out_at: datetime | None, now: datetime
    ) -> datetime | None:
        moment = day.due(config.rules, now)
        return moment if closed_out_at is None or moment > closed_out_at else None

    def close_out_if_due(self) -> Outcome:
        """Carry out a close-out that is owed (the server asks a few times a second and at
        start-up); idempotent. Costs no database work when none is owed."""
        config = self._config
        if (
            config is not None
            and self._closed_out_at is not None
            and self._close_out_owed(config, self._closed_out_at, self.clock()) is None
        ):
            return Outcome("")
        with self._transaction() as tx:
            return Outcome("", tx.events)

    def _close_out(self, tx: _Tx, moment: datetime) -> None:
        """Expire every ticket issued before `moment` that is still open, mark unkept
        appointments missed, close every window, and record a day_closed event per day."""
        rules_ = tx.config.rules
        previous = tx.hall.closed_out_at
        open_rows = tx.session.exec(
            select(TicketRow)
            .where(
                col(TicketRow.state).in_([s.value for s in rules.OPEN_STATES]),
                col(TicketRow.issued_at) < moment,
            )
            .order_by(col(TicketRow.queued_at), col(TicketRow.id))
        ).all()
        # The day this moment closes, unless an earlier close-out closed it already (a 19:00
        # close-out, then midnight): then only days with tickets expiring now are reported.
        closing = day.day_closed_by(moment, rules_).isoformat()
        already = previous is not None and day.day_closed_by(previous, rules_).isoformat()
        days = set() if closing == already else {closing}
        for row in open_rows:
            expired = rules.expire(_ticket_of(row), at=moment)
            self._save(tx, expired)
            tx.touched.add(expired.category)
            tx.emit(TicketExpired, ticket=self._view(expired))
            days.add(row.day)
        missed = tx.session.exec(
            select(AppointmentRow).where(
                AppointmentRow.state == appointments.BOOKED, col(AppointmentRow.slot_at) < moment
            )
        ).all()
        for appointment in missed:
            appointment.state = appointments.MISSED
            tx.session.add(appointment)
            days.add(appointment.day)
        for window in tx.session.exec(select(WindowRow).order_by(col(WindowRow.number))).all():
            if window.state != WindowState.CLOSED or window.staff is not None:
                window.state, window.staff, window.ticket = WindowState.CLOSED, None, None
                window.pause_reason, window.connected = None, False
                self._window_changed(tx, window, reason="day_closed")
        tx.hall.closed_out_at = moment
        tx.closed_out = (moment, len(open_rows))
        if previous is None and not open_rows and not missed:
            return  # a new hall: nothing of an earlier day to close
        for closed in sorted(days):
            tx.emit(
                DayClosed,
                day=date.fromisoformat(closed),
                closed_at=moment,
                summary=self._day_summary(tx, closed),
            )

    def _day_summary(self, tx: _Tx, day_: str) -> DaySummary:
        counts = dict(
            tx.session.exec(
                select(TicketRow.state, func.count())
                .where(TicketRow.day == day_)
                .group_by(TicketRow.state)
            ).all()
        )
        missed = tx.session.exec(
            select(func.count())
            .select_from(AppointmentRow)
            .where(AppointmentRow.day == day_, AppointmentRow.state == appointments.MISSED)
        ).one()
        return DaySummary(
            issued=sum(counts.values()),
            done=counts.get(TicketState.DONE, 0),
            no_show=counts.get(TicketState.NO_SHOW, 0),
            cancelled=counts.get(TicketState.CANCELLED, 0),
            expired=counts.get(TicketState.EXPIRED, 0),
            appointments_missed=int(missed),
        )

    def last_seq(self) -> int:
        with Session(self.engine) as session:
            return int(session.exec(select(func.max(EventRow.seq))).one() or 0)

    # -- hello ------------------------------------------------------------------------

    def open_session(
        self,
        p: Principal,
        hello: Hello,
        *,
        takeover: bool,
        live_windows: frozenset[int] = frozenset(),
    ) -> Outcome:
        """Log a window in (unless someone else is working there) and build the snapshot.

        `takeover` is true when no live connection holds the window, so the window may pass
        to another staff member; the same member reconnecting keeps the ticket in hand.
        `live_windows` are the windows with a connected client now: one account works at one
        window (unless the hall allows more), so a login elsewhere is refused while the other
        window is connected or holds a ticket, and otherwise closes it (the member moved).
        """
        with self._transaction() as tx:
            if p.role is Role.WINDOW:
                assert p.window is not None
                row = self._window_row(tx, p.window)
                if row.staff not in (None, p.staff):
                    holder = self._staff_name(tx, row.staff)
                    if not takeover and row.state != WindowState.CLOSED:
                        raise ProtocolError(
                            ErrorCode.WINDOW_TAKEN,
                            f"window {row.number} is in use by {holder}",
                            reason="in_use",
                            window=row.number,
                            staff_name=holder,
                        )
                    if row.ticket is not None:
                        raise ProtocolError(
                            ErrorCode.WINDOW_TAKEN,
                            f"window {row.number} still holds a ticket of {holder}; "
                            "a supervisor must close it",
                            reason="holds_ticket",
                            window=row.number,
                            staff_name=holder,
                        )
                if not tx.config.rules.staff_multiple_windows:
                    self._leave_other_windows(tx, p, live_windows)
                if row.staff != p.staff or row.state == WindowState.CLOSED or not row.connected:
                    row.staff = p.staff
                    row.connected = True
                    if row.state == WindowState.CLOSED:
                        row.state = WindowState.IDLE
                        row.pause_reason = None
                    self._window_changed(tx, row)
                    tx.touched.update(tx.config.categories)  # capacity changed
            reply = HelloReply(
                re=hello.id,
                role=p.role,
                window=p.window,
                staff_name=p.staff_name,
                device=p.device,
                snapshot=self._snapshot(tx, p),
            )
            return Outcome(encode(reply), tx.events)

    def _leave_other_windows(self, tx: _Tx, p: Principal, live_windows: frozenset[int]) -> None:
        """The member's other windows: refuse while one is connected or holds a ticket,
        else close it."""
        others = tx.session.exec(
            select(WindowRow).where(
                WindowRow.staff == p.staff,
                WindowRow.number != p.window,
                WindowRow.state != WindowState.CLOSED,
            )
        ).all()
        for other in others:
            if other.number in live_windows or other.ticket is not None:
                raise ProtocolError(
                    ErrorCode.STAFF_ELSEWHERE,
                    f"{p.staff} is logged in at window {other.number}; close it there first",
                    reason="holds_ticket" if other.ticket is not None else "connected",
                    window=other.number,
                )
            other.state, other.staff, other.pause_reason, other.connected = (
                WindowState.CLOSED,
                None,
                None,
                False,
            )
            self._window_changed(tx, other, reason="moved")

    # -- windows without their client (ghosts) -----------------------------------------

    def window_disconnected(self, number: int) -> Outcome:
        """The window's last client connection has been gone a short while: it no longer
        counts as capacity (estimates), and displays and supervisors see it offline."""
        with self._transaction() as tx:
            row = tx.session.get(WindowRow, number)
            if row is not None and row.connected:
                row.connected = False
                self._window_changed(tx, row, reason="offline")
                tx.touched.update(tx.config.categories)
            return Outcome("", tx.events)

    def windows_disconnected(self) -> Outcome:
        """At server start no window has a client yet."""
        with self._transaction() as tx:
            for row in tx.session.exec(select(WindowRow).where(col(WindowRow.connected))).all():
                row.connected = False
                self._window_changed(tx, row, reason="offline")
                tx.touched.update(tx.config.categories)
            return Outcome("", tx.events)

    def open_windows(self) -> list[int]:
        """Windows that are not closed (the server watches their connections)."""
        with self._transaction() as tx:
            return list(
                tx.session.exec(
                    select(WindowRow.number).where(WindowRow.state != WindowState.CLOSED)
                ).all()
            )

    def close_offline_window(self, number: int) -> Outcome:
        """A window whose client has been gone `window_offline_minutes`: closed, its called
        ticket back in the queue at its old place. A window in the middle of a service stays
        (offline) until its staff member returns or a supervisor closes it."""
        with self._transaction() as tx:
            row = tx.session.get(WindowRow, number)
            if row is None or row.state in (WindowState.CLOSED, WindowState.SERVING):
                return Outcome("", tx.events)
            self._close(tx, row, reason="offline", requeue=True)
            log.info("window %d closed: its client has been gone too long", number)
            return Outcome("", tx.events)

    def close_window_now(self, number: int, *, requeue: bool) -> WindowView:
        """`queue-server window close N`: a supervisor closes a window (its client gone, or
        the member left). A called ticket goes back to the queue; a ticket being served only
        with `requeue`, else the window is left as it is."""
        with self._transaction() as tx:
            row = self._window_row(tx, number)
            if row.state == WindowState.SERVING and not requeue:
                raise ProtocolError(
                    ErrorCode.INVALID_STATE,
                    f"window {number} is serving {row.ticket}; let its staff finish, or "
                    "close it with --requeue to put the ticket back in the queue",
                    state=row.state,
                    window=number,
                )
            if row.state != WindowState.CLOSED or row.staff is not None:
                self._close(tx, row, reason="closed_by_supervisor", requeue=True)
            return self._window_view(tx, row)

    def _close(self, tx: _Tx, row: WindowRow, *, reason: str, requeue: bool) -> None:
        if row.ticket is not None and requeue:
            back = rules.requeue(self._ticket(tx, row.ticket))
            self._save(tx, back)
            tx.emit(TicketRequeued, ticket=self._view(back), window=row.number, reason=reason)
        row.state, row.staff, row.ticket, row.pause_reason = WindowState.CLOSED, None, None, None
        row.connected = False
        self._window_changed(tx, row, reason=reason)
        tx.touched.update(tx.config.categories)

    # -- dispatch ---------------------------------------------------------------------

    def execute(self, p: Principal, request: AnyRequest) -> Outcome:
        """Carry out one request; an error leaves the database exactly as it was."""
        verb = request.type
        try:
            if verb == "hello":
                raise ProtocolError(ErrorCode.ALREADY_AUTHENTICATED, "hello was already sent")
            if p.role not in VERB_ROLES[verb]:
                raise ProtocolError(ErrorCode.FORBIDDEN, f"role {p.role.value} may not {verb}")
            handler = getattr(self, f"_do_{verb}", None)
            if handler is None:
                raise ProtocolError(
                    ErrorCode.NOT_SUPPORTED, f"{verb} is not offered by this server yet"
                )
            if verb in READ_ONLY_VERBS:
                with self._transaction() as tx:
                    self._check_still_allowed(tx, p)
                    return Outcome(encode(handler(tx, p, request)), tx.events)
            fingerprint = hashlib.sha256(request.model_dump_json().encode()).hexdigest()
            with self._transaction() as tx:
                self._check_still_allowed(tx, p)
                logged = tx.session.get(RequestRow, (p.key, request.id))
                if logged is not None:
                    if logged.fingerprint != fingerprint:
                        raise ProtocolError(
                            ErrorCode.ID_REUSED,
                            f"request id {request.id!r} was used for another request",
                        )
                    return Outcome(logged.reply)
                # The reply is kept whole for REQUEST_LOG_DAYS, a slip's secret included: a
                # retried issue_ticket must get the identical answer (its first never
                # arrived, so nothing was printed).
                reply = encode(handler(tx, p, request))
                tx.session.add(
                    RequestRow(
                        principal=p.key,
                        request_id=request.id,
                        fingerprint=fingerprint,
                        reply=reply,
                        at=tx.now,
                    )
                )
            return Outcome(reply, tx.events)
        except ProtocolError as exc:
            return Outcome(
                encode(
                    ErrorReply(re=request.id, code=exc.code, message=exc.message, **exc.details)
                ),
                error=exc.code,
            )

    def still_allowed(self, principals: list[Principal]) -> list[bool]:
        """For each principal: is its device token or staff account still valid?"""
        with Session(self.engine) as session:
            devices = {d.name: d for d in session.exec(select(DeviceRow)).all()}
            staff = {s.account: s for s in session.exec(select(StaffRow)).all()}
        return [
            _credentials_valid(p, devices.get(p.device or ""), staff.get(p.staff or ""))
            for p in principals
        ]

    def _check_still_allowed(self, tx: _Tx, p: Principal) -> None:
        """A revoked device or a disabled account loses its live connections too."""
        device = tx.session.get(DeviceRow, p.device) if p.device else None
        staff = tx.session.get(StaffRow, p.staff) if p.staff else None
        if not _credentials_valid(p, device, staff):
            what = "this device's token was revoked" if p.device else f"{p.staff} was disabled"
            raise ProtocolError(ErrorCode.AUTH_FAILED, what)

    def release(self, p: Principal) -> None:
        """Nothing to undo when a connection ends: a window keeps its state so that its staff
        member can reconnect and carry on; `close_window` is the explicit log-out."""

    # -- tickets ----------------------------------------------------------------------

    def _do_issue_ticket(self, tx: _Tx, p: Principal, r: IssueTicket) -> TicketReply:
        category = self._category(tx, r.category)
        self._item(tx, category, r.item)
        if r.priority is Priority.APPOINTMENT:
            raise ProtocolError(
                ErrorCode.BAD_REQUEST, "appointment tickets come from check_in with a booking code"
            )
        rules_ = tx.config.rules
        if not rules_.is_open(tx.now):
            raise ProtocolError(
                ErrorCode.HALL_CLOSED, f"{rules_.name} is closed now", reason="closed_now"
            )
        ticket = self._number_ticket(tx, category, priority=r.priority, item=r.item)
        ahead, estimate = self._position(tx, ticket)
        closing = rules_.closing_time(tx.now)
        if closing is not None and tx.now + timedelta(minutes=estimate) > closing:
            raise ProtocolError(
                ErrorCode.HALL_CLOSED,
                f"the expected wait ({estimate:.0f} min) runs past closing time "
                f"{closing:%H:%M}; please come back tomorrow",
                reason="past_closing",
                at=closing.astimezone(UTC),
                estimated_wait_minutes=estimate,
            )
        secret = self._save_new(tx, ticket)
        tx.emit(TicketIssued, ticket=self._view(ticket))
        return TicketReply(
            re=r.id,
            ticket=self._view(ticket),
            people_ahead=ahead,
            estimated_wait_minutes=estimate,
            secret=secret,
        )

    def _item(self, tx: _Tx, category: Category, name: str | None) -> ServiceItem | None:
        if name is None:
            return None
        item = tx.config.items.get(name)
        if item is None or item.category != category.code:
            raise ProtocolError(
                ErrorCode.NOT_FOUND,
                f"no service item {name!r} in category {category.code}",
                reason="item",
            )
        return item

    def _save_new(self, tx: _Tx, ticket: Ticket) -> str:
        """Write a new ticket with a fresh secret for its slip; returns the secret (kept only
        as a hash: it is the citizen's proof of holding the slip)."""
        secret = security.new_ticket_secret()
        self._save(tx, ticket, new=True, secret_hash=security.hash_token(secret))
        return secret

    def _number_ticket(
        self,
        tx: _Tx,
        category: Category,
        *,
        priority: Priority,
        item: str | None,
        appointment_at: datetime | None = None,
        enforce_capacity: bool = True,
    ) -> Ticket:
        """A new ticket with the next number of its category for the hall's local day.

        The counter row is written in the command's transaction, so a number is never
        handed out twice, even by two server processes sharing the database."""
        day = tx.config.rules.local_day(tx.now)
        counter = tx.session.get(NumberCounterRow, (day.isoformat(), category.code))
        if counter is None:
            counter = NumberCounterRow(day=day.isoformat(), category=category.code, last=0)
        capacity = category.daily_capacity
        if enforce_capacity and capacity is not None and counter.last >= capacity:
            raise ProtocolError(
                ErrorCode.CAPACITY_REACHED,
                f"{category.name} has issued its {capacity} tickets for today",
                reason="daily_capacity",
            )
        counter.last += 1
        tx.session.add(counter)
        number = ticket_number(category.prefix, counter.last)
        service_item = tx.config.items.get(item) if item else None
        return rules.issue(
            ticket_id=ticket_id(day, number),
            number=number,
            category=category.code,
            now=tx.now,
            priority=priority,
            item=item,
            appointment_at=appointment_at,
            chain=service_item.chain if service_item else (),
        )

    def _do_cancel_ticket(self, tx: _Tx, p: Principal, r: CancelTicket) -> TicketReply:
        ticket = rules.cancel(self._ticket(tx, r.ticket), now=tx.now)
        self._save(tx, ticket, claim_from=TicketState.WAITING)
        tx.emit(TicketCancelled, ticket=self._view(ticket))
        return TicketReply(re=r.id, ticket=self._view(ticket))

    def _do_ticket_status(self, tx: _Tx, p: Principal, r: TicketStatus) -> TicketReply:
        ticket = self._ticket(tx, r.ticket)
        ahead, estimate = (
            self._position(tx, ticket) if ticket.state is TicketState.WAITING else (0, 0.0)
        )
        return TicketReply(
            re=r.id, ticket=self._view(ticket), people_ahead=ahead, estimated_wait_minutes=estimate
        )

    def _do_rate(self, tx: _Tx, p: Principal, r: Rate) -> TicketReply:
        """A rating is bound to the ticket it rates: given with the slip's secret (the QR
        code), by the window that served the ticket (a paper form entered there), or by a
        supervisor. A kiosk without the secret cannot rate anyone's ticket by its number."""
        row = self._ticket_row(tx, r.ticket)
        if r.secret is not None:
            if row.secret_hash is None or not security.token_matches(row.secret_hash, r.secret):
                raise ProtocolError(
                    ErrorCode.FORBIDDEN, "this is not the slip of that ticket", reason="bad_secret"
                )
            channel = "qr"
        elif p.role is Role.WINDOW:
            if row.window != p.window:
                raise ProtocolError(
                    ErrorCode.FORBIDDEN,
                    f"ticket {row.number} was not served at window {p.window}",
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
        if row.state != TicketState.DONE:
            raise ProtocolError(
                ErrorCode.INVALID_STATE,
                f"ticket {row.number} can be rated once its service is done",
                state=row.state,
            )
        if row.rating is not None:
            raise ProtocolError(
                ErrorCode.INVALID_STATE, f"ticket {row.number} is already rated", reason="rated"
            )
        row.rating, row.rating_comment, row.rating_channel = r.level, r.comment, channel
        tx.session.add(row)
        return TicketReply(re=r.id, ticket=self._view(_ticket_of(row)))

    # -- appointments (queue_server/appointments.py) -----------------------------------

    def _do_book_appointment(self, tx: _Tx, p: Principal, r: BookAppointment) -> AppointmentReply:
        return appointments.book(self, tx, r)

    def _do_cancel_appointment(
        self, tx: _Tx, p: Principal, r: CancelAppointment
    ) -> AppointmentReply:
        return appointments.cancel(tx, r.id, r.code)

    def _do_check_in(self, tx: _Tx, p: Principal, r: CheckIn) -> CheckInReply:
        return appointments.check_in(self, tx, r.id, r.code)

    def _do_list_appointments(
        self, tx: _Tx, p: Principal, r: ListAppointments
    ) -> AppointmentListReply:
        if r.category is not None:
            self._category(tx, r.category)
        return appointments.listing(tx, r.id, r.day, r.category)

    def list_appointments(self, day: date, category: str | None = None) -> AppointmentListReply:
        """For the `queue-server appointments list` command."""
        with self._transaction() as tx:
            if category is not None:
                self._category(tx, category)
            return appointments.listing(tx, "cli", day, category)

    def cancel_appointment(self, code: str) -> AppointmentView:
        """For the `queue-server appointments cancel` command; the event reaches clients
        through the server's store poller."""
        with self._transaction() as tx:
            return appointments.cancel(tx, "cli", code).appointment

    # -- window actions ---------------------------------------------------------------

    def _do_call_next(self, tx: _Tx, p: Principal, r: CallNext) -> WindowReply:
        row = self._acting_window(tx, p, r.window, need=WindowState.IDLE, doing="call")
        window = window_of(row)
        waiting = self._waiting_for(tx, window)
        chosen = scheduling.choose_next(
            window, waiting, tx.config.categories, tx.config.rules, tx.now
        )
        if chosen is None:
            raise ProtocolError(ErrorCode.QUEUE_EMPTY, f"no ticket waiting for window {row.number}")
        return self._call(tx, r.id, row, chosen)

    def _do_call_ticket(self, tx: _Tx, p: Principal, r: CallTicket) -> WindowReply:
        row = self._acting_window(tx, p, r.window, need=WindowState.IDLE, doing="call")
        ticket = self._ticket(tx, r.ticket)
        if ticket.state is TicketState.WAITING and not scheduling.may_call(window_of(row), ticket):
            raise ProtocolError(
                ErrorCode.FORBIDDEN,
                f"ticket {ticket.number} ({ticket.category}) is not for window {row.number}",
            )
        return self._call(tx, r.id, row, ticket)

    def _call(self, tx: _Tx, rid: str, row: WindowRow, ticket: Ticket) -> WindowReply:
        called = rules.call(ticket, window=row.number, staff=row.staff, now=tx.now)
        self._save(tx, called, claim_from=TicketState.WAITING)
        row.state, row.ticket = WindowState.CALLING, called.id
        tx.emit(
            TicketCalled,
            ticket=self._view(called),
            window=row.number,
            window_name=row.name,
            zone=row.zone,
        )
        self._window_changed(tx, row)
        return WindowReply(re=rid, window=self._window_view(tx, row), ticket=self._view(called))

    def _do_recall(self, tx: _Tx, p: Principal, r: Recall) -> WindowReply:
        row = self._acting_window(tx, p, r.window, need=WindowState.CALLING, doing="recall")
        ticket = rules.recall(
            self._current(tx, row), now=tx.now, no_show_after=tx.config.rules.no_show_after_recalls
        )
        self._save(tx, ticket)
        if ticket.state is TicketState.NO_SHOW:
            row.state, row.ticket = WindowState.IDLE, None
            tx.emit(TicketNoShow, ticket=self._view(ticket), window=row.number)
            self._window_changed(tx, row)
        else:
            tx.emit(
                TicketRecalled,
                ticket=self._view(ticket),
                window=row.number,
                window_name=row.name,
                zone=row.zone,
            )
        return WindowReply(re=r.id, window=self._window_view(tx, row), ticket=self._view(ticket))

    def _do_start_service(self, tx: _Tx, p: Principal, r: StartService) -> WindowReply:
        row = self._acting_window(tx, p, r.window, need=WindowState.CALLING, doing="start")
        ticket = rules.start(self._current(tx, row), now=tx.now)
        self._save(tx, ticket)
        row.state = WindowState.SERVING
        tx.emit(ServiceStarted, ticket=self._view(ticket), window=row.number)
        self._window_changed(tx, row)
        return WindowReply(re=r.id, window=self._window_view(tx, row), ticket=self._view(ticket))

    def _do_finish_service(self, tx: _Tx, p: Principal, r: FinishService) -> WindowReply:
        row = self._acting_window(tx, p, r.window, need=WindowState.SERVING, doing="finish")
        before = self._current(tx, row)
        ticket = rules.finish(before, now=tx.now)
        self._save(tx, ticket)
        next_step = ticket.step if ticket.state is TicketState.WAITING else None
        self._record_service(tx, before, row, "next_step" if next_step else "done")
        row.state, row.ticket = WindowState.IDLE, None
        tx.emit(ServiceFinished, ticket=self._view(ticket), window=row.number, next_step=next_step)
        self._window_changed(tx, row)
        return WindowReply(re=r.id, window=self._window_view(tx, row), ticket=self._view(ticket))

    def _do_end_chain(self, tx: _Tx, p: Principal, r: EndChain) -> WindowReply:
        row = self._acting_window(tx, p, r.window, need=WindowState.SERVING, doing="end a chain")
        before = self._current(tx, row)
        ticket = rules.end_chain(before, now=tx.now)
        self._save(tx, ticket)
        self._record_service(tx, before, row, "chain_ended")
        row.state, row.ticket = WindowState.IDLE, None
        tx.emit(ServiceFinished, ticket=self._view(ticket), window=row.number, chain_ended=r.reason)
        self._window_changed(tx, row)
        return WindowReply(re=r.id, window=self._window_view(tx, row), ticket=self._view(ticket))

    def _record_service(self, tx: _Tx, served: Ticket, row: WindowRow, outcome: str) -> None:
        """One service of `served` (as it was while serving) at window `row` ends now."""
        assert served.started_at is not None
        calls = len(served.call_times) - served.recall_count
        tx.session.add(
            ServiceRow(
                ticket=served.id,
                day=_day_of(served),
                step=served.chain_step,
                step_name=served.step,
                category=served.category,
                window=row.number,
                staff=served.staff,
                called_at=served.call_times[calls - 1] if calls > 0 else served.started_at,
                started_at=served.started_at,
                ended_at=tx.now,
                outcome=outcome,
            )
        )

    def _do_mark_no_show(self, tx: _Tx, p: Principal, r: MarkNoShow) -> WindowReply:
        row = self._acting_window(tx, p, r.window, need=WindowState.CALLING, doing="mark a no-show")
        ticket = rules.no_show(self._current(tx, row), now=tx.now)
        self._save(tx, ticket)
        row.state, row.ticket = WindowState.IDLE, None
        tx.emit(TicketNoShow, ticket=self._view(ticket), window=row.number)
        self._window_changed(tx, row)
        return WindowReply(re=r.id, window=self._window_view(tx, row), ticket=self._view(ticket))

    def _do_reinstate(self, tx: _Tx, p: Principal, r: Reinstate) -> TicketReply:
        self._acting_window(tx, p, r.window, need=None, doing="reinstate")
        grace = timedelta(minutes=tx.config.rules.reinstate_grace_minutes)
        missed = self._ticket(tx, r.ticket)
        closed = tx.hall.closed_out_at
        if closed is not None and missed.issued_at < closed:
            raise ProtocolError(
                ErrorCode.INVALID_STATE,
                f"ticket {missed.number} belongs to a day already closed; please take a new ticket",
                reason="day_closed",
                ticket=missed.number,
            )
        ticket = rules.reinstate(missed, now=tx.now, grace=grace)
        self._save(tx, ticket)
        tx.emit(TicketReinstated, ticket=self._view(ticket))
        ahead, estimate = self._position(tx, ticket)
        return TicketReply(
            re=r.id, ticket=self._view(ticket), people_ahead=ahead, estimated_wait_minutes=estimate
        )

    def _do_transfer(self, tx: _Tx, p: Principal, r: TransferTicket) -> WindowReply:
        row = self._acting_window(tx, p, r.window, need=WindowState.SERVING, doing="transfer")
        if r.to_category is not None:
            self._category(tx, r.to_category)
        if r.to_window is not None and tx.session.get(WindowRow, r.to_window) is None:
            raise ProtocolError(
                ErrorCode.NOT_FOUND,
                f"window {r.to_window} does not exist",
                reason="window",
                window=r.to_window,
            )
        before = self._current(tx, row)
        ticket = rules.transfer(
            before, now=tx.now, to_category=r.to_category, to_window=r.to_window, reason=r.reason
        )
        self._save(tx, ticket)
        self._record_service(tx, before, row, "transferred")
        tx.touched.add(before.category)
        row.state, row.ticket = WindowState.IDLE, None
        tx.emit(TicketTransferred, ticket=self._view(ticket), transfer=ticket.transfers[-1])
        self._window_changed(tx, row)
        return WindowReply(re=r.id, window=self._window_view(tx, row), ticket=self._view(ticket))

    def _do_pause_window(self, tx: _Tx, p: Principal, r: PauseWindow) -> WindowReply:
        row = self._acting_window(tx, p, r.window, need=WindowState.IDLE, doing="pause")
        row.state, row.pause_reason = WindowState.PAUSED, r.reason
        self._window_changed(tx, row)
        return WindowReply(re=r.id, window=self._window_view(tx, row))

    def _do_resume_window(self, tx: _Tx, p: Principal, r: ResumeWindow) -> WindowReply:
        row = self._acting_window(tx, p, r.window, need=WindowState.PAUSED, doing="resume")
        row.state, row.pause_reason = WindowState.IDLE, None
        self._window_changed(tx, row)
        return WindowReply(re=r.id, window=self._window_view(tx, row))

    def _do_close_window(self, tx: _Tx, p: Principal, r: CloseWindow) -> WindowReply:
        row = self._acting_window(tx, p, r.window, need=None, doing="close")
        if row.state not in (WindowState.IDLE, WindowState.PAUSED):
            raise ProtocolError(
                ErrorCode.INVALID_STATE,
                f"window {row.number} is {row.state}; finish or hand over its ticket first",
            )
        row.state, row.staff, row.pause_reason = WindowState.CLOSED, None, None
        row.connected = False
        self._window_changed(tx, row)
        tx.touched.update(tx.config.categories)  # capacity changed
        return WindowReply(re=r.id, window=self._window_view(tx, row))

    # -- configuration ------------------------------------------------------------------

    def _do_set_window_profile(self, tx: _Tx, p: Principal, r: SetWindowProfile) -> WindowReply:
        row = self._window_row(tx, r.window)
        self._check_profile(tx, r.profile)
        row.profile = json.dumps(r.profile)
        self._window_changed(tx, row)
        self._config_changed(tx, f"window {row.number} profile")
        return WindowReply(re=r.id, window=self._window_view(tx, row))

    def _do_set_notice(self, tx: _Tx, p: Principal, r: SetNotice) -> ConfigReply:
        tx.hall.notice = r.notice
        self._config_changed(tx, "notice")
        return ConfigReply(re=r.id, config_version=tx.hall.config_version)

    def _config_changed(self, tx: _Tx, what: str) -> None:
        tx.hall.config_version += 1
        tx.emit(ConfigChanged, config_version=tx.hall.config_version, what=what)

    # -- configuration commands of the `queue-server` CLI ---------------------------------
    # Each runs in one transaction and leaves a config_changed event, which a running server
    # picks up from the event table and passes on to its clients.

    def import_config(self, data: dict[str, Any]) -> int:
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            version = hallconfig.import_hall(session, data)
            hall = session.get(HallRow, 1)
            assert hall is not None
            config = load_config(session)
            tx = _Tx(session=session, now=self.clock(), config=config, hall=hall)
            tx.emit(ConfigChanged, config_version=version, what="hall configuration imported")
            session.add(hall)
        self._config = None
        return version

    def export_config(self) -> dict[str, Any]:
        with Session(self.engine) as session:
            return hallconfig.export_hall(session)

    def add_staff(self, account: str, name: str, role: StaffRole, password: str) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", account):
            raise ProtocolError(
                ErrorCode.BAD_REQUEST, "an account is 1-64 letters, digits, '_', '.' or '-'"
            )
        password_hash = _hash_or_refuse(password)
        with self._transaction() as tx:
            if tx.session.get(StaffRow, account) is not None:
                raise ProtocolError(ErrorCode.BAD_REQUEST, f"staff account {account} exists")
            tx.session.add(
                StaffRow(account=account, name=name, role=role.value, password_hash=password_hash)
            )
            self._config_changed(tx, f"staff {account} added")

    def set_password(self, account: str, password: str) -> None:
        password_hash = _hash_or_refuse(password)
        with self._transaction() as tx:
            staff = self._staff(tx, account)
            staff.password_hash = password_hash
            tx.session.add(staff)
            self._config_changed(tx, f"staff {account} password changed")

    def set_staff_disabled(self, account: str, disabled: bool) -> None:
        with self._transaction() as tx:
            staff = self._staff(tx, account)
            staff.disabled = disabled
            tx.session.add(staff)
            self._config_changed(tx, f"staff {account} {'disabled' if disabled else 'enabled'}")

    def list_staff(self) -> list[StaffRow]:
        with Session(self.engine) as session:
            return list(session.exec(select(StaffRow).order_by(col(StaffRow.account))).all())

    def add_device(self, name: str, kind: Role, zone: str | None, windows: list[int]) -> str:
        """Register a display or kiosk; returns its token, which is shown only this once."""
        if kind not in (Role.DISPLAY, Role.KIOSK):
            raise ProtocolError(ErrorCode.BAD_REQUEST, "a device is a display or a kiosk")
        token = security.new_token()
        with self._transaction() as tx:
            if tx.session.get(DeviceRow, name) is not None:
                raise ProtocolError(ErrorCode.BAD_REQUEST, f"device {name!r} exists")
            for number in windows:
                self._window_row(tx, number)
            tx.session.add(
                DeviceRow(
                    name=name,
                    kind=kind.value,
                    token_hash=security.hash_token(token),
                    zone=zone,
                    windows=json.dumps(windows),
                )
            )
            self._config_changed(tx, f"device {name} added")
        return token

    def revoke_device(self, name: str) -> None:
        with self._transaction() as tx:
            device = tx.session.get(DeviceRow, name)
            if device is None:
                raise ProtocolError(ErrorCode.NOT_FOUND, f"no device {name!r}")
            device.revoked = True
            tx.session.add(device)
            self._config_changed(tx, f"device {name} revoked")

    def list_devices(self) -> list[DeviceRow]:
        with Session(self.engine) as session:
            return list(session.exec(select(DeviceRow).order_by(col(DeviceRow.name))).all())

    def add_window(self, number: int, name: str, zone: str, profile: list[str]) -> None:
        if not 1 <= number <= 9999:
            raise ProtocolError(ErrorCode.BAD_REQUEST, "a window number is 1..9999")
        with self._transaction() as tx:
            if tx.session.get(WindowRow, number) is not None:
                raise ProtocolError(ErrorCode.BAD_REQUEST, f"window {number} exists")
            self._check_profile(tx, profile)
            row = WindowRow(number=number, name=name, zone=zone, profile=json.dumps(profile))
            self._window_changed(tx, row)
            self._config_changed(tx, f"window {number} added")

    def set_profile(self, number: int, profile: list[str]) -> None:
        with self._transaction() as tx:
            row = self._window_row(tx, number)
            self._check_profile(tx, profile)
            row.profile = json.dumps(profile)
            self._window_changed(tx, row)
            self._config_changed(tx, f"window {number} profile")

    def remove_window(self, number: int) -> None:
        with self._transaction() as tx:
            row = self._window_row(tx, number)
            if row.state != WindowState.CLOSED:
                raise ProtocolError(
                    ErrorCode.INVALID_STATE, f"window {number} is {row.state}; close it first"
                )
            tx.session.delete(row)
            self._config_changed(tx, f"window {number} removed")

    def list_windows(self) -> list[WindowView]:
        with self._transaction() as tx:
            rows = tx.session.exec(select(WindowRow).order_by(col(WindowRow.number))).all()
            return [self._window_view(tx, row) for row in rows]

    def _check_profile(self, tx: _Tx, profile: list[str]) -> None:
        for code in profile:
            self._category(tx, code)
        if len(set(profile)) != len(profile):
            raise ProtocolError(ErrorCode.BAD_REQUEST, "a category is listed twice")

    def _staff(self, tx: _Tx, account: str) -> StaffRow:
        staff = tx.session.get(StaffRow, account)
        if staff is None:
            raise ProtocolError(ErrorCode.NOT_FOUND, f"no staff account {account!r}")
        return staff

    # -- snapshot ---------------------------------------------------------------------

    def _do_snapshot(self, tx: _Tx, p: Principal, r: GetSnapshot) -> SnapshotReply:
        return SnapshotReply(re=r.id, snapshot=self._snapshot(tx, p))

    def _snapshot(self, tx: _Tx, p: Principal) -> Snapshot:
        config = tx.config
        rows = tx.session.exec(select(WindowRow).order_by(col(WindowRow.number))).all()
        windows = [
            self._window_view(tx, w)
            for w in rows
            if p.role is not Role.DISPLAY or p.may_see("window_changed", w.number, w.zone)
        ]
        if p.role is Role.WINDOW:
            active = tx.session.exec(
                select(TicketRow).where(
                    TicketRow.window == p.window,
                    col(TicketRow.state).in_([TicketState.CALLED, TicketState.SERVING]),
                )
            ).all()
            no_shows = tx.session.exec(
                select(TicketRow).where(
                    TicketRow.window == p.window,
                    TicketRow.state == TicketState.NO_SHOW,
                    TicketRow.day == config.rules.local_day(tx.now).isoformat(),
                )
            ).all()
            tickets = [*active, *no_shows]
        elif p.role is Role.ADMIN:
            tickets = list(
                tx.session.exec(
                    select(TicketRow)
                    .where(
                        col(TicketRow.state).in_(
                            [TicketState.WAITING, TicketState.CALLED, TicketState.SERVING]
                        )
                    )
                    .order_by(col(TicketRow.issued_at))
                ).all()
            )
        else:
            tickets = []
        return Snapshot(
            seq=tx.hall.last_seq,
            hall=HallView(
                name=config.rules.name,
                timezone=config.rules.timezone,
                notice=tx.hall.notice,
                policy=config.rules.policy,
                open_now=config.rules.is_open(tx.now),
            ),
            categories=[
                CategoryView(
                    code=c.code,
                    name=c.name,
                    prefix=c.prefix,
                    target_wait_minutes=c.target_wait_minutes,
                    daily_capacity=c.daily_capacity,
                )
                for c in config.categories.values()
            ],
            items=[
                ServiceItemView(
                    name=i.name,
                    category=i.category,
                    time_limit_days=i.time_limit_days,
                    materials=list(i.materials),
                    appointment=i.appointment,
                    chain=list(i.chain),
                )
                for i in config.items.values()
            ],
            windows=windows,
            queues=self._queue_stats(tx, set(config.categories)),
            recent_calls=self._recent_calls(tx, p),
            tickets=[self._view(_ticket_of(t)) for t in tickets],
            window_stats=self._window_stats(tx, p),
        )

    def _window_stats(self, tx: _Tx, p: Principal) -> list[WindowStat]:
        """Today's served / no-show counts and mean service time, per window. Each service
        counts at the window that gave it: every one-chain step where it was served."""
        if p.role not in (Role.WINDOW, Role.ADMIN):
            return []
        day = tx.config.rules.local_day(tx.now).isoformat()
        services = select(ServiceRow.window, ServiceRow.started_at, ServiceRow.ended_at).where(
            ServiceRow.day == day, col(ServiceRow.outcome).in_(SERVED_OUTCOMES)
        )
        missed = select(TicketRow.window).where(
            TicketRow.day == day,
            TicketRow.state == TicketState.NO_SHOW,
            col(TicketRow.window).is_not(None),
        )
        if p.role is Role.WINDOW:
            services = services.where(ServiceRow.window == p.window)
            missed = missed.where(TicketRow.window == p.window)
        served: dict[int, list[float]] = {}
        for window, started, ended in tx.session.exec(services).all():
            served.setdefault(window, []).append((ended - started).total_seconds() / 60)
        no_shows: dict[int, int] = {}
        for missed_at in tx.session.exec(missed).all():
            assert missed_at is not None
            no_shows[missed_at] = no_shows.get(missed_at, 0) + 1
        if p.role is Role.ADMIN:
            numbers = list(
                tx.session.exec(select(WindowRow.number).order_by(col(WindowRow.number)))
            )
        else:
            numbers = [p.window] if p.window else []
        return [
            WindowStat(
                window=n,
                served=len(served.get(n, [])),
                no_shows=no_shows.get(n, 0),
                mean_service_minutes=(
                    round(sum(served[n]) / len(served[n]), 1) if served.get(n) else None
                ),
            )
            for n in numbers
        ]

    def _recent_calls(self, tx: _Tx, p: Principal) -> list[CallView]:
        """The day's last calls (none of a day already closed out)."""
        calls: list[CallView] = []
        query = select(EventRow).where(col(EventRow.name).in_(CALL_EVENTS))
        if tx.hall.closed_out_at is not None:
            query = query.where(col(EventRow.at) >= tx.hall.closed_out_at)
        rows = tx.session.exec(query.order_by(col(EventRow.seq).desc()).limit(200))
        for row in rows:
            if not p.may_see(row.name, row.window, row.zone):
                continue
            event = json.loads(row.payload)
            ticket = event["ticket"]
            calls.append(
                CallView(
                    seq=row.seq,
                    at=row.at,
                    ticket=ticket["id"],
                    number=ticket["number"],
                    category=ticket["category"],
                    window=event["window"],
                    window_name=event["window_name"],
                    zone=event.get("zone", ""),
                    recall=row.name == "ticket_recalled",
                    chain_step=ticket.get("chain_step", 0),
                    steps=ticket.get("steps", 1),
                    step=ticket.get("step"),
                )
            )
            if len(calls) == RECENT_CALLS:
                break
        return calls

    # -- queries ------------------------------------------------------------------------

    def _queue_stats(self, tx: _Tx, categories: set[str]) -> list[QueueStat]:
        counts = self._waiting_counts(tx)
        windows = self._windows(tx)
        stats = []
        for code in tx.config.categories:
            if code not in categories:
                continue
            waiting, oldest = counts.get(code, (0, None))
            estimate = self._estimate(tx, code, waiting, windows, counts)
            stats.append(
                QueueStat(
                    category=code,
                    waiting=waiting,
                    oldest_queued_at=oldest,
                    estimated_wait_minutes=estimate,
                )
            )
        return stats

    def _waiting_counts(self, tx: _Tx) -> dict[str, tuple[int, datetime | None]]:
        rows = tx.session.exec(
            select(TicketRow.category, func.count(), func.min(TicketRow.queued_at))
            .where(TicketRow.state == TicketState.WAITING)
            .group_by(TicketRow.category)
        ).all()
        return {
            category: (
                int(n),
                oldest.replace(tzinfo=UTC)
                if isinstance(oldest, datetime)
                else _parse_db_time(oldest),
            )
            for category, n, oldest in rows
        }

    def _mean_service_minutes(self, tx: _Tx, category: Category) -> float:
        if category.code not in tx.service_minutes:
            tx.service_minutes[category.code] = self._measured_service_minutes(tx, category)
        return tx.service_minutes[category.code]

    def _measured_service_minutes(self, tx: _Tx, category: Category) -> float:
        """Mean window time per ticket of the category's last SERVICE_TIME_SAMPLE done tickets:
        from the call that led to the final service (call_times[-(recall_count + 1)]: recalls
        since that call included) to the finish, so the call, the walk to the window and any
        recalls count as well as the service."""
        rows = tx.session.exec(
            select(TicketRow.call_times, TicketRow.recall_count, TicketRow.finished_at)
            .where(
                TicketRow.category == category.code,
                TicketRow.state == TicketState.DONE,
                col(TicketRow.started_at).is_not(None),
            )
            .order_by(col(TicketRow.finished_at).desc())
            .limit(SERVICE_TIME_SAMPLE)
        ).all()
        durations = []
        for call_times, recalls, finished in rows:
            calls = json.loads(call_times or "[]")
            if finished is None or len(calls) <= recalls:
                continue
            called = datetime.fromisoformat(calls[-(recalls + 1)])
            if called.tzinfo is None:
                called = called.replace(tzinfo=UTC)
            durations.append((finished - called).total_seconds() / 60)
        if len(durations) < 3:
            return category.service_minutes
        return sum(durations) / len(durations)

    def _position(self, tx: _Tx, ticket: Ticket) -> tuple[int, float]:
        """People ahead of a waiting ticket in its category, and its estimated wait.

        Tickets queued earlier are ahead; green-channel and assisted tickets are ahead of
        normal ones whenever they came, and a priority ticket has only earlier priority
        tickets ahead."""
        priority_classes = [Priority.GREEN, Priority.ASSISTED]
        queued = ticket.queue_time
        ahead_filter = or_(
            col(TicketRow.queued_at) < queued,
            (col(TicketRow.queued_at) == queued) & (col(TicketRow.id) < ticket.id),
        )
        if ticket.priority is Priority.NORMAL:
            ahead_filter = or_(ahead_filter, col(TicketRow.priority).in_(priority_classes))
        elif ticket.priority in priority_classes:
            ahead_filter = ahead_filter & col(TicketRow.priority).in_(priority_classes)
        ahead = self._waiting_ahead(tx, ticket, ahead_filter)
        counts = self._waiting_counts(tx)
        windows = self._windows(tx)
        return ahead, self._estimate(tx, ticket.category, ahead, windows, counts)

    def _waiting_ahead(self, tx: _Tx, ticket: Ticket, ahead: ColumnElement[bool]) -> int:
        """How many other waiting tickets of the ticket's category meet `ahead`."""
        return int(
            tx.session.exec(
                select(func.count())
                .select_from(TicketRow)
                .where(
                    TicketRow.state == TicketState.WAITING,
                    TicketRow.category == ticket.category,
                    TicketRow.id != ticket.id,
                    ahead,
                )
            ).one()
        )

    def _windows(self, tx: _Tx) -> list[Window]:
        """The windows as capacity: one without a connected client counts as closed."""
        return [live_window_of(w) for w in tx.session.exec(select(WindowRow)).all()]

    def _estimate(
        self,
        tx: _Tx,
        category: str,
        ahead: int,
        windows: list[Window],
        counts: dict[str, tuple[int, datetime | None]],
    ) -> float:
        """The estimated wait (domain.estimate) from the waiting counts, the windows, each
        waiting category's window minutes per ticket (one query per category, cached for the
        command), the categories' targets and the hall's rank penalty."""
        config = tx.config
        waiting = {c: n for c, (n, _) in counts.items()}
        return estimate_wait_minutes(
            category=category,
            people_ahead=ahead,
            windows=windows,
            waiting_by_category=waiting,
            mean_service_minutes=self._mean_service_minutes(tx, config.categories[category]),
            minutes_by_category={
                c: self._mean_service_minutes(tx, config.categories[c])
                for c, n in waiting.items()
                if n and c in config.categories
            },
            targets={c: float(cat.target_wait_minutes) for c, cat in config.categories.items()},
            rank_penalty=config.rules.rank_penalty,
        )

    def _waiting_for(self, tx: _Tx, window: Window) -> list[Ticket]:
        """The waiting tickets a call chooses from: only the head (oldest by issue time, then
        id) of each (category, priority, named window) group, because both policies choose
        among those heads only (scheduling.heads). Loading every waiting ticket made each
        call cost O(queue length) in ORM rows (bench/server_load.py)."""
        conditions = [col(TicketRow.state) == TicketState.WAITING]
        if not window.all_subjects:
            conditions.append(
                or_(
                    col(TicketRow.target_window) == window.number,
                    col(TicketRow.category).in_(window.profile),
                )
            )
        rank = (
            func.row_number()
            .over(
                partition_by=(
                    col(TicketRow.category),
                    col(TicketRow.priority),
                    col(TicketRow.target_window),
                ),
                order_by=(col(TicketRow.queued_at), col(TicketRow.id)),
            )
            .label("rank")
        )
        ranked = select(col(TicketRow.id), rank).where(*conditions).subquery()
        query = (
            select(TicketRow)
            .join(ranked, col(TicketRow.id) == ranked.c.id)
            .where(ranked.c.rank == 1)
        )
        return [_ticket_of(row) for row in tx.session.exec(query).all()]

    # -- helpers --------------------------------------------------------------------------

    def _category(self, tx: _Tx, code: str) -> Category:
        category = tx.config.categories.get(code)
        if category is None:
            known = ", ".join(tx.config.categories)
            raise ProtocolError(
                ErrorCode.NOT_FOUND, f"no category {code!r} (known: {known})", reason="category"
            )
        return category

    def _window_row(self, tx: _Tx, number: int) -> WindowRow:
        row = tx.session.get(WindowRow, number)
        if row is None:
            raise ProtocolError(
                ErrorCode.NOT_FOUND,
                f"window {number} does not exist",
                reason="window",
                window=number,
            )
        return row

    def _acting_window(
        self, tx: _Tx, p: Principal, number: int | None, need: WindowState | None, doing: str
    ) -> WindowRow:
        """The window a request acts for: the caller's own, or any for a supervisor."""
        if p.role is Role.WINDOW:
            if number is not None and number != p.window:
                raise ProtocolError(
                    ErrorCode.FORBIDDEN, f"window {p.window} may act only for itself, not {number}"
                )
            assert p.window is not None
            number = p.window
        elif number is None:
            raise ProtocolError(ErrorCode.BAD_REQUEST, "say which window: field 'window'")
        row = self._window_row(tx, number)
        if p.role is Role.WINDOW and row.staff != p.staff:
            raise ProtocolError(
                ErrorCode.WINDOW_TAKEN,
                f"window {number} is no longer logged in as {p.staff}",
                reason="not_logged_in",
                window=number,
            )
        if need is not None and row.state != need:
            raise ProtocolError(
                ErrorCode.INVALID_STATE,
                _window_state_message(row, doing),
                state=row.state,
                window=row.number,
            )
        return row

    def _current(self, tx: _Tx, row: WindowRow) -> Ticket:
        if row.ticket is None:
            raise ProtocolError(ErrorCode.INVALID_STATE, f"window {row.number} has no ticket")
        return self._ticket(tx, row.ticket)

    def _ticket_row(self, tx: _Tx, ref: str) -> TicketRow:
        if TICKET_ID.match(ref):
            row = tx.session.get(TicketRow, ref)
        else:
            day = tx.config.rules.local_day(tx.now).isoformat()
            row = tx.session.exec(
                select(TicketRow).where(TicketRow.day == day, TicketRow.number == ref.upper())
            ).first()
        if row is None:
            raise ProtocolError(
                ErrorCode.NOT_FOUND, f"no ticket {ref!r}", reason="ticket", ticket=ref[:40]
            )
        return row

    def _ticket(self, tx: _Tx, ref: str) -> Ticket:
        return _ticket_of(self._ticket_row(tx, ref))

    def _save(
        self,
        tx: _Tx,
        ticket: Ticket,
        *,
        new: bool = False,
        claim_from: TicketState | None = None,
        secret_hash: str | None = None,
    ) -> None:
        """Write a ticket. With `claim_from`, the write only happens if the ticket is still in
        that state, so two windows (even in two server processes) never call the same ticket."""
        values = _columns_of(ticket)
        if new or claim_from is TicketState.WAITING or ticket.state is TicketState.WAITING:
            tx.touched.add(ticket.category)  # the waiting queue of this category changed
        if new:
            tx.session.add(TicketRow(day=_day_of(ticket), secret_hash=secret_hash, **values))
            return
        statement = update(TicketRow).where(col(TicketRow.id) == ticket.id)
        if claim_from is not None:
            statement = statement.where(col(TicketRow.state) == claim_from)
        result = tx.session.execute(statement.values(**values))
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise ProtocolError(
                ErrorCode.INVALID_STATE, f"ticket {ticket.number} was taken by another window"
            )

    def _view(self, ticket: Ticket) -> TicketView:
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

    def _staff_name(self, tx: _Tx, account: str | None) -> str:
        # Staff changes bump the config version, so the cached names are current.
        return tx.config.staff_names.get(account or "", account or "?")

    def _window_view(self, tx: _Tx, row: WindowRow) -> WindowView:
        return WindowView(
            number=row.number,
            name=row.name,
            zone=row.zone,
            profile=json.loads(row.profile),
            state=WindowState(row.state),
            staff=row.staff,
            staff_name=self._staff_name(tx, row.staff) if row.staff else None,
            pause_reason=row.pause_reason,
            ticket=row.ticket,
            connected=row.connected,
        )

    def _window_changed(self, tx: _Tx, row: WindowRow, reason: str | None = None) -> None:
        tx.session.add(row)
        tx.emit(WindowChanged, window=self._window_view(tx, row), reason=reason)


def _credentials_valid(p: Principal, device: DeviceRow | None, staff: StaffRow | None) -> bool:
    if p.device is not None:
        return device is not None and not device.revoked
    if p.staff is not None:
        return staff is not None and not staff.disabled
    return True


def _hash_or_refuse(password: str) -> str:
    try:
        return security.hash_password(password)
    except ValueError as exc:
        raise ProtocolError(ErrorCode.BAD_REQUEST, str(exc)) from exc


def _window_state_message(row: WindowRow, doing: str) -> str:
    state = WindowState(row.state)
    if state is WindowState.PAUSED:
        return f"window {row.number} is paused ({row.pause_reason}); resume it to {doing}"
    if state is WindowState.CLOSED:
        return f"window {row.number} is closed; log in to {doing}"
    if state is WindowState.CALLING:
        return f"window {row.number} has called {row.ticket}; start service or mark no-show first"
    if state is WindowState.SERVING:
        return f"window {row.number} is serving {row.ticket}; finish or transfer it first"
    return f"window {row.number} has no ticket to {doing}"


def _ticket_of(row: TicketRow) -> Ticket:
    from queue_protocol.messages import Transfer

    return Ticket(
        id=row.id,
        number=row.number,
        category=row.category,
        issued_at=row.issued_at,
        queued_at=row.queued_at,
        priority=Priority(row.priority),
        state=TicketState(row.state),
        item=row.item,
        call_times=tuple(datetime.fromisoformat(t) for t in json.loads(row.call_times)),
        started_at=row.started_at,
        finished_at=row.finished_at,
        no_show_at=row.no_show_at,
        window=row.window,
        staff=row.staff,
        recall_count=row.recall_count,
        transfers=tuple(Transfer.model_validate(t) for t in json.loads(row.transfers)),
        chain_step=row.chain_step,
        chain=tuple(json.loads(row.chain)),
        target_window=row.target_window,
        appointment_at=row.appointment_at,
    )


def _columns_of(ticket: Ticket) -> dict[str, Any]:
    return {
        "id": ticket.id,
        "number": ticket.number,
        "category": ticket.category,
        "item": ticket.item,
        "priority": ticket.priority.value,
        "state": ticket.state.value,
        "issued_at": ticket.issued_at,
        "queued_at": ticket.queue_time,
        "call_times": json.dumps([t.isoformat() for t in ticket.call_times]),
        "started_at": ticket.started_at,
        "finished_at": ticket.finished_at,
        "no_show_at": ticket.no_show_at,
        "window": ticket.window,
        "staff": ticket.staff,
        "recall_count": ticket.recall_count,
        "transfers": json.dumps([t.model_dump(mode="json") for t in ticket.transfers]),
        "chain_step": ticket.chain_step,
        "chain": json.dumps(ticket.chain, ensure_ascii=False),
        "target_window": ticket.target_window,
        "appointment_at": ticket.appointment_at,
    }


def _day_of(ticket: Ticket) -> str:
    raw = ticket.id.split("-", 1)[0]
    return f"{raw[:4]}-{raw[4:6]}-{raw[6:]}"


def _parse_db_time(value: object) -> datetime | None:
    if value is None:
        return None
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)
