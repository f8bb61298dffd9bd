"""Appointments (预约): booking, cancellation, check-in, the day's list and its free
places (SPEC §3, §4).

A hall offers, per category, slots at fixed local times every day it is open, each with a
capacity (domain.appointments). The places taken are counted in the live state, so two
bookings for the last place can never both succeed: the writer decides them one after
the other.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from datetime import UTC, date

from queue_protocol.errors import ErrorCode, ProtocolError
from queue_protocol.messages import (
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentCheckedIn,
    AppointmentListReply,
    AppointmentReply,
    AppointmentSlots,
    AppointmentSlotsReply,
    AppointmentView,
    BookAppointment,
    CancelAppointment,
    CheckIn,
    CheckInReply,
    ListAppointments,
    Priority,
    SlotView,
    TicketIssued,
)
from queue_server import security
from queue_server.domain.appointments import (
    Timing,
    check_in_opens,
    mask_phone,
    new_code,
    normalise_code,
    open_at,
    slot_start,
    timing,
)
from queue_server.domain.model import HallRules
from queue_server.hall import views
from queue_server.hall.state import OPEN, AppointmentLive
from queue_server.hall.tickets import item, number_ticket, save_new
from queue_server.hall.work import Work, ticket_view
from queue_server.roles import Principal

log = logging.getLogger(__name__)

BOOKED, CANCELLED, CHECKED_IN, MISSED = "booked", "cancelled", "checked_in", "missed"
HOLDING = (BOOKED, CHECKED_IN)  # states that take up a place in a slot


def view_of(a: AppointmentLive) -> AppointmentView:
    return AppointmentView(
        code=a.code,
        category=a.category,
        item=a.item,
        day=date.fromisoformat(a.day),
        slot=a.slot,
        name=a.name,
        phone=mask_phone(a.phone),
        state=a.state,
        ticket=a.ticket,
    )


def book_appointment(w: Work, p: Principal, r: BookAppointment) -> AppointmentReply:
    category = w.category(r.category)
    chosen = item(w, category, r.item)
    if chosen is not None and not chosen.appointment:
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"{chosen.name} is not offered by appointment")
    name = r.name.strip()
    if not name:
        raise ProtocolError(ErrorCode.BAD_REQUEST, "name: give the citizen's name")
    plan = w.config.appointments.plan_for(category.code)
    if plan is None:
        raise ProtocolError(ErrorCode.NOT_FOUND, f"{category.name} takes no appointments")
    if r.slot not in plan.times:
        raise ProtocolError(
            ErrorCode.NOT_FOUND,
            f"{category.name} has no slot at {r.slot} (slots: {', '.join(plan.times)})",
        )
    hall = w.rules
    slot_at = slot_start(r.day, r.slot, hall)
    if slot_at <= w.now:
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"the {r.day} {r.slot} slot has already begun")
    open_at(hall, r.day, r.slot)
    taken = sum(
        1
        for a in _appointments(w)
        if a.day == r.day.isoformat()
        and a.category == category.code
        and a.slot == r.slot
        and a.state in HOLDING
    )
    if taken >= plan.capacity:
        raise ProtocolError(
            ErrorCode.CAPACITY_REACHED,
            f"the {r.day} {r.slot} slot of {category.name} is fully booked "
            f"({plan.capacity} places)",
            reason="slot_full",
        )
    code = new_code()
    while w.appointment(code) is not None:
        code = new_code()
    booked = AppointmentLive(
        code=code,
        category=category.code,
        item=r.item,
        day=r.day.isoformat(),
        slot=r.slot,
        slot_at=slot_at.astimezone(UTC),
        name=name,
        phone=re.sub(r"[\s-]", "", r.phone),
        state=BOOKED,
        ticket=None,
        created_at=w.now,
    )
    w.save_appointment(booked)
    view = view_of(booked)
    w.emit(AppointmentBooked, appointment=view)
    w.note(f"appointment {code} booked: {category.code} {r.day} {r.slot}, phone {view.phone}")
    return AppointmentReply(re=r.id, appointment=view)


def cancel_appointment(w: Work, p: Principal, r: CancelAppointment) -> AppointmentReply:
    return AppointmentReply(re=r.id, appointment=cancel(w, r.code))


def cancel(w: Work, code: str) -> AppointmentView:
    a = _appointment(w, code)
    if a.state == CANCELLED:
        raise ProtocolError(ErrorCode.INVALID_STATE, f"appointment {a.code} is already cancelled")
    if a.state == MISSED:
        raise ProtocolError(
            ErrorCode.INVALID_STATE,
            f"appointment {a.code} ({a.day} {a.slot}) is past",
            reason="missed",
        )
    if a.state == CHECKED_IN:
        raise ProtocolError(
            ErrorCode.INVALID_STATE,
            f"appointment {a.code} is checked in (ticket {a.ticket}); cancel the ticket instead",
        )
    a.state, a.cancelled_at = CANCELLED, w.now
    w.save_appointment(a)
    view = view_of(a)
    w.emit(AppointmentCancelled, appointment=view)
    w.note(f"appointment {a.code} cancelled")
    return view


def check_in(w: Work, p: Principal, r: CheckIn) -> CheckInReply:
    a = _appointment(w, r.code)
    hall = w.rules
    if a.state == CANCELLED:
        raise ProtocolError(
            ErrorCode.INVALID_STATE,
            f"appointment {a.code} ({a.day} {a.slot}) was cancelled; please take a ticket",
            reason="cancelled",
        )
    if a.state == MISSED and hall.is_open(w.now):  # closed: said below
        raise ProtocolError(
            ErrorCode.INVALID_STATE,
            f"appointment {a.code} ({a.day} {a.slot}) has passed; please book again",
            reason="missed",
        )
    if a.state == CHECKED_IN and a.ticket is not None:
        return _again(w, r, a)
    if not hall.is_open(w.now):
        raise ProtocolError(
            ErrorCode.HALL_CLOSED, f"{hall.name} is closed now", reason="closed_now"
        )
    category = w.category(a.category)
    rules = w.config.appointments
    when = timing(a.slot_at, w.now, rules)
    if when is Timing.EARLY:
        opens = check_in_opens(a.slot_at, rules).astimezone(hall.tz)
        on = "" if opens.date() == hall.local_day(w.now) else f" on {opens.date().isoformat()}"
        raise ProtocolError(
            ErrorCode.TOO_EARLY,
            f"check-in for the {a.slot} appointment opens at {opens:%H:%M}{on}; "
            "please come back then",
            at=opens.astimezone(UTC),
        )
    on_time = when is Timing.ON_TIME
    # The booking already held a place: the daily capacity and the closing-time estimate do
    # not apply.
    ticket = number_ticket(
        w,
        category,
        priority=Priority.APPOINTMENT if on_time else Priority.NORMAL,
        item_name=a.item,
        appointment_at=a.slot_at if on_time else None,
        enforce_capacity=False,
    )
    secret = save_new(w, ticket)
    w.emit(TicketIssued, ticket=ticket_view(ticket))
    a.state, a.ticket, a.checked_in_at = CHECKED_IN, ticket.id, w.now
    w.save_appointment(a)
    w.emit(AppointmentCheckedIn, appointment=view_of(a), on_time=on_time)
    ahead, estimate = views.position(w, ticket)
    note = (
        ""
        if on_time
        else f"checked in after the {a.slot} slot's check-in window; a normal ticket was issued"
    )
    w.note(f"appointment {a.code} checked in: ticket {ticket.id} ({when.value})")
    return CheckInReply(
        re=r.id,
        ticket=ticket_view(ticket),
        people_ahead=ahead,
        estimated_wait_minutes=estimate,
        on_time=on_time,
        note=note,
        secret=secret,
    )


def _again(w: Work, r: CheckIn, a: AppointmentLive) -> CheckInReply:
    """The same code again (a citizen who lost the slip): the same ticket, reprinted with a
    new secret (the lost slip's no longer rates it) — while the ticket is still open."""
    assert a.ticket is not None
    live = w.ticket(a.ticket)
    ticket = live.ticket
    if ticket.state not in OPEN:
        raise ProtocolError(
            ErrorCode.INVALID_STATE,
            f"appointment {a.code} was used: ticket {ticket.number} is {ticket.state.value}",
            reason="used",
            ticket=ticket.number,
            state=ticket.state.value,
        )
    secret = security.new_ticket_secret()
    w.save(replace(live, secret_hash=security.hash_token(secret)))
    ahead, estimate = views.position(w, ticket)
    checked = (a.checked_in_at or w.now).astimezone(w.rules.tz)
    return CheckInReply(
        re=r.id,
        ticket=ticket_view(ticket),
        people_ahead=ahead,
        estimated_wait_minutes=estimate,
        on_time=ticket.priority is Priority.APPOINTMENT,
        note=f"already checked in at {checked:%H:%M}; same ticket",
        secret=secret,
        already_checked_in=True,
    )


def list_appointments(w: Work, p: Principal, r: ListAppointments) -> AppointmentListReply:
    if r.category is not None:
        w.category(r.category)
    return listing(w, r.id, r.day, r.category)


def listing(w: Work, rid: str, day: date, category: str | None) -> AppointmentListReply:
    wanted = _of_day(w, day, category)
    return AppointmentListReply(
        re=rid,
        day=day,
        appointments=[view_of(a) for a in wanted],
        slots=_slots(w, category, wanted),
    )


def appointment_slots(w: Work, p: Principal, r: AppointmentSlots) -> AppointmentSlotsReply:
    """What a kiosk offers for booking on a day: the slots that have not begun and fall in
    the opening hours, with their places (full ones too). Nothing about the bookings: the
    kiosk role never sees names, phones or codes."""
    if r.category is not None:
        w.category(r.category)
    hall = w.rules
    _opens_on(hall, r.day)
    if r.day < hall.local_day(w.now):  # every slot has begun: no need to read the store
        return AppointmentSlotsReply(re=r.id, day=r.day, slots=[])
    slots = [
        s
        for s in _slots(w, r.category, _of_day(w, r.day, r.category))
        if slot_start(r.day, s.slot, hall) > w.now and _open_at(hall, r.day, s.slot)
    ]
    return AppointmentSlotsReply(re=r.id, day=r.day, slots=slots)


def _of_day(w: Work, day: date, category: str | None) -> list[AppointmentLive]:
    """The day's appointments (of one category, or all), by slot then booking time."""
    wanted = [
        a
        for a in _appointments(w, day)
        if a.day == day.isoformat() and (category is None or a.category == category)
    ]
    wanted.sort(key=lambda a: (a.slot, a.category, a.created_at))
    return wanted


def _slots(w: Work, category: str | None, held: list[AppointmentLive]) -> list[SlotView]:
    """Every configured slot (of one category, or all) and the places that `held`, one
    day's appointments, take in it."""
    offered: list[SlotView] = []
    for plan in w.config.appointments.slots:
        if category is not None and plan.category != category:
            continue
        for t in plan.times:
            booked = sum(
                1
                for a in held
                if a.category == plan.category and a.slot == t and a.state in HOLDING
            )
            offered.append(
                SlotView(
                    category=plan.category,
                    slot=t,
                    capacity=plan.capacity,
                    booked=booked,
                    free=max(0, plan.capacity - booked),
                )
            )
    return offered


def _opens_on(hall: HallRules, day: date) -> None:
    """`hall_closed` (reason holiday or closed_day) when the hall does not open on `day`,
    as booking says it: open_at checks the day before the time, so its outside_hours for
    00:00 means only that the day's hours begin later."""
    try:
        open_at(hall, day, "00:00")
    except ProtocolError as exc:
        if exc.details.get("reason") != "outside_hours":
            raise


def _open_at(hall: HallRules, day: date, slot: str) -> bool:
    """Whether booking would find the hall open at `slot` on `day`."""
    try:
        open_at(hall, day, slot)
    except ProtocolError:
        return False
    return True


def _appointments(w: Work, day: date | None = None) -> list[AppointmentLive]:
    """The appointments as this command sees them (its own changes first); for a day before
    the ones held in memory, read from the store."""
    if day is not None and w.fetch_appointments is not None and day < w.state.appointments_from:
        return w.fetch_appointments(day)
    merged = dict(w.state.appointments)
    merged.update(w.appointments)
    return list(merged.values())


def _appointment(w: Work, code: str) -> AppointmentLive:
    found = w.appointment(normalise_code(code))
    if found is None and w.fetch_appointment is not None:
        found = w.fetch_appointment(normalise_code(code))
    if found is None:
        raise ProtocolError(ErrorCode.NOT_FOUND, "no appointment with this check-in code")
    return found
