"""Working days (domain/calendar.py): deadlines of 差评 cases and the QR rating period,
counted across statutory holidays and 调休; a hall closed at weekends opens on a 调休 day."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from queue_server.domain.calendar import (
    add_working_days,
    end_of_working_days,
    is_working_day,
    working_days_between,
)
from queue_server.domain.model import HallRules, OpeningHours, WorkCalendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
WEEKDAY_HOURS = {d: (time(9), time(17)) for d in range(5)}
# The 2025 National Day and Mid-Autumn holiday as the State Council set it: 1–8 October
# off, Sunday 28 September and Saturday 11 October worked (调休).
NATIONAL_DAY = WorkCalendar(
    holidays=frozenset(date(2025, 10, d) for d in range(1, 9)),
    workdays=frozenset({date(2025, 9, 28), date(2025, 10, 11)}),
)
# A hall open Monday to Friday, closed on the holidays, open on the 调休 days.
HOURS = OpeningHours(
    days=WEEKDAY_HOURS, holidays=NATIONAL_DAY.holidays, workdays=NATIONAL_DAY.workdays
)
RULES = HallRules(name="东湖区政务服务中心", hours=HOURS, calendar=NATIONAL_DAY)


def test_a_week_without_holidays_counts_monday_to_friday() -> None:
    hours = WorkCalendar()
    friday = date(2025, 11, 14)
    assert add_working_days(hours, friday, 1) == date(2025, 11, 17)  # the Monday
    assert add_working_days(hours, friday, 5) == date(2025, 11, 21)
    assert add_working_days(hours, friday, 0) == friday


def test_a_case_opened_before_national_day_is_due_after_it_counting_the_tiaoxiu_saturday() -> None:
    """Opened Tuesday 30 September with 5 working days: the holiday week does not count,
    Saturday 11 October (调休) does: Thursday 9 (1), Friday 10 (2), Saturday 11 (3), Monday
    13 (4), Tuesday 14 (5)."""
    assert add_working_days(NATIONAL_DAY, date(2025, 9, 30), 5) == date(2025, 10, 14)


def test_the_tiaoxiu_sunday_before_the_holiday_is_a_working_day() -> None:
    assert is_working_day(NATIONAL_DAY, date(2025, 9, 28))  # a Sunday, worked
    assert not is_working_day(NATIONAL_DAY, date(2025, 9, 27))  # the Saturday before
    assert not is_working_day(NATIONAL_DAY, date(2025, 10, 6))  # a Monday of the holiday
    # Opened on the Saturday 27th: the Sunday worked is the first working day.
    assert add_working_days(NATIONAL_DAY, date(2025, 9, 27), 1) == date(2025, 9, 28)


def test_the_hall_opens_on_a_tiaoxiu_day_with_its_weekday_hours() -> None:
    assert HOURS.interval(date(2025, 10, 11)) == (time(9), time(17))
    assert HOURS.interval(date(2025, 10, 12)) is None  # the Sunday after: closed
    assert HOURS.interval(date(2025, 10, 3)) is None  # a holiday Friday
    saturday_ten = datetime(2025, 10, 11, 10, tzinfo=SHANGHAI)
    assert RULES.is_open(saturday_ten)


def test_the_deadline_is_the_midnight_that_ends_the_last_working_day() -> None:
    opened = datetime(2025, 9, 30, 16, 45, tzinfo=SHANGHAI)
    due = end_of_working_days(RULES, opened, 5)
    assert due == datetime(2025, 10, 15, 0, 0, tzinfo=SHANGHAI)
    # A case opened late in the evening (after midnight UTC) counts from its local day.
    late = datetime(2025, 9, 30, 23, 30, tzinfo=SHANGHAI)
    assert end_of_working_days(RULES, late, 5) == due


def test_a_hall_open_every_day_still_counts_working_days() -> None:
    """365天不打烊: the hall opens at weekends, but its cases are due in working days."""
    every_day = {d: (time(9), time(17)) for d in range(7)}
    rules = HallRules(name="东湖", hours=OpeningHours(days=every_day), calendar=NATIONAL_DAY)
    saturday = datetime(2025, 11, 15, 10, tzinfo=SHANGHAI)
    assert rules.is_open(saturday)
    assert end_of_working_days(rules, saturday, 1) == datetime(2025, 11, 18, tzinfo=SHANGHAI)


days = st.dates(min_value=date(2024, 1, 1), max_value=date(2027, 12, 31))
holidays = st.frozensets(days, max_size=30)


@given(start=days, count=st.integers(0, 60), off=holidays, worked=holidays)
def test_counting_forward_and_back_agree(
    start: date, count: int, off: frozenset[date], worked: frozenset[date]
) -> None:
    """The N-th working day after D has exactly N working days after D up to it, and is one."""
    hours = WorkCalendar(holidays=off, workdays=worked - off)
    end = add_working_days(hours, start, count)
    assert working_days_between(hours, start, end) == count
    assert end >= start
    if count:
        assert is_working_day(hours, end)
        assert end > start
        assert working_days_between(hours, start, end - timedelta(days=1)) == count - 1
