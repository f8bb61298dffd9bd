"""The hall's live state, held in memory by its one writer (SPEC §7).

Everything a command needs to decide is here: the configuration, the windows, today's
tickets with their waiting queues, the number counters, the recent service times, today's
window figures, the last calls, the appointments still to come and the request ids seen.
The database is the write-ahead log of this state (journal.py); loading.py rebuilds it.

Only the writer's thread touches it. A command changes it only through its unit of work
(work.py), which applies the changes once the command has succeeded, so a refused command
leaves nothing half-done here either.
"""

from __future__ import annotations

import bisect
from collections import OrderedDict, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from queue_protocol.messages import (
    BAD_FROM,
    AlertKind,
    AlertSeverity,
    AlertView,
    CallView,
    CaseState,
    Priority,
    RatingChannel,
    TicketState,
    WindowState,
)
from queue_server.domain.estimate import Staffing
from queue_server.domain.model import Ticket, Window
from queue_server.hallconfig import HallConfig

PRIORITY_CLASSES = frozenset({Priority.GREEN, Priority.ASSISTED})
OPEN = frozenset({TicketState.WAITING, TicketState.CALLED, TicketState.SERVING})
SERVICE_TIME_SAMPLE = 20  # done tickets per category the estimate's minutes come from
RECENT_CALLS_KEPT = 200  # calls kept for the displays' snapshots (each filters its own 8)
REPLIES_KEPT = 4096  # request ids whose whole reply stays in memory (older: in the store)


@dataclass
class WindowLive:
    """A window as the hall runs it (the store's `window` row)."""

    number: int
    name: str
    zone: str
    profile: tuple[str, ...]
    state: WindowState = WindowState.CLOSED
    staff: str | None = None
    pause_reason: str | None = None
    ticket: str | None = None
    connected: bool = False
    since: datetime | None = None  # when it entered its state (or went offline or online)

    def domain(self) -> Window:
        """The window as the pure rules see it."""
        return Window(
            number=self.number,
            name=self.name,
            zone=self.zone,
            profile=self.profile,
            state=self.state,
            staff=self.staff,
            pause_reason=self.pause_reason,
            ticket=self.ticket,
        )

    def capacity(self) -> Window:
        """As the estimate counts it: a window without a connected client serves no one."""
        window = self.domain()
        return window if self.connected else window.but(state=WindowState.CLOSED)

    def copy(self) -> WindowLive:
        return replace(self)


@dataclass
class AlertLive:
    """An alert of the hall (hall/alerts.py; the store's `alert` row)."""

    id: int
    kind: AlertKind
    subject: str
    severity: AlertSeverity
    raised_at: datetime
    category: str | None = None
    window: int | None = None
    ticket: str | None = None  # the ticket's number
    device: str | None = None
    case: int | None = None  # a 差评's follow-up case
    value: float | None = None
    threshold: float | None = None
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    cleared_at: datetime | None = None

    @property
    def key(self) -> tuple[AlertKind, str]:
        return (self.kind, self.subject)

    def view(self) -> AlertView:
        return AlertView(
            id=self.id,
            kind=self.kind,
            severity=self.severity,
            raised_at=self.raised_at,
            category=self.category,
            window=self.window,
            ticket=self.ticket,
            device=self.device,
            case=self.case,
            value=self.value,
            limit=self.threshold,
            acknowledged_by=self.acknowledged_by,
            acknowledged_at=self.acknowledged_at,
            cleared_at=self.cleared_at,
        )

    def copy(self) -> AlertLive:
        return replace(self)


@dataclass
class TicketLive:
    """A ticket and what the store keeps beside it (its slip secret)."""

    ticket: Ticket
    day: str  # hall-local date, YYYY-MM-DD
    secret_hash: str | None = None


VISIT = -1  # a rating's step when it rates a one-chain visit as a whole


@dataclass
class ServiceLive:
    """A service that ended (the store's `service` row): what a rating is of."""

    ticket: str
    step: int
    step_name: str | None
    category: str
    window: int
    staff: str | None
    ended_at: datetime
    outcome: str


@dataclass
class RatingLive:
    """A rating (hall/ratings.py; the store's `rating` row, the phone kept whole)."""

    id: int
    ticket: str
    day: str
    number: str
    step: int  # VISIT: the visit as a whole
    step_name: str | None
    category: str
    item: str | None
    window: int | None
    staff: str | None
    channel: RatingChannel
    level: int
    reasons: tuple[str, ...]
    comment: str | None
    phone: str | None
    rated_at: datetime
    by: str | None
    excluded: bool = False
    excluded_reason: str | None = None
    case: int | None = None

    @property
    def bad(self) -> bool:
        return self.level >= BAD_FROM

    def copy(self) -> RatingLive:
        return replace(self)


@dataclass
class CaseStepLive:
    case: int
    n: int
    at: datetime
    by: str | None
    action: str
    state: CaseState
    text: str = ""
    level: int | None = None
    owner: str | None = None


@dataclass
class CaseLive:
    """A 差评's follow-up case (hall/cases.py; the store's `rating_case` row)."""

    id: int
    rating: int
    state: CaseState
    opened_at: datetime
    due_at: datetime
    owner: str | None
    steps: list[CaseStepLive]
    appealed_from: CaseState | None = None
    answered_at: datetime | None = None
    callback_level: int | None = None
    closed_at: datetime | None = None

    @property
    def finished(self) -> bool:
        return self.state in (CaseState.CLOSED, CaseState.EXCLUDED)

    def copy(self) -> CaseLive:
        return replace(self, steps=list(self.steps))


@dataclass
class RatingBook:
    """What the ratings area keeps in memory: today's services (what may be rated), the
    ratings of the days a slip's QR code may still rate, and the unfinished cases."""

    services: dict[str, list[ServiceLive]] = field(default_factory=dict)  # today's, by ticket
    last_service: dict[int, ServiceLive] = field(default_factory=dict)  # today's, by window
    rated: dict[tuple[str, int], RatingLive] = field(default_factory=dict)  # (ticket, step)
    by_id: dict[int, RatingLive] = field(default_factory=dict)  # the same, by rating id
    last_rating: int = 0
    cases: dict[int, CaseLive] = field(default_factory=dict)  # unfinished
    last_case: int = 0


@dataclass
class AppointmentLive:
    """A booked place in a slot (the store's `appointment` row; the phone kept whole)."""

    code: str
    category: str
    item: str | None
    day: str
    slot: str
    slot_at: datetime
    name: str
    phone: str
    state: str
    ticket: str | None
    created_at: datetime
    checked_in_at: datetime | None = None
    cancelled_at: datetime | None = None

    def copy(self) -> AppointmentLive:
        return replace(self)


@dataclass
class Figures:
    """One window's figures for today."""

    served: int = 0
    service_minutes: float = 0.0  # summed over the served services
    no_shows: int = 0


@dataclass(frozen=True)
class RecentCall:
    """A call as the displays' snapshots show it, with what their filters look at."""

    view: CallView
    window: int
    zone: str


GroupKey = tuple[Priority, int | None]  # (priority class, named window)


@dataclass
class CategoryQueue:
    """The waiting tickets of one category: per (class, named window) group, in the order
    they joined the queue (queue time, then id). Both scheduling policies choose only among
    the groups' heads, which is what keeps "first queued, first called" within a group."""

    groups: dict[GroupKey, list[tuple[datetime, str]]] = field(default_factory=dict)
    count: int = 0

    def add(self, ticket: Ticket) -> None:
        key = (ticket.queue_time, ticket.id)
        bisect.insort(self.groups.setdefault((ticket.priority, ticket.target_window), []), key)
        self.count += 1

    def remove(self, ticket: Ticket) -> None:
        group = self.groups[(ticket.priority, ticket.target_window)]
        group.remove((ticket.queue_time, ticket.id))
        if not group:
            del self.groups[(ticket.priority, ticket.target_window)]
        self.count -= 1

    def heads(self, window: int, serves: bool) -> Iterator[str]:
        """Ids of the groups' heads that `window` may call: every group of a category it
        serves (except those named for another window), and the groups named for it."""
        for (_, named), group in self.groups.items():
            if named == window or (named is None and serves):
                yield group[0][1]

    def oldest(self) -> datetime | None:
        return min((g[0][0] for g in self.groups.values()), default=None)

    def ahead(self, ticket: Ticket) -> int:
        """People ahead of a waiting ticket in its category: those queued before it, and for
        a normal ticket every green-channel and assisted one whenever it came; a priority
        ticket has only earlier priority tickets ahead, an appointment only earlier
        appointments (SPEC §4)."""
        key = (ticket.queue_time, ticket.id)
        total = 0
        for (priority, _), group in self.groups.items():
            if ticket.priority is Priority.APPOINTMENT and ticket.appointment_at is not None:
                if priority is Priority.APPOINTMENT:
                    total += bisect.bisect_left(group, key)
            elif ticket.priority in PRIORITY_CLASSES:
                if priority in PRIORITY_CLASSES:
                    total += bisect.bisect_left(group, key)
            elif ticket.priority is Priority.NORMAL and priority in PRIORITY_CLASSES:
                total += sum(1 for entry in group if entry[1] != ticket.id)
            else:
                total += bisect.bisect_left(group, key)
        return total


class RequestLog:
    """The request ids seen in the last days: their fingerprints, and for the most recent
    REPLIES_KEPT their whole reply (older replies are read from the store when a retry
    asks for one)."""

    def __init__(self) -> None:
        self.fingerprints: dict[tuple[str, str], str] = {}
        self.replies: OrderedDict[tuple[str, str], str] = OrderedDict()

    def add(self, key: tuple[str, str], fingerprint: str, reply: str) -> None:
        self.fingerprints[key] = fingerprint
        self.replies[key] = reply
        if len(self.replies) > REPLIES_KEPT:
            self.replies.popitem(last=False)


@dataclass
class HallState:
    hall_id: int  # the hall's row (store/tables.py): every row it writes carries it
    config: HallConfig
    notice: str
    config_version: int
    last_seq: int
    closed_out_at: datetime | None
    day: date  # the hall-local day the figures and numbers are of
    windows: dict[int, WindowLive]
    tickets: dict[str, TicketLive]  # today's, and any still open
    numbers: dict[str, str]  # today's number -> ticket id
    queues: dict[str, CategoryQueue]
    counters: dict[tuple[str, str], int]  # (day, category) -> last number issued
    samples: dict[str, deque[float]]  # category -> recent window minutes per done ticket
    figures: dict[int, Figures]  # window -> today's figures
    recent_calls: deque[RecentCall]
    appointments: dict[str, AppointmentLive]  # of the days from `appointments_from` on
    appointments_from: date
    requests: RequestLog
    disabled_staff: frozenset[str]
    devices: frozenset[str]  # registered device names
    revoked_devices: frozenset[str]
    alerts: dict[int, AlertLive] = field(default_factory=dict)  # the open ones (hall/alerts)
    alert_keys: dict[tuple[AlertKind, str], int] = field(default_factory=dict)  # open, by key
    last_alert: int = 0  # the highest alert id given
    ratings: RatingBook = field(default_factory=RatingBook)
    _capacity: dict[int, Window] | None = field(default=None, repr=False)
    _staffing: Staffing | None = field(default=None, repr=False)

    def queue(self, category: str) -> CategoryQueue:
        return self.queues.setdefault(category, CategoryQueue())

    def waiting_counts(self) -> dict[str, int]:
        return {code: q.count for code, q in self.queues.items() if q.count}

    def capacity(self) -> Staffing:
        """The windows as the estimate counts them (recounted after a window changes)."""
        if self._capacity is None:
            self._capacity = {n: w.capacity() for n, w in self.windows.items()}
        if self._staffing is None:
            self._staffing = Staffing(self._capacity.values())
        return self._staffing

    def windows_changed(self, numbers: Iterable[int]) -> None:
        if self._capacity is not None:
            for number in numbers:
                self._capacity[number] = self.windows[number].capacity()
        self._staffing = None

    def service_minutes(self, category: str) -> float:
        """Mean window time (call to finish) of the category's recent done tickets; its
        configured service time until three are done."""
        sample = self.samples.get(category)
        if sample is None or len(sample) < 3:
            known = self.config.categories.get(category)
            return known.service_minutes if known else 10.0
        return sum(sample) / len(sample)

    def figures_of(self, window: int) -> Figures:
        return self.figures.setdefault(window, Figures())

    def new_samples(self) -> deque[float]:
        return deque(maxlen=SERVICE_TIME_SAMPLE)
