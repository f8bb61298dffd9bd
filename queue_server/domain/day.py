"""The hall's day and its close-out (SPEC §3): when a day ends for the queue.

A local day D of the hall closes out at its closing time plus `close_out_grace_minutes`
(services running at closing time may finish), and in any case at the midnight that ends
it; a day without opening hours (a holiday, a closed weekday, or a hall with no hours set)
closes out at midnight only. At a close-out every ticket issued before that moment and
still waiting, called or serving expires, and every window is closed, so nothing of an
earlier day is ever called, counted or shown as waiting.

`due(rules, now)` is the latest close-out moment at or before `now`. The store remembers
the last moment it closed out; whenever `due` is later than that, a close-out is owed,
whether the server ran through it or was down (it then closes out at start-up).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from queue_server.domain.model import HallRules


def midnight(day: date, rules: HallRules) -> datetime:
    """The instant local day `day` begins."""
    return datetime.combine(day, time(0), tzinfo=rules.tz)


def close_out_of(day: date, rules: HallRules) -> datetime | None:
    """The closing-time close-out of local day `day` (UTC): closing + grace, capped at the
    midnight that ends the day; None when the day has no opening hours."""
    interval = rules.hours.interval(day)
    if interval is None or not rules.hours.days:
        return None
    closing = datetime.combine(day, interval[1], tzinfo=rules.tz)
    moment = closing + timedelta(minutes=rules.close_out_grace_minutes)
    return min(moment, midnight(day + timedelta(days=1), rules)).astimezone(UTC)


def due(rules: HallRules, now: datetime) -> datetime:
    """The latest close-out moment at or before `now` (UTC)."""
    today = rules.local_day(now)
    moment = close_out_of(today, rules)
    if moment is not None and moment <= now:
        return moment
    return midnight(today, rules).astimezone(UTC)


def day_closed_by(moment: datetime, rules: HallRules) -> date:
    """The local day a close-out moment ends (a midnight ends the day before it)."""
    return (moment - timedelta(microseconds=1)).astimezone(rules.tz).date()
