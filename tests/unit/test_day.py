"""When a hall's day closes out (domain.day): closing time plus grace, or midnight, in the
hall's own time zone, hours and holidays."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from queue_server.domain import day
from queue_server.domain.model import HallRules, OpeningHours

SHANGHAI = ZoneInfo("Asia/Shanghai")
WEEKDAY = (time(8, 30), time(18, 30))
WEEKEND = (time(9, 0), time(17, 0))
HOURS = OpeningHours(
    days={0: WEEKDAY, 1: WEEKDAY, 2: WEEKDAY, 3: WEEKDAY, 4: WEEKDAY, 5: WEEKEND, 6: WEEKEND},
    holidays=frozenset({date(2026, 10, 1)}),
)
HALL = HallRules(name="东湖", hours=HOURS, close_out_grace_minutes=30)


def local(y: int, m: int, d: int, hh: int, mm: int = 0, tz: ZoneInfo = SHANGHAI) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=tz)


def test_a_weekday_closes_out_thirty_minutes_after_closing() -> None:
    """Tuesday 18:30 closing + 30 min grace: due from 19:00, before that the last midnight."""
    assert day.due(HALL, local(2026, 11, 24, 18, 59)) == local(2026, 11, 24, 0, 0)
    assert day.due(HALL, local(2026, 11, 24, 19, 0)) == local(2026, 11, 24, 19, 0)
    assert day.due(HALL, local(2026, 11, 24, 23, 59)) == local(2026, 11, 24, 19, 0)
    assert day.due(HALL, local(2026, 11, 25, 0, 0)) == local(2026, 11, 25, 0, 0)


def test_weekend_hours_close_out_at_their_own_closing() -> None:
    """Saturday closes at 17:00, so its close-out is due at 17:30."""
    assert day.due(HALL, local(2026, 11, 28, 17, 29)) == local(2026, 11, 28, 0, 0)
    assert day.due(HALL, local(2026, 11, 28, 17, 30)) == local(2026, 11, 28, 17, 30)


def test_a_holiday_closes_out_at_midnight_only() -> None:
    """A holiday has no opening hours: its only close-out is the midnight that ends it."""
    assert day.due(HALL, local(2026, 10, 1, 22, 0)) == local(2026, 10, 1, 0, 0)
    assert day.due(HALL, local(2026, 10, 2, 0, 1)) == local(2026, 10, 2, 0, 0)


def test_a_hall_without_hours_closes_out_at_midnight() -> None:
    """An always-open hall (no hours configured) closes out at local midnight."""
    always = HallRules(name="24h")
    assert day.due(always, local(2026, 11, 24, 23, 59)) == local(2026, 11, 24, 0, 0)


def test_grace_never_runs_past_midnight() -> None:
    """Closing at 23:30 with 60 minutes of grace still closes out at midnight."""
    late = replace(
        HALL,
        hours=OpeningHours(days={1: (time(9), time(23, 30))}),
        close_out_grace_minutes=60,
    )
    assert day.close_out_of(date(2026, 11, 24), late) == local(2026, 11, 25, 0, 0)


def test_each_hall_uses_its_own_time_zone() -> None:
    """A hall in Urumqi time closes out at its own 19:00, two hours after Shanghai's."""
    urumqi = replace(HALL, timezone="Asia/Urumqi")
    moment = day.due(urumqi, datetime(2026, 11, 24, 13, 0, tzinfo=UTC))  # 19:00 in Urumqi
    assert moment == local(2026, 11, 24, 19, 0, tz=ZoneInfo("Asia/Urumqi"))
    assert day.due(HALL, datetime(2026, 11, 24, 13, 0, tzinfo=UTC)) == moment - timedelta(hours=2)


def test_a_midnight_close_out_ends_the_day_before() -> None:
    """The close-out at midnight closes the day that ends there; 19:00 closes its own day."""
    assert day.day_closed_by(local(2026, 11, 25, 0, 0), HALL) == date(2026, 11, 24)
    assert day.day_closed_by(local(2026, 11, 24, 19, 0), HALL) == date(2026, 11, 24)


def test_daylight_saving_time_days_close_out_at_their_local_times() -> None:
    """In a zone with daylight saving, the close-out follows the local clock on both sides
    of the change."""
    berlin = replace(HALL, timezone="Europe/Berlin")
    tz = ZoneInfo("Europe/Berlin")
    sunday = day.due(berlin, local(2026, 3, 29, 20, 0, tz=tz))  # clocks went forward at 02:00
    assert sunday == local(2026, 3, 29, 17, 30, tz=tz)
    assert sunday.astimezone(UTC) == datetime(2026, 3, 29, 15, 30, tzinfo=UTC)  # CEST
    assert day.midnight(date(2026, 3, 29), berlin).astimezone(UTC).hour == 23  # CET, day before
    assert day.due(berlin, local(2026, 3, 30, 19, 5, tz=tz)) == local(2026, 3, 30, 19, 0, tz=tz)
