"""The hall's nouns as plain immutable data."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from queue_protocol.messages import Policy, Priority, TicketState, Transfer, WindowState


@dataclass(frozen=True)
class Category:
    code: str
    name: str
    prefix: str
    target_wait_minutes: int = 15
    daily_capacity: int | None = None
    service_minutes: float = 10.0  # expected service time before any is measured
    issuing_paused_reason: str | None = None  # a supervisor paused issuing: why


@dataclass(frozen=True)
class ServiceItem:
    name: str
    category: str
    time_limit_days: int = 0  # 0 = 即办件, done on the spot
    materials: tuple[str, ...] = ()
    appointment: bool = False
    chain: tuple[str, ...] = ()  # steps of a one-chain (一链办理) item: one visit, n services


@dataclass(frozen=True)
class Window:
    number: int
    name: str
    zone: str = ""
    profile: tuple[str, ...] = ()  # category codes in the order served; () = 全科 (all)
    state: WindowState = WindowState.CLOSED
    staff: str | None = None
    pause_reason: str | None = None
    ticket: str | None = None  # id of the ticket called or served here

    @property
    def all_subjects(self) -> bool:
        return not self.profile

    def serves(self, category: str) -> bool:
        return self.all_subjects or category in self.profile

    def rank(self, category: str) -> int:
        """Position of a category in the profile; 0 for 全科 windows."""
        return 0 if self.all_subjects else self.profile.index(category)

    def but(self, **changes: object) -> Window:
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Ticket:
    id: str
    number: str
    category: str
    issued_at: datetime
    queued_at: datetime | None = None  # when it (re)entered the queue; None = issued_at
    priority: Priority = Priority.NORMAL
    state: TicketState = TicketState.WAITING
    item: str | None = None
    call_times: tuple[datetime, ...] = ()
    started_at: datetime | None = None
    finished_at: datetime | None = None
    no_show_at: datetime | None = None
    window: int | None = None
    staff: str | None = None
    recall_count: int = 0
    transfers: tuple[Transfer, ...] = ()
    chain_step: int = 0
    chain: tuple[str, ...] = ()  # the one-chain steps of its item, fixed at issue
    target_window: int | None = None
    appointment_at: datetime | None = None

    def but(self, **changes: object) -> Ticket:
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def queue_time(self) -> datetime:
        """The time its place in the queue counts from (SPEC §3: a chain step is timed from
        its re-entry; a transfer or reinstatement keeps the place)."""
        return self.queued_at or self.issued_at

    @property
    def steps(self) -> int:
        return max(1, len(self.chain))

    @property
    def step(self) -> str | None:
        return self.chain[self.chain_step] if self.chain_step < len(self.chain) else None

    def waited(self, now: datetime) -> timedelta:
        return now - self.queue_time


@dataclass(frozen=True)
class WorkCalendar:
    """The state's working days (domain/calendar.py): statutory holidays (法定节假日) off,
    weekend days worked in exchange (调休) on."""

    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()


@dataclass(frozen=True)
class OpeningHours:
    """Per-weekday opening hours (Monday = 0) in the hall's local time, the hall's own
    closed days (`holidays`), and the 调休 working days (`workdays`, from its calendar), on
    which a hall without hours for that weekday opens with its Monday–Friday hours (the
    first of them configured)."""

    days: dict[int, tuple[time, time]] = field(default_factory=dict)
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()

    def interval(self, day: date) -> tuple[time, time] | None:
        if day in self.holidays:
            return None
        hours = self.days.get(day.weekday())
        if hours is None and day in self.workdays:
            return next((self.days[d] for d in range(5) if d in self.days), None)
        return hours


@dataclass(frozen=True)
class HallRules:
    name: str
    timezone: str = "Asia/Shanghai"
    policy: Policy = Policy.WEIGHTED_WAIT
    max_wait_minutes: int = 60  # hard cap of the weighted-wait policy
    rank_penalty: float = 0.5  # how much less a window favours its later profile categories
    no_show_after_recalls: int = 3
    reinstate_grace_minutes: int = 30
    hours: OpeningHours = field(default_factory=OpeningHours)
    calendar: WorkCalendar = field(default_factory=WorkCalendar)
    notice: str = ""
    close_out_grace_minutes: int = 30  # the day closes this long after closing time
    window_offline_minutes: int = 5  # a window without a connection this long is closed
    staff_multiple_windows: bool = False  # may one account hold two windows at once
    code: str = ""  # the hall's code (store: hall.code), as a hello names it

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def local_day(self, now: datetime) -> date:
        return now.astimezone(self.tz).date()

    def is_open(self, now: datetime) -> bool:
        """A hall with no opening hours configured is always open (except on holidays)."""
        local = now.astimezone(self.tz)
        if not self.hours.days:
            return local.date() not in self.hours.holidays
        interval = self.hours.interval(local.date())
        if interval is None:
            return False
        opens, closes = interval
        return opens <= local.time().replace(tzinfo=None) < closes

    def closing_time(self, now: datetime) -> datetime | None:
        local = now.astimezone(self.tz)
        interval = self.hours.interval(local.date())
        if interval is None:
            return None
        return datetime.combine(local.date(), interval[1], tzinfo=self.tz)
