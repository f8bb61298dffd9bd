"""Working days (工作日), for the deadlines counted in them: a 差评's follow-up case (SPEC §3,
评必反馈) and the period a slip's QR code may still rate its service.

Working days are the state's, not the hall's opening days (a hall open 365 days a year
still answers its cases in working days): Monday to Friday, less the statutory holidays
(法定节假日), plus the weekend days worked in exchange (调休), both listed in the hall's
`[calendar]`. A hall closed at weekends opens on a 调休 day with its Monday–Friday hours
(`OpeningHours.interval`); on which days it is closed is its own `[hall] holidays`.

"N working days after day D" counts from the working day after D, whatever D is: a case
opened on a Saturday evening with 5 working days is due at the end of the next Friday
(if no holiday falls between).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from queue_server.domain.model import HallRules, WorkCalendar

# Enough for any deadline a hall configures (at most 60 working days) across the longest
# run of Chinese holidays (the Spring Festival and National Day weeks, 8 days each).
LONGEST_SEARCH_DAYS = 400


def is_working_day(calendar: WorkCalendar, day: date) -> bool:
    if day in calendar.holidays:
        return False
    return day in calendar.workdays or day.weekday() < 5


def add_working_days(calendar: WorkCalendar, day: date, count: int) -> date:
    """The `count`-th working day after `day` (`count` = 0: `day` itself)."""
    if count < 0:
        raise ValueError("count must be zero or more")
    found = 0
    current = day
    for _ in range(LONGEST_SEARCH_DAYS):
        if found == count:
            return current
        current += timedelta(days=1)
        if is_working_day(calendar, current):
            found += 1
    raise ValueError(f"no {count} working days within {LONGEST_SEARCH_DAYS} days of {day}")


def working_days_between(calendar: WorkCalendar, start: date, end: date) -> int:
    """How many working days fall after `start` up to and including `end` (0 if end <=
    start): the working days that have passed since `start` by the end of `end`."""
    days = 0
    current = start
    while current < end:
        current += timedelta(days=1)
        if is_working_day(calendar, current):
            days += 1
    return days


def end_of_working_days(rules: HallRules, at: datetime, count: int) -> datetime:
    """The instant (aware, in the hall's zone) at which `count` working days after the
    local day of `at` have passed: the midnight that ends the last of them."""
    last = add_working_days(rules.calendar, rules.local_day(at), count)
    return datetime.combine(last + timedelta(days=1), time(0), tzinfo=rules.tz)
