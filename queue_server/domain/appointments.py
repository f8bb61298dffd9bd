"""Appointment rules (预约, SPEC §3), pure: slots, check-in timing, codes, masked phones.

A hall offers, per category, slots at fixed local times every day it is open, each with a
capacity. Booking returns a short check-in code. Checking in from `check_in_before_minutes`
before to `check_in_after_minutes` after the slot start issues an appointment-class ticket,
which the scheduler serves first once its slot has begun; later than that, a normal ticket.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import Enum
from typing import Any

from queue_protocol.errors import ErrorCode, ProtocolError
from queue_server.domain.model import HallRules

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


def open_at(hall: HallRules, day: date, slot: str) -> None:
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
