"""Appointments (预约): slots, booking, cancellation and check-in (SPEC §3, §4).

A hall offers, per category, slots at fixed local times every day it is open, each with a
capacity. Booking returns a short check-in code. Checking in from `check_in_before_minutes`
before to `check_in_after_minutes` after the slot start issues an appointment-class ticket,
which the scheduler serves first once its slot has begun; later than that, a normal ticket.

The command handlers run inside the service's transaction (`_Tx`), which on SQLite starts
with BEGIN IMMEDIATE and on the server runs on its one database thread: counting a slot's
bookings and inserting the new one cannot interleave with another booking.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from typing import TYPE_CHECKING, Any

from sqlalchemy import func
from sqlmodel import col, select

from queue_protocol.errors import ErrorCode, ProtocolError
from queue_protocol.messages import (
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentCheckedIn,
    AppointmentListReply,
    AppointmentReply,
    AppointmentView,
    BookAppointment,
    CheckInReply,
    Priority,
    SlotView,
    TicketIssued,
    TicketState,
)
from queue_server import security
from queue_server.domain.model import Category, HallRules, Ticket
from queue_server.store.tables import (
    AppointmentRow,
    AppointmentRulesRow,
    TicketRow,
)

if TYPE_CHECKING:
    from sqlmodel import Session

    from queue_server.service import HallService, _Tx

log = logging.getLogger(__name__)

# No 0/O, 1/I/L, 2/Z, 5/S, 6/G, 8/B: a code read aloud or typed on a kiosk is hard to get wrong.
CODE_ALPHABET = "ACDEFHJKMNPQRTUVWXY3479"
CODE_LENGTH = 6
BOOKED, CANCELLED, CHECKED_IN = "booked", "cancelled", "checked_in"
MISSED = "missed"  # still booked when its day was closed out: the citizen never came
HOLDING = (BOOKED, CHECKED_IN)  # states that take up a place in a slot
_SLOT = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


# ---------------------------------------------------------------------------
# Rules (pure)


@dataclass(frozen=True)
class SlotPlan:
    """The slots one category offers every open day."""

    category: str
    times: tuple[str, ...]
    capacity: int


@dataclass(frozen=True)
class AppointmentRules:
    check_in_before_minutes: int = 15
    check_in_after_minutes: int = 15
    slots: tuple[SlotPlan, ...] = ()

    def plan_for(self, category: str) -> SlotPlan | None:
        return next((s for s in self.slots if s.category == category), None)


class Timing(Enum):
    EARLY = "early"
    ON_TIME = "on_time"
    LATE = "late"


def check_in_opens(slot_at: datetime, rules: AppointmentRules) -> datetime:
    return slot_at - timedelta(minutes=rules.check_in_before_minutes)


def timing(slot_at: datetime, now: datetime, rules: AppointmentRules) -> Timing:
    """Early before the check-in window, late after it; both ends are inclusive."""
    if now < check_in_opens(slot_at, rules):
        return Timing.EARLY
    if now > slot_at + timedelta(minutes=rules.check_in_after_minutes):
        return Timing.LATE
    return Timing.ON_TIME


def mask_phone(phone: str) -> str:
    """138****5678: enough to recognise one's own number, not enough to call it."""
    digits = re.sub(r"\D", "", phone)
    if len(digits) >= 7:
        return f"{digits[:3]}****{digits[-4:]}"
    return "*" * len(digits)


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(code: str) -> str:
    """Codes are typed by citizens: ignore case, spaces and dashes."""
    return re.sub(r"[\s-]", "", code).upper()


def slot_start(day: date, slot: str, hall: HallRules) -> datetime:
    return datetime.combine(day, time.fromisoformat(slot), tzinfo=hall.tz)


# ---------------------------------------------------------------------------
# Configuration: the `[appointments]` table of the hall TOML


def parse_rules(table: Any, categories: set[str]) -> AppointmentRules:
    """Validate `[appointments]`; raises ValueError saying where and why."""
    if table is None:
        return AppointmentRules()
    if not isinstance(table, dict):
        raise ValueError("appointments: expected a table")
    before = table.get("check_in_before_minutes", 15)
    after = table.get("check_in_after_minutes", 15)
    for key, value in (("check_in_before_minutes", before), ("check_in_after_minutes", after)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"appointments.{key}: expected minutes (0 or more), got {value!r}")
    raw_slots = table.get("slots", [])
    if not isinstance(raw_slots, list):
        raise ValueError("appointments.slots: expected [[appointments.slots]] entries")
    plans: list[SlotPlan] = []
    for i, entry in enumerate(raw_slots):
        where = f"appointments.slots[{i}]"
        if not isinstance(entry, dict):
            raise ValueError(f"{where}: expected a table")
        category = entry.get("category")
        if category not in categories:
            raise ValueError(f"{where}.category: unknown category {category!r}")
        if any(p.category == category for p in plans):
            raise ValueError(f"{where}.category: {category} has slots listed twice")
        times = entry.get("times")
        if not isinstance(times, list) or not times:
            raise ValueError(f'{where}.times: expected ["HH:MM", …]')
        for t in times:
            if not isinstance(t, str) or not _SLOT.match(t):
                raise ValueError(f"{where}.times: {t!r} is not a time HH:MM")
        if len(set(times)) != len(times):
            raise ValueError(f"{where}.times: a time is listed twice")
        capacity = entry.get("capacity", 1)
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise ValueError(f"{where}.capacity: must be at least 1, got {capacity!r}")
        plans.append(SlotPlan(category=category, times=tuple(sorted(times)), capacity=capacity))
    return AppointmentRules(
        check_in_before_minutes=before, check_in_after_minutes=after, slots=tuple(plans)
    )


def rules_row(rules: AppointmentRules) -> AppointmentRulesRow:
    import json

    return AppointmentRulesRow(
        check_in_before_minutes=rules.check_in_before_minutes,
        check_in_after_minutes=rules.check_in_after_minutes,
        slots=json.dumps(
            [
                {"category": s.category, "times": list(s.times), "capacity": s.capacity}
                for s in rules.slots
            ],
            ensure_ascii=False,
        ),
    )


def load_rules(session: Session) -> AppointmentRules:
    import json

    row = session.get(AppointmentRulesRow, 1)
    if row is None:
        return AppointmentRules()
    return AppointmentRules(
        check_in_before_minutes=row.check_in_before_minutes,
        check_in_after_minutes=row.check_in_after_minutes,
        slots=tuple(
            SlotPlan(category=s["category"], times=tuple(s["times"]), capacity=s["capacity"])
            for s in json.loads(row.slots)
        ),
    )


def export_rules(rules: AppointmentRules) -> dict[str, Any]:
    return {
        "check_in_before_minutes": rules.check_in_before_minutes,
        "check_in_after_minutes": rules.check_in_after_minutes,
        "slots": [
            {"category": s.category, "times": list(s.times), "capacity": s.capacity}
            for s in rules.slots
        ],
    }


# ---------------------------------------------------------------------------
# Commands (run inside the service's transaction)


def view_of(row: AppointmentRow) -> AppointmentView:
    return AppointmentView(
        code=row.code,
        category=row.category,
        item=row.item,
        day=date.fromisoformat(row.day),
        slot=row.slot,
        name=row.name,
        phone=mask_phone(row.phone),
        state=row.state,
        ticket=row.ticket,
    )


def book(svc: HallService, tx: _Tx, r: BookAppointment) -> AppointmentReply:
    category = svc._category(tx, r.category)
    if r.item is not None:
        item = tx.config.items.get(r.item)
        if item is None or item.category != category.code:
            raise ProtocolError(
                ErrorCode.NOT_FOUND, f"no service item {r.item!r} in category {category.code}"
            )
        if not item.appointment:
            raise ProtocolError(ErrorCode.BAD_REQUEST, f"{item.name} is not offered by appointment")
    name = r.name.strip()
    if not name:
        raise ProtocolError(ErrorCode.BAD_REQUEST, "name: give the citizen's name")
    rules = tx.config.appointments
    plan = rules.plan_for(category.code)
    if plan is None:
        raise ProtocolError(ErrorCode.NOT_FOUND, f"{category.name} takes no appointments")
    if r.slot not in plan.times:
        raise ProtocolError(
            ErrorCode.NOT_FOUND,
            f"{category.name} has no slot at {r.slot} (slots: {', '.join(plan.times)})",
        )
    hall = tx.config.rules
    slot_at = slot_start(r.day, r.slot, hall)
    if slot_at <= tx.now:
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"the {r.day} {r.slot} slot has already begun")
    _require_open_at(hall, r.day, r.slot)
    taken = _taken(tx, r.day.isoformat(), category.code, r.slot)
    if taken >= plan.capacity:
        raise ProtocolError(
            ErrorCode.CAPACITY_REACHED,
            f"the {r.day} {r.slot} slot of {category.name} is fully booked "
            f"({plan.capacity} places)",
            reason="slot_full",
        )
    code = new_code()
    while tx.session.get(AppointmentRow, code) is not None:
        code = new_code()
    row = AppointmentRow(
        code=code,
        category=category.code,
        item=r.item,
        day=r.day.isoformat(),
        slot=r.slot,
        slot_at=slot_at,
        name=name,
        phone=re.sub(r"[\s-]", "", r.phone),
        created_at=tx.now,
    )
    tx.session.add(row)
    view = view_of(row)
    tx.emit(AppointmentBooked, appointment=view)
    log.info(
        "appointment %s booked: %s %s %s, phone %s", code, category.code, r.day, r.slot, view.phone
    )
    return AppointmentReply(re=r.id, appointment=view)


def cancel(tx: _Tx, rid: str, code: str) -> AppointmentReply:
    row = _appointment(tx, code)
    if row.state == CANCELLED:
        raise ProtocolError(ErrorCode.INVALID_STATE, f"appointment {row.code} is already cancelled")
    if row.state == MISSED:
        raise ProtocolError(
            ErrorCode.INVALID_STATE,
            f"appointment {row.code} ({row.day} {row.slot}) is past",
            reason="missed",
        )
    if row.state == CHECKED_IN:
        raise ProtocolError(
            ErrorCode.INVALID_STATE,
            f"appointment {row.code} is checked in (ticket {row.ticket}); "
            "cancel the ticket instead",
        )
    row.state, row.cancelled_at = CANCELLED, tx.now
    tx.session.add(row)
    view = view_of(row)
    tx.emit(AppointmentCancelled, appointment=view)
    log.info("appointment %s cancelled", row.code)
    return AppointmentReply(re=rid, appointment=view)


def check_in(svc: HallService, tx: _Tx, rid: str, code: str) -> CheckInReply:
    row = _appointment(tx, code)
    if row.state == CANCELLED:
        raise ProtocolError(
            ErrorCode.INVALID_STATE,
            f"appointment {row.code} ({row.day} {row.slot}) was cancelled; please take a ticket",
            reason="cancelled",
        )
    if row.state == MISSED and tx.config.rules.is_open(tx.now):  # closed: said below
        raise ProtocolError(
            ErrorCode.INVALID_STATE,
            f"appointment {row.code} ({row.day} {row.slot}) has passed; please book again",
            reason="missed",
        )
    if row.state == CHECKED_IN and row.ticket is not None:
        # The same code again (a citizen who lost the slip): the same ticket, reprinted with
        # a new secret (the lost slip's no longer rates it).
        ticket_row = svc._ticket_row(tx, row.ticket)
        if ticket_row.state not in ("waiting", "called", "serving"):
            raise ProtocolError(
                ErrorCode.INVALID_STATE,
                f"appointment {row.code} was used: ticket {ticket_row.number} is "
                f"{ticket_row.state}",
                reason="used",
                ticket=ticket_row.number,
                state=ticket_row.state,
            )
        secret = security.new_ticket_secret()
        ticket_row.secret_hash = security.hash_token(secret)
        tx.session.add(ticket_row)
        ticket = svc._ticket(tx, row.ticket)
        ahead, estimate = _position(svc, tx, ticket)
        return CheckInReply(
            re=rid,
            ticket=svc._view(ticket),
            people_ahead=ahead,
            estimated_wait_minutes=estimate,
            on_time=ticket.priority is Priority.APPOINTMENT,
            note=f"already checked in at {_local(tx, row.checked_in_at):%H:%M}; same ticket",
            secret=secret,
            already_checked_in=True,
        )
    hall = tx.config.rules
    rules = tx.config.appointments
    if not hall.is_open(tx.now):
        raise ProtocolError(
            ErrorCode.HALL_CLOSED, f"{hall.name} is closed now", reason="closed_now"
        )
    category = svc._category(tx, row.category)
    when = timing(row.slot_at, tx.now, rules)
    if when is Timing.EARLY:
        opens = _local(tx, check_in_opens(row.slot_at, rules))
        today = hall.local_day(tx.now)
        on = "" if opens.date() == today else f" on {opens.date().isoformat()}"
        raise ProtocolError(
            ErrorCode.TOO_EARLY,
            f"check-in for the {row.slot} appointment opens at {opens:%H:%M}{on}; "
            "please come back then",
            at=opens.astimezone(UTC),
        )
    on_time = when is Timing.ON_TIME
    ticket, secret = _issue(
        svc,
        tx,
        category,
        priority=Priority.APPOINTMENT if on_time else Priority.NORMAL,
        item=row.item,
        appointment_at=row.slot_at if on_time else None,
    )
    row.state, row.ticket, row.checked_in_at = CHECKED_IN, ticket.id, tx.now
    tx.session.add(row)
    tx.emit(AppointmentCheckedIn, appointment=view_of(row), on_time=on_time)
    ahead, estimate = _position(svc, tx, ticket)
    note = (
        ""
        if on_time
        else f"checked in after the {row.slot} slot's check-in window; a normal ticket was issued"
    )
    log.info("appointment %s checked in: ticket %s (%s)", row.code, ticket.id, when.value)
    return CheckInReply(
        re=rid,
        ticket=svc._view(ticket),
        people_ahead=ahead,
        estimated_wait_minutes=estimate,
        on_time=on_time,
        note=note,
        secret=secret,
    )


def listing(tx: _Tx, rid: str, day: date, category: str | None) -> AppointmentListReply:
    query = select(AppointmentRow).where(AppointmentRow.day == day.isoformat())
    if category is not None:
        query = query.where(AppointmentRow.category == category)
    rows = tx.session.exec(
        query.order_by(
            col(AppointmentRow.slot), col(AppointmentRow.category), col(AppointmentRow.created_at)
        )
    ).all()
    slots = [
        SlotView(
            category=plan.category,
            slot=t,
            capacity=plan.capacity,
            booked=sum(
                1
                for a in rows
                if a.category == plan.category and a.slot == t and a.state in HOLDING
            ),
        )
        for plan in tx.config.appointments.slots
        if category is None or plan.category == category
        for t in plan.times
    ]
    return AppointmentListReply(
        re=rid, day=day, appointments=[view_of(a) for a in rows], slots=slots
    )


# ---------------------------------------------------------------------------
# helpers


def _appointment(tx: _Tx, code: str) -> AppointmentRow:
    row = tx.session.get(AppointmentRow, normalise_code(code))
    if row is None:
        raise ProtocolError(ErrorCode.NOT_FOUND, "no appointment with this check-in code")
    return row


def _taken(tx: _Tx, day: str, category: str, slot: str) -> int:
    return int(
        tx.session.exec(
            select(func.count())
            .select_from(AppointmentRow)
            .where(
                AppointmentRow.day == day,
                AppointmentRow.category == category,
                AppointmentRow.slot == slot,
                col(AppointmentRow.state).in_(HOLDING),
            )
        ).one()
    )


def _require_open_at(hall: HallRules, day: date, slot: str) -> None:
    if day in hall.hours.holidays:
        raise ProtocolError(
            ErrorCode.HALL_CLOSED, f"{hall.name} is closed on {day} (holiday)", reason="holiday"
        )
    if not hall.hours.days:
        return
    interval = hall.hours.interval(day)
    if interval is None:
        raise ProtocolError(
            ErrorCode.HALL_CLOSED, f"{hall.name} is closed on {day}", reason="closed_day"
        )
    opens, closes = interval
    if not opens <= time.fromisoformat(slot) < closes:
        raise ProtocolError(
            ErrorCode.HALL_CLOSED,
            f"{hall.name} is open {opens:%H:%M}-{closes:%H:%M} on {day}; no slot at {slot}",
            reason="outside_hours",
        )


def _local(tx: _Tx, at: datetime | None) -> datetime:
    return (at or tx.now).astimezone(tx.config.rules.tz)


def _issue(
    svc: HallService,
    tx: _Tx,
    category: Category,
    *,
    priority: Priority,
    item: str | None,
    appointment_at: datetime | None,
) -> tuple[Ticket, str]:
    """A ticket for a checked-in appointment, and its slip's secret. The booking already
    held a place, so the category's daily capacity and the closing-time estimate do not
    apply."""
    ticket = svc._number_ticket(
        tx,
        category,
        priority=priority,
        item=item,
        appointment_at=appointment_at,
        enforce_capacity=False,
    )
    secret = svc._save_new(tx, ticket)
    tx.emit(TicketIssued, ticket=svc._view(ticket))
    return ticket, secret


def _position(svc: HallService, tx: _Tx, ticket: Ticket) -> tuple[int, float]:
    """People ahead and estimated wait. An appointment ticket is behind only the earlier
    appointments of its category, and is not called before its slot begins."""
    if ticket.state is not TicketState.WAITING:
        return 0, 0.0
    if ticket.priority is not Priority.APPOINTMENT or ticket.appointment_at is None:
        return svc._position(tx, ticket)
    ahead = svc._waiting_ahead(
        tx,
        ticket,
        (col(TicketRow.priority) == Priority.APPOINTMENT)
        & (col(TicketRow.queued_at) < ticket.queue_time),
    )
    estimate = svc._estimate(tx, ticket.category, ahead, svc._windows(tx), svc._waiting_counts(tx))
    until_slot = max(0.0, (ticket.appointment_at - tx.now).total_seconds() / 60)
    return ahead, round(max(estimate, until_slot), 1)
